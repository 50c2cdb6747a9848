using ILGPU;

namespace Kernels;

/// <summary>
/// The ILGPU side of the sparse product Y = X·Wᵀ (W compressed N:M, or dense when N = M). Each group computes a tile of
/// <see cref="TileRows"/> rows of X by Group.DimX output features: it stages <see cref="TileRows"/> x TileCols of X in
/// shared memory, then each thread walks the kept values of its own weight row inside that window, decoding their
/// columns from the metadata, and accumulates one sum per row of the tile.
/// </summary>
public static class SparseMatMulDevice
{
    /// <summary>Rows of X per group.</summary>
    public const int TileRows = 4;

    /// <summary>The most columns of X staged per step.</summary>
    public const int MaxTileCols = 256;

    /// <summary>
    /// Computes tile <c>Grid.IdxX</c>: output block Grid.IdxX mod ⌈Out/DimX⌉, row block Grid.IdxX / ⌈Out/DimX⌉.
    /// Launch ⌈Out/DimX⌉·⌈Batch/TileRows⌉ groups.
    /// </summary>
    public static void Tile<T>(ArrayView<float> x, ArrayView<float> values, ArrayView<uint> metadata, ArrayView<float> bias,
        ArrayView<float> y, SparseMatMulArgs args)
        where T : struct, ILogitTransform
    {
        var xs = SharedMemory.Allocate<float>(TileRows * MaxTileCols);
        int size = Group.DimX, tid = Group.IdxX;
        int outBlocks = (args.Out + size - 1) / size;
        int rowBase = Grid.IdxX / outBlocks * TileRows;
        int o = Grid.IdxX % outBlocks * size + tid;
        bool active = o < args.Out;
        // Threads past the last output compute on the last weight row and store nothing: no thread-dependent control
        // flow between barriers (PoCL 3.1 miscompiles it; threads that should skip a loop ran it once).
        int row = active ? o : args.Out - 1;
        long valueBase = (long)row * args.Kept, metaBase = (long)row * args.MetaWords;
        int groupsPerTile = args.TileCols / args.M;
        float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f;

        // Trip counts are the same for every thread of the group (PoCL 3.1 needs that around barriers).
        for (int k0 = 0; k0 < args.In; k0 += args.TileCols)
        {
            // Row t of the tile at xs[t·MaxTileCols ..]; the trip count is the same for every thread (a power-of-two
            // group divides TileRows·MaxTileCols), with the bounds tested inside.
            for (int first = 0; first < TileRows * MaxTileCols; first += size)
            {
                int i = first + tid, t = i / MaxTileCols, c = i % MaxTileCols;
                int r = rowBase + t, col = k0 + c;
                xs[i] = c < args.TileCols && r < args.Batch && col < args.In ? x[(long)r * args.In + col] : 0f;
            }
            Group.Barrier();
            int firstGroup = k0 / args.M;
            int groups = args.In / args.M - firstGroup < groupsPerTile ? args.In / args.M - firstGroup : groupsPerTile;
            for (int j = firstGroup * args.N; j < (firstGroup + groups) * args.N; j++)
            {
                int col = Column(metadata, metaBase, j, args) - k0;
                float v = values[valueBase + j];
                a0 += v * xs[col];
                a1 += v * xs[MaxTileCols + col];
                a2 += v * xs[2 * MaxTileCols + col];
                a3 += v * xs[3 * MaxTileCols + col];
            }
            Group.Barrier();
        }
        if (!active)
            return;
        float b = args.HasBias != 0 ? bias[o] : 0f;
        Store<T>(y, args, rowBase, o, a0 + b);
        Store<T>(y, args, rowBase + 1, o, a1 + b);
        Store<T>(y, args, rowBase + 2, o, a2 + b);
        Store<T>(y, args, rowBase + 3, o, a3 + b);
    }

    private static void Store<T>(ArrayView<float> y, SparseMatMulArgs args, int row, int o, float value)
        where T : struct, ILogitTransform
    {
        if (row < args.Batch)
            y[(long)row * args.Out + o] = default(T).Apply(value, o);
    }

    /// <summary>The column of kept value <paramref name="j"/>: its group's first column plus its Bits-bit field.</summary>
    private static int Column(ArrayView<uint> metadata, long rowBase, int j, SparseMatMulArgs args)
    {
        int bits = args.Bits;
        if (bits == 0)
            return j; // dense: N = M
        int bit = j * bits, word = bit >> 5, shift = bit & 31;
        uint field = metadata[rowBase + word] >> shift;
        if (shift + bits > 32)
            field |= metadata[rowBase + word + 1] << (32 - shift);
        return j / args.N * args.M + (int)(field & ((1u << bits) - 1));
    }
}
