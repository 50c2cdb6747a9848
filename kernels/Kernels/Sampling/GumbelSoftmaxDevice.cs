using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The ILGPU side of Gumbel-softmax: one group per row. s = κ·Transform(x) + g; pass 1 finds max s and its first index
/// (the Gumbel-max sample) and NaN/+inf; pass 2 sums 2^((s − max)·log2(e)/τ) and pass 3 writes the soft sample, the
/// one-hot, or both. Max-subtraction before scaling by 1/τ keeps every exponent ≤ 0, so κ/τ of 1e5 and more cannot
/// overflow. Float only: runs on devices without doubles.
/// </summary>
public static class GumbelSoftmaxDevice
{
    /// <summary>Processes row <c>Grid.IdxX</c> with transform <typeparamref name="T"/>. Launch with one group per row.</summary>
    public static void Row<T>(ArrayView<float> logits, ArrayView<float> temperatures, ArrayView<RngKey> keys, ArrayView<float> noise,
        ArrayView<float> output, ArrayView<float> soft, GumbelSoftmaxArgs args)
        where T : struct, ILogitTransform
    {
        int row = Grid.IdxX;
        if (row >= args.Rows)
            return;
        int tid = Group.IdxX;
        int size = Group.DimX;
        int cols = args.Cols;
        long start = (long)row * cols;
        float invTau = args.PerRowTemperature != 0 ? SoftmaxMath.InverseTemperature(temperatures[row]) : args.InverseTau;
        float c = invTau * GumbelSoftmaxMath.Log2E;
        var key = args.PerRowKeys != 0 && args.ExplicitNoise == 0 ? keys[row] : Rng.RowKey(args.Key, row);

        // Pass 1: the arg-max of s (ties to the lowest index) and whether the row is invalid.
        float bestKey = float.NegativeInfinity;
        int bestIndex = int.MaxValue;
        float poisoned = SoftmaxMath.Poisons(c) ? 1f : 0f;
        for (int first = 0; first < cols; first += size)
        {
            int col = first + tid;
            if (col < cols)
            {
                float s = Perturbed<T>(logits, noise, key, args, start, col);
                if (SoftmaxMath.Poisons(s))
                    poisoned = 1f;
                else if (s != float.NegativeInfinity && KeyIndex.Before(s, col, bestKey, bestIndex))
                {
                    bestKey = s;
                    bestIndex = col;
                }
            }
        }
        poisoned = GroupReduce.Max(poisoned);
        var best = GroupReduce.ArgMax(bestKey, bestIndex);
        bool empty = best.Index == int.MaxValue;

        // Pass 2: Σ 2^((s − max)·c), in float.
        float sum = 0f;
        bool needSoft = args.Mode != (int)GumbelSoftmaxMode.Hard;
        if (needSoft && poisoned == 0f && !empty)
        {
            for (int first = 0; first < cols; first += size)
            {
                int col = first + tid;
                if (col < cols)
                    sum += PortableMath.Exp2((Perturbed<T>(logits, noise, key, args, start, col) - best.Key) * c);
            }
        }
        sum = GroupReduce.Sum(sum);

        // Pass 3: the outputs.
        for (int first = 0; first < cols; first += size)
        {
            int col = first + tid;
            if (col < cols)
            {
                float y = 0f;
                if (poisoned != 0f)
                    y = float.NaN;
                else if (!empty && needSoft)
                    y = PortableMath.Exp2((Perturbed<T>(logits, noise, key, args, start, col) - best.Key) * c) / sum;
                float hard = poisoned != 0f ? float.NaN : col == best.Index ? 1f : 0f;
                if (args.Mode == (int)GumbelSoftmaxMode.Soft)
                {
                    output[start + col] = y;
                }
                else
                {
                    output[start + col] = hard;
                    if (args.Mode == (int)GumbelSoftmaxMode.StraightThrough)
                        soft[start + col] = y;
                }
            }
        }
    }

    private static float Perturbed<T>(ArrayView<float> logits, ArrayView<float> noise, RngKey key, GumbelSoftmaxArgs args, long start, int col)
        where T : struct, ILogitTransform
    {
        float z = default(T).Apply(logits[start + col], col) * args.Scale;
        if (z == float.NegativeInfinity)
            return z;
        float g = args.ExplicitNoise != 0 ? noise[start + col] : GumbelNoise.At(key, col, args.Offset, args.Precision);
        return z + g;
    }
}

/// <summary>Constants shared by the Gumbel-softmax kernels.</summary>
public static class GumbelSoftmaxMath
{
    /// <summary>log2(e) in float.</summary>
    public const float Log2E = 1.44269504088896341f;
}
