using System;
using System.Collections.Generic;
using System.Linq;

namespace Kernels.Tests.Speculative;

/// <summary>
/// Plain C# float64 references for the speculative-decoding kernels, written from the algorithm's definition (not from
/// the kernels), and the test data they run on.
/// </summary>
public static class SpeculativeReference
{
    /// <summary>One row's verification: accepted count (−1 invalid), emitted tokens, and the final draw's margin.</summary>
    public sealed record Outcome(int Accepted, int[] Emitted, double Margin);

    /// <summary>
    /// Verifies row <paramref name="b"/> with uniforms u[0..L] (u[k] the accept test of draft k, u[L] the final draw):
    /// accept while u·q &lt; p, then draw from max(0, p − q) (p when its mass is 0) or the bonus from p_L.
    /// </summary>
    public static Outcome Verify(float[] target, float[] draft, int[] tokens, int b, int length, int cols, IReadOnlyList<double> u)
    {
        var emitted = Enumerable.Repeat(-1, length + 1).ToArray();
        var x = tokens.Skip(b * length).Take(length).ToArray();
        if (x.Any(t => t < 0 || t >= cols))
            return new Outcome(-1, emitted, double.PositiveInfinity);
        float P(int k, int v) => target[((long)b * (length + 1) + k) * cols + v];
        float Q(int k, int v) => draft[((long)b * length + k) * cols + v];
        int stop = length;
        for (int k = 0; k < length; k++)
        {
            float p = P(k, x[k]), q = Q(k, x[k]);
            if (!Valid(p) || !Valid(q))
                return new Outcome(-1, emitted, double.PositiveInfinity);
            if (!(u[k] * q < p)) // min(1, p/q) as a threshold on u (q = 0: accept iff p > 0)
            {
                stop = k;
                break;
            }
        }
        var weights = new double[cols];
        for (int v = 0; v < cols; v++)
        {
            float p = P(stop, v), q = stop < length ? Q(stop, v) : 0f;
            if (!Valid(p) || !Valid(q))
                return new Outcome(-1, emitted, double.PositiveInfinity);
            weights[v] = Math.Max(0f, p - q);
        }
        if (!(weights.Sum() > 0))
        {
            for (int v = 0; v < cols; v++)
                weights[v] = P(stop, v); // the documented fallback: residual mass 0 → p
        }
        var (token, margin) = InverseCdf(weights, u[length]);
        if (token < 0)
            return new Outcome(-1, emitted, double.PositiveInfinity);
        for (int k = 0; k < stop; k++)
            emitted[k] = x[k];
        emitted[stop] = token;
        return new Outcome(stop, emitted, margin);
    }

    /// <summary>The first index whose running sum exceeds u·Σ, and the distance to the nearest boundary relative to Σ.</summary>
    public static (int Token, double Margin) InverseCdf(IReadOnlyList<double> weights, double u)
    {
        double total = weights.Sum();
        if (!(total > 0))
            return (-1, 0);
        double goal = u * total, running = 0, margin = double.PositiveInfinity;
        int token = -1;
        for (int v = 0; v < weights.Count; v++)
        {
            if (weights[v] <= 0)
                continue;
            margin = Math.Min(margin, Math.Abs(running - goal) / total);
            running += weights[v];
            margin = Math.Min(margin, Math.Abs(running - goal) / total);
            if (token < 0 && running > goal)
                token = v;
        }
        if (token < 0) // rounding left u·Σ at the total: the last index with mass
            token = weights.Count - 1 - weights.Reverse().TakeWhile(w => !(w > 0)).Count();
        return (token, margin);
    }

    /// <summary>β = Σ min(p, q) in double; NaN when either holds a NaN, negative or infinite value.</summary>
    public static double ExpectedAcceptance(ReadOnlySpan<float> p, ReadOnlySpan<float> q)
    {
        double sum = 0;
        for (int v = 0; v < p.Length; v++)
        {
            if (!Valid(p[v]) || !Valid(q[v]))
                return double.NaN;
            sum += Math.Min(p[v], q[v]);
        }
        return sum;
    }

    private static bool Valid(float x) => x >= 0 && x < float.PositiveInfinity;

    /// <summary>A random distribution over <paramref name="cols"/> with float entries summing to 1 in double (softmax of random logits).</summary>
    public static float[] Distribution(int cols, System.Random random, double scale = 2.0)
    {
        var z = Enumerable.Range(0, cols).Select(_ => scale * (random.NextDouble() * 2 - 1)).ToArray();
        double max = z.Max();
        var e = z.Select(v => Math.Exp(v - max)).ToArray();
        double s = e.Sum();
        return e.Select(v => (float)(v / s)).ToArray();
    }

    /// <summary>A draft that is a noisy copy of <paramref name="p"/>: softmax(log p + noise).</summary>
    public static float[] Perturbed(float[] p, System.Random random, double noise)
    {
        var z = p.Select(v => Math.Log(Math.Max(v, 1e-30)) + noise * (random.NextDouble() * 2 - 1)).ToArray();
        double max = z.Max();
        var e = z.Select(v => Math.Exp(v - max)).ToArray();
        double s = e.Sum();
        return e.Select(v => (float)(v / s)).ToArray();
    }

    /// <summary>A dyadic distribution: integer weights summing to 2^bits, some of them 0, so that sums and differences are exact.</summary>
    public static float[] Dyadic(int cols, System.Random random, int bits = 6)
    {
        int total = 1 << bits;
        var counts = new int[cols];
        int nonZero = Math.Max(1, cols - 1 - random.Next(2)); // one or two zeros when cols allows
        var support = Enumerable.Range(0, cols).OrderBy(_ => random.Next()).Take(nonZero).ToArray();
        for (int i = 0; i < total; i++)
            counts[support[random.Next(support.Length)]]++;
        return counts.Select(c => (float)c / total).ToArray();
    }

    /// <summary>A draw from <paramref name="q"/> by inverse CDF in double.</summary>
    public static int Sample(ReadOnlySpan<float> q, System.Random random)
    {
        double total = 0;
        foreach (var v in q) total += v;
        double goal = random.NextDouble() * total, running = 0;
        int last = -1;
        for (int v = 0; v < q.Length; v++)
        {
            if (q[v] <= 0) continue;
            running += q[v];
            last = v;
            if (running > goal) return v;
        }
        return last;
    }

    /// <summary>[rows, n, V] copies of the n distributions <paramref name="rows"/> times.</summary>
    public static float[] Tile(IReadOnlyList<float[]> distributions, int rows) =>
        Enumerable.Range(0, rows).SelectMany(_ => distributions.SelectMany(d => d)).ToArray();
}
