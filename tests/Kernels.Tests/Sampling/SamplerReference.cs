using System;
using System.Collections.Generic;
using System.Linq;

namespace Kernels.Tests.Sampling;

/// <summary>Float64 references for the samplers, driven by explicit uniforms or noise (the injection the kernels accept).</summary>
public static class SamplerReference
{
    /// <summary>One row's inverse-CDF decision in float64.</summary>
    /// <param name="Token">The first index whose cumulative probability exceeds u (−1 for an empty or invalid row).</param>
    /// <param name="LogProb">Its log-probability.</param>
    /// <param name="Margin">How far u is from the nearest boundary of the cumulative sum, relative: |u − CDF_k| / 1.</param>
    public readonly record struct Draw(int Token, double LogProb, double Margin);

    /// <summary>
    /// Inverse-CDF of softmax(f(x)/T) in double for uniform <paramref name="u"/>; Margin tells how close the decision is
    /// to a boundary (the kernel, computing in float, may differ where Margin &lt; 1e-6).
    /// </summary>
    public static Draw InverseCdf(ReadOnlySpan<float> row, double temperature, double u, Func<float, int, float>? transform = null)
    {
        var z = new double[row.Length];
        for (int i = 0; i < row.Length; i++)
            z[i] = (transform is null ? row[i] : transform(row[i], i)) / temperature;
        if (z.Any(double.IsNaN) || z.Any(double.IsPositiveInfinity))
            return new Draw(-1, double.NaN, double.PositiveInfinity);
        double max = z.Max();
        if (double.IsNegativeInfinity(max))
            return new Draw(-1, double.NegativeInfinity, double.PositiveInfinity);
        var e = z.Select(v => Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        double c = 0, margin = double.PositiveInfinity;
        int token = -1, last = Array.FindLastIndex(e, v => v > 0);
        for (int i = 0; i < e.Length; i++)
        {
            if (e[i] == 0) continue;
            c += e[i] / sum;
            if (i != last) // the end of the last column with mass is no decision boundary
                margin = Math.Min(margin, Math.Abs(u - c));
            if (token < 0 && c > u)
                token = i;
        }
        if (token < 0)
            token = Array.FindLastIndex(e, v => v > 0);
        return new Draw(token, z[token] - max - Math.Log(sum), margin);
    }

    /// <summary>The uniform the kernels use for draw <paramref name="sample"/> of a row keyed <paramref name="key"/> at <paramref name="offset"/>.</summary>
    public static double Uniform(RngKey key, int sample, ulong offset) => Variates.Uniform(Rng.Block(key, (uint)sample, offset).Low64);

    /// <summary>Uniforms spread over (0, 1), with both extremes and ½, for injection.</summary>
    public static double[] Uniforms(int count, int seed)
    {
        var random = new System.Random(seed);
        var u = new double[count];
        for (int i = 0; i < count; i++)
            u[i] = i switch
            {
                0 => Variates.Uniform(0),
                1 => Variates.Uniform(ulong.MaxValue),
                2 => 0.5,
                _ => Variates.Uniform(((ulong)random.NextInt64() << 1) | (uint)random.Next(2)),
            };
        return u;
    }

    /// <summary>Logits with a few −inf columns, large and small values.</summary>
    public static float[] Logits(int rows, int cols, int seed, double scale = 3.0)
    {
        var x = Infrastructure.TestData.Logits(rows * cols, seed, scale);
        for (int i = 3; i < x.Length; i += 37)
            x[i] = float.NegativeInfinity;
        return x;
    }

    /// <summary>Rows of identical logits, for distribution tests over many rows.</summary>
    public static float[] Repeat(IReadOnlyList<float> row, int rows)
    {
        var x = new float[rows * row.Count];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < row.Count; c++)
                x[r * row.Count + c] = row[c];
        return x;
    }
}
