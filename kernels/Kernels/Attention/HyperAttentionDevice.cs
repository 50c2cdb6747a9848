using ILGPU;

namespace Kernels;

/// <summary>
/// The ILGPU side of HyperAttention's own steps (the attention itself and the merge are <see cref="BlockAttention"/> and
/// <see cref="AttentionMerge"/>): the angular hash, one thread per row, and row gathers/scatters by an index map, one
/// group per row. No group reductions, hence no barriers.
/// </summary>
public static class HyperAttentionDevice
{
    /// <summary>hashes[row] = <see cref="AngularLsh.Hash(ArrayView{float}, long, ArrayView{float}, int, int)"/>; launch ⌈Rows / group⌉ groups.</summary>
    [KernelEntryPoint]
    public static void HashKernel(ArrayView<float> x, ArrayView<float> projection, ArrayView<int> hashes, HyperAttentionArgs args)
    {
        int row = Grid.IdxX * Group.DimX + Group.IdxX;
        if (row < args.Rows)
            hashes[row] = AngularLsh.Hash(x, row, projection, args.Width, args.Bits);
    }

    /// <summary>
    /// Gather (dst row r = src row index[r], or Fill for index −1) or scatter (dst row index[r] = src row r, skipping −1)
    /// of rows of Width floats; launch one group per row.
    /// </summary>
    [KernelEntryPoint]
    public static void MoveKernel(ArrayView<float> src, ArrayView<float> dst, ArrayView<int> index, HyperAttentionArgs args)
    {
        int row = Grid.IdxX;
        if (row >= args.Rows)
            return;
        int at = index[row];
        long w = args.Width;
        for (int c = Group.IdxX; c < args.Width; c += Group.DimX)
        {
            if (args.Scatter != 0)
            {
                if (at >= 0)
                    dst[at * w + c] = src[row * w + c];
            }
            else
                dst[row * w + c] = at < 0 ? args.Fill : src[at * w + c];
        }
    }
}
