using System;
using System.Linq;

namespace Kernels.Tests.Truncation;

/// <summary>
/// The float64 reference of Top-H (ErfanBaghaei/Top-H-Decoding <c>logit_processor.py</c>) and Mirostat
/// (basusourya/mirostat <c>mirostat.py</c>), written from their definitions: softmax over the whole row, sort it
/// (probability descending, index ascending), decide, and draw from the kept set by inverse CDF in column order with
/// the given uniform. 0·log 0 := 0; the Zipf fit uses ln(p_i/p_{i+1}) = z_i − z_{i+1} over the finite logits.
/// </summary>
public static class AdaptiveReference
{
    /// <summary>A decision: the kept count (a prefix of <paramref name="Order"/>) and its distance from a boundary.</summary>
    public readonly record struct Decision(int Kept, int[] Order, double Margin);

    private static (double[] Z, double[] E, double Total, int[] Order) Softmax(ReadOnlySpan<float> row, double temperature)
    {
        var z = row.ToArray().Select(x => x / temperature).ToArray();
        double max = z.Max();
        var e = z.Select(v => double.IsNegativeInfinity(v) ? 0.0 : Math.Exp(v - max)).ToArray();
        var order = Enumerable.Range(0, z.Length).OrderByDescending(i => z[i]).ThenBy(i => i).ToArray();
        return (z, e, e.Sum(), order);
    }

    /// <summary>Top-H with α and n: the longest prefix with partial entropy ≤ α·(top-n entropy), 1 to min(n, V) columns.</summary>
    public static Decision TopH(ReadOnlySpan<float> row, double temperature, double alpha, int n)
    {
        var (_, e, total, order) = Softmax(row, temperature);
        int top = Math.Min(n, row.Length);
        var h = new double[top];
        for (int i = 0; i < top; i++)
        {
            double p = e[order[i]] / total;
            h[i] = p > 0 ? -p * Math.Log2(p) : 0.0;
        }
        double bound = alpha * h.Sum();
        double partial = h[0];
        int kept = 1;
        double margin = double.PositiveInfinity;
        for (int k = 2; k <= top; k++)
        {
            partial += h[k - 1];
            margin = Math.Min(margin, Math.Abs(partial - bound) / Math.Max(bound, 1e-300));
            if (partial > bound)
                break;
            kept = k;
        }
        return new Decision(kept, order, margin);
    }

    /// <summary>
    /// Top-H's normalised rule: the greedy prefix (at most n columns) whose renormalised entropy H(q) stays within
    /// α·H(p), with H(p) the entropy of the whole row; zero-probability columns end the prefix.
    /// </summary>
    public static Decision TopHNormalized(ReadOnlySpan<float> row, double temperature, double alpha, int n)
    {
        var (_, e, total, order) = Softmax(row, temperature);
        var p = e.Select(v => v / total).ToArray();
        double entropy = p.Where(v => v > 0).Sum(v => -v * Math.Log2(v));
        double bound = alpha * entropy;
        int top = Math.Min(n, row.Length), kept = 1;
        double margin = double.PositiveInfinity;
        for (int k = 2; k <= top && p[order[k - 1]] > 0; k++)
        {
            var prefix = order.Take(k).Select(i => p[i]).ToArray();
            double mass = prefix.Sum();
            double h = prefix.Sum(v => -(v / mass) * Math.Log2(v / mass));
            margin = Math.Min(margin, Math.Abs(h - bound) / Math.Max(bound, 1e-300));
            if (h > bound)
                break;
            kept = k;
        }
        return new Decision(kept, order, margin);
    }

    /// <summary>Mirostat v1's k for state μ (m = 3000, N = V), with the Zipf exponent ŝ.</summary>
    public static Decision Mirostat(ReadOnlySpan<float> row, double temperature, double mu, out double s)
    {
        var (z, _, _, order) = Softmax(row, temperature);
        int v = row.Length;
        int available = order.Count(i => !double.IsNegativeInfinity(z[i]));
        int m = Math.Min(3000, available - 1);
        double num = 0, den = 0;
        for (int i = 0; i < m; i++)
        {
            double b = Math.Log((i + 2.0) / (i + 1.0));
            num += (z[order[i]] - z[order[i + 1]]) * b;
            den += b * b;
        }
        s = m > 0 ? num / den : 0.0;
        double eps = s - 1;
        if (eps <= 0)
            return new Decision(v, order, double.PositiveInfinity);
        double kf = Math.Pow(eps * Math.Pow(2, mu) / (1 - Math.Pow(v, -eps)), 1 / s);
        if (!(kf < v))
            return new Decision(v, order, double.PositiveInfinity);
        int k = (int)Math.Min(v, Math.Round(kf, MidpointRounding.AwayFromZero) + 1);
        return new Decision(k, order, Math.Abs(kf - Math.Floor(kf) - 0.5));
    }

    /// <summary>The draw with uniform u from the kept prefix, by inverse CDF in column order, and its distance from a boundary (relative).</summary>
    public static (int Token, double Margin) Draw(ReadOnlySpan<float> row, double temperature, Decision d, double u)
    {
        var (_, e, _, _) = Softmax(row, temperature);
        var kept = new bool[row.Length];
        foreach (int i in d.Order.Take(d.Kept))
            kept[i] = true;
        double mass = Enumerable.Range(0, row.Length).Where(i => kept[i]).Sum(i => e[i]);
        double target = u * mass, running = 0;
        int token = -1;
        double margin = double.PositiveInfinity;
        for (int i = 0; i < row.Length; i++)
        {
            if (!kept[i] || e[i] == 0)
                continue;
            running += e[i];
            margin = Math.Min(margin, Math.Abs(running - target) / mass);
            if (token < 0 && running > target)
                token = i;
        }
        return (token, margin);
    }

    /// <summary>The surprise −log2 p of a column under the untruncated softmax.</summary>
    public static double Surprise(ReadOnlySpan<float> row, double temperature, int token)
    {
        var (_, e, total, _) = Softmax(row, temperature);
        return -Math.Log2(e[token] / total);
    }

    /// <summary>Logits of a Zipf(s) law over V columns in a shuffled column order: ln p_i = −s·ln(rank + 1) + const.</summary>
    public static float[] Zipf(int v, double s, int seed)
    {
        var random = new System.Random(seed);
        var ranks = Enumerable.Range(0, v).OrderBy(_ => random.Next()).ToArray();
        return ranks.Select(r => (float)(-s * Math.Log(r + 1.0))).ToArray();
    }
}
