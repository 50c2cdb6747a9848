using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The ILGPU side of the expected-acceptance diagnostic: one group per (row, position), β = Σ_v min(p_v, q_v) summed in
/// double over strided columns and one group reduction; NaN when either distribution holds a NaN, negative or infinite
/// value. Needs double support.
/// </summary>
public static class AcceptanceDevice
{
    /// <summary>Computes β for pair <c>Grid.IdxX</c> = b·L + k. Launch with one group per pair.</summary>
    public static void Pair(ArrayView<float> target, ArrayView<float> draft, ArrayView<float> acceptance, AcceptanceArgs args)
    {
        int pair = Grid.IdxX;
        if (pair >= args.Batch * args.Length)
            return;
        int b = pair / args.Length;
        int k = pair - b * args.Length;
        int cols = args.Cols;
        long pRow = ((long)b * (args.Length + 1) + k) * cols;
        long qRow = (long)pair * cols;
        int tid = Group.IdxX;
        int size = Group.DimX;
        double sum = 0.0;
        int bad = 0;
        for (int first = 0; first < cols; first += size)
        {
            int col = first + tid;
            if (col < cols)
            {
                float p = target[pRow + col];
                float q = draft[qRow + col];
                if (!SpeculativeMath.Valid(p) || !SpeculativeMath.Valid(q))
                    bad = 1;
                sum += p < q ? p : q;
            }
        }
        bad = GroupReduce.MaxInt(bad);
        sum = GroupReduce.SumDouble(sum);
        if (tid == 0)
            acceptance[pair] = bad != 0 ? float.NaN : (float)sum;
    }
}
