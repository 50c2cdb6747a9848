using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The ILGPU side of Gumbel-top-k: one group per row, k rounds of a group arg-max over the perturbed keys
/// κ = Transform(x)/T + g, each round taking the best key strictly after the previous one in the order (key descending,
/// index ascending). The noise is recomputed each round (no per-row storage), so a launch costs k passes over the row.
/// </summary>
public static class GumbelTopKDevice
{
    /// <summary>Draws row <c>Grid.IdxX</c> with transform <typeparamref name="T"/>. Launch with one group per row.</summary>
    public static void Row<T>(ArrayView<float> logits, ArrayView<float> temperatures, ArrayView<RngKey> keys, ArrayView<float> noise,
        ArrayView<int> indices, ArrayView<float> scores, GumbelTopKArgs args)
        where T : struct, ILogitTransform
    {
        int row = Grid.IdxX;
        if (row >= args.Rows)
            return;
        int tid = Group.IdxX;
        int size = Group.DimX;
        int cols = args.Cols;
        long start = (long)row * cols;
        float invT = args.PerRowTemperature != 0 ? SoftmaxMath.InverseTemperature(temperatures[row]) : args.InverseTemperature;
        var key = args.PerRowKeys != 0 && args.ExplicitNoise == 0 ? keys[row] : Rng.RowKey(args.Key, row);

        float poisoned = 0f;
        for (int first = 0; first < cols; first += size)
        {
            int col = first + tid;
            if (col < cols && SoftmaxMath.Poisons(default(T).Apply(logits[start + col], col) * invT))
                poisoned = 1f;
        }
        poisoned = GroupReduce.Max(poisoned);
        long outStart = (long)row * args.K;

        float previousKey = float.PositiveInfinity;
        int previousIndex = -1;
        bool exhausted = false;
        for (int round = 0; round < args.K; round++)
        {
            float bestKey = float.NegativeInfinity;
            int bestIndex = int.MaxValue;
            if (poisoned == 0f && !exhausted)
            {
                for (int first = 0; first < cols; first += size)
                {
                    int col = first + tid;
                    if (col < cols)
                    {
                        float z = default(T).Apply(logits[start + col], col) * invT;
                        if (z != float.NegativeInfinity)
                        {
                            float g = args.ExplicitNoise != 0 ? noise[start + col] : GumbelNoise.At(key, col, args.Offset, args.Precision);
                            float kappa = z + g;
                            if (KeyIndex.Before(previousKey, previousIndex, kappa, col) && KeyIndex.Before(kappa, col, bestKey, bestIndex))
                            {
                                bestKey = kappa;
                                bestIndex = col;
                            }
                        }
                    }
                }
            }
            var best = GroupReduce.ArgMax(bestKey, bestIndex);
            int index = best.Index == int.MaxValue ? SamplingMath.NoToken : best.Index;
            if (tid == 0)
            {
                indices[outStart + round] = index;
                scores[outStart + round] = poisoned != 0f ? float.NaN : index == SamplingMath.NoToken ? float.NegativeInfinity : best.Key;
            }
            previousKey = best.Key;
            previousIndex = best.Index;
            exhausted = index == SamplingMath.NoToken;
        }
    }
}
