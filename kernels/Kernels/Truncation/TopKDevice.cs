using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The ILGPU side of top-k selection: one group per row. The k-th column in the order is found by a
/// <see cref="GroupSelect.Prefix"/> count search (no sort of the row); the k kept columns are gathered into shared
/// memory at offsets from a group scan and each is written at its rank among them.
/// </summary>
public static class TopKDevice
{
    /// <summary>Selects row <c>Grid.IdxX</c> with transform <typeparamref name="T"/>. Launch with one group per row.</summary>
    public static void Row<T>(ArrayView<float> logits, ArrayView<float> temperatures, ArrayView<RngKey> keys, ArrayView<float> values,
        ArrayView<int> indices, TopKArgs args)
        where T : struct, ILogitTransform
    {
        var keptW = SharedMemory.Allocate<float>(TruncationRules.MaxSelectK);
        var keptCol = SharedMemory.Allocate<int>(TruncationRules.MaxSelectK);
        int row = Grid.IdxX;
        if (row >= args.Rows)
            return;
        int tid = Group.IdxX;
        int size = Group.DimX;
        int cols = args.Cols, k = args.K;
        long outStart = (long)row * k;
        var ctx = new DecodeRow<T> { Logits = logits, Start = (long)row * cols, Scale = 1f };

        float nan = 0f;
        for (int first = 0; first < cols; first += size)
        {
            int col = first + tid;
            if (col < cols && float.IsNaN(ctx.W(col)))
                nan = 1f;
        }
        if (GroupReduce.Max(nan) != 0f)
        {
            for (int first = 0; first < k; first += size)
            {
                if (first + tid < k)
                {
                    values[outStart + first + tid] = float.NaN;
                    indices[outStart + first + tid] = SamplingMath.NoToken;
                }
            }
            return;
        }

        var threshold = GroupSelect.Prefix(ctx, cols, k);
        double own = 0.0;
        for (int first = 0; first < cols; first += size)
        {
            int col = first + tid;
            if (col < cols && threshold.Keeps(TruncationRules.OrderKey(ctx.W(col)), col))
                own += 1.0;
        }
        int at = (int)GroupReduce.InclusiveScanDouble(own).Exclusive;
        for (int first = 0; first < cols; first += size)
        {
            int col = first + tid;
            if (col < cols)
            {
                float w = TruncationRules.WithoutNegativeZero(ctx.W(col)); // as the CPU side's order keys give it
                if (threshold.Keeps(TruncationRules.OrderKey(w), col))
                {
                    keptW[at] = w;
                    keptCol[at] = col;
                    at++;
                }
            }
        }
        Group.Barrier();
        for (int first = 0; first < k; first += size)
        {
            int i = first + tid;
            if (i < k)
            {
                int rank = 0;
                for (int j = 0; j < k; j++)
                {
                    if (KeyIndex.Before(keptW[j], keptCol[j], keptW[i], keptCol[i]))
                        rank++;
                }
                values[outStart + rank] = keptW[i];
                indices[outStart + rank] = keptCol[i];
            }
        }
    }
}
