using System;
using System.Linq;

namespace Kernels.Tests.Truncation;

/// <summary>
/// The float64 reference of the truncation family, written from the definition (sort the row, cut, renormalise):
/// top-k first k in the order (w descending, index ascending), min-p p_i ≥ min-p·p_max, top-p the smallest prefix of the
/// survivors with mass ≥ p of theirs.
/// </summary>
public static class TruncationReference
{
    /// <summary>The kept law of one row, and how close its decisions were to a boundary (relative).</summary>
    /// <param name="Law">Probabilities over the columns (0 outside the kept set).</param>
    /// <param name="Margin">The smallest relative distance of a min-p or top-p decision from its threshold.</param>
    public readonly record struct Kept(double[] Law, double Margin);

    /// <summary>The kept law of <paramref name="row"/> at temperature T with stages k (≤ 0 or ≥ V: none), p and min-p.</summary>
    public static Kept Law(ReadOnlySpan<float> row, double temperature, int k = 0, double p = 1.0, double minP = 0.0)
    {
        int v = row.Length;
        var z = new double[v];
        for (int i = 0; i < v; i++)
            z[i] = row[i] / temperature;
        double max = z.Max();
        var e = z.Select(x => double.IsNegativeInfinity(x) ? 0.0 : Math.Exp(x - max)).ToArray();
        var order = Enumerable.Range(0, v).OrderByDescending(i => z[i]).ThenBy(i => i).ToArray();
        var keep = new bool[v];
        int limit = k > 0 && k < v ? k : v;
        double margin = double.PositiveInfinity;
        for (int r = 0; r < limit; r++)
        {
            int i = order[r];
            if (e[i] > 0 && e[i] >= minP)
                keep[i] = true;
            if (minP > 0 && e[i] > 0)
                margin = Math.Min(margin, Math.Abs(e[i] - minP) / minP);
        }
        double total = Enumerable.Range(0, v).Where(i => keep[i]).Sum(i => e[i]);
        if (p < 1)
        {
            double before = 0;
            foreach (int i in order)
            {
                if (!keep[i])
                    continue;
                margin = Math.Min(margin, Math.Abs(before - p * total) / total);
                if (!(before < p * total))
                    keep[i] = false;
                before += e[i];
            }
        }
        double kept = Enumerable.Range(0, v).Where(i => keep[i]).Sum(i => e[i]);
        return new Kept(Enumerable.Range(0, v).Select(i => keep[i] ? e[i] / kept : 0.0).ToArray(), margin);
    }
}
