using System;
using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The ILGPU side of the categorical sampler: one group per row, exact inverse-CDF. w = Transform(x)·log2(e)/T;
/// pass 1 finds max w (and NaN/+inf) over strided columns; pass 2 has each thread sum e = 2^(w − max) in double over a
/// contiguous segment of the row, and one group scan gives every segment's starting running sum. Each draw then costs
/// one group reduction (the segment holding t = u·Σ) and a serial scan of that segment by its thread. The element math
/// is <see cref="PortableMath.Exp2(float)"/>, bit for bit the CPU side's, so tokens agree across backends except where
/// t lies within rounding (≈1e-12 relative) of a boundary of the running sum. Needs double support.
/// </summary>
public static class CategoricalDevice
{
    /// <summary>Samples row <c>Grid.IdxX</c> with transform <typeparamref name="T"/>. Launch with one group per row.</summary>
    public static void Row<T>(ArrayView<float> logits, ArrayView<float> temperatures, ArrayView<RngKey> keys, ArrayView<double> uniforms,
        ArrayView<int> tokens, ArrayView<float> logProbs, CategoricalArgs args)
        where T : struct, ILogitTransform
    {
        int row = Grid.IdxX;
        if (row >= args.Rows)
            return;
        int tid = Group.IdxX;
        int size = Group.DimX;
        int cols = args.Cols;
        long start = (long)row * cols;
        float scale = args.PerRowTemperature != 0 ? SamplingMath.Log2Scale(temperatures[row]) : args.Scale;

        // Pass 1: max w and whether the row is invalid. Loops have the same trip count in every thread (PoCL 3.1).
        float max = float.NegativeInfinity;
        float poisoned = 0f;
        for (int first = 0; first < cols; first += size)
        {
            int col = first + tid;
            if (col < cols)
            {
                float w = default(T).Apply(logits[start + col], col) * scale;
                if (SoftmaxMath.Poisons(w))
                    poisoned = 1f;
                else if (w > max)
                    max = w;
            }
        }
        poisoned = GroupReduce.Max(poisoned);
        max = GroupReduce.Max(max);
        long outStart = (long)row * args.Samples;
        if (poisoned != 0f || max == float.NegativeInfinity)
        {
            for (int first = 0; first < args.Samples; first += size)
            {
                int s = first + tid;
                if (s < args.Samples)
                {
                    tokens[outStart + s] = SamplingMath.NoToken;
                    if (args.WriteLogProbs != 0)
                        logProbs[outStart + s] = poisoned != 0f ? float.NaN : float.NegativeInfinity;
                }
            }
            return;
        }

        // Pass 2: each thread's contiguous segment [tid·segment, (tid + 1)·segment) summed in double, then scanned.
        int segment = (cols + size - 1) / size;
        int begin = tid * segment;
        double own = 0.0;
        int lastOwn = -1;
        for (int j = 0; j < segment; j++)
        {
            int col = begin + j;
            if (col < cols)
            {
                float e = PortableMath.Exp2(default(T).Apply(logits[start + col], col) * scale - max);
                own += e;
                if (e > 0f)
                    lastOwn = col;
            }
        }
        var scan = GroupReduce.InclusiveScanDouble(own);
        double sum = scan.Total;
        int lastPositive = GroupReduce.MaxInt(lastOwn);

        // Per draw: the first segment whose running sum exceeds t = u·Σ, then the first column within it.
        var key = args.PerRowKeys != 0 && args.ExplicitUniforms == 0 ? keys[row] : Rng.RowKey(args.Key, row);
        for (int s = 0; s < args.Samples; s++)
        {
            double u = args.ExplicitUniforms != 0
                ? uniforms[outStart + s]
                : Variates.Uniform(Rng.Block(key, (uint)s, args.Offset).Low64);
            double target = u * sum;
            int owner = GroupReduce.MinInt(own > 0.0 && scan.Inclusive > target ? tid : int.MaxValue);
            bool writes = owner == int.MaxValue ? tid == 0 : tid == owner;
            if (writes)
            {
                // Rounding can leave t at or above the last running sum: then the last column with mass.
                int token = owner == int.MaxValue ? lastPositive : lastOwn;
                if (owner != int.MaxValue)
                {
                    double running = scan.Exclusive;
                    for (int j = 0; j < segment; j++)
                    {
                        int col = begin + j;
                        if (col < cols)
                        {
                            float e = PortableMath.Exp2(default(T).Apply(logits[start + col], col) * scale - max);
                            running += e;
                            if (e > 0f && running > target)
                            {
                                token = col;
                                break;
                            }
                        }
                    }
                }
                tokens[outStart + s] = token;
                if (args.WriteLogProbs != 0)
                {
                    float w = default(T).Apply(logits[start + token], token) * scale;
                    logProbs[outStart + s] = (float)((double)(w - max) * SamplingMath.Ln2 - Math.Log(sum));
                }
            }
        }
    }
}
