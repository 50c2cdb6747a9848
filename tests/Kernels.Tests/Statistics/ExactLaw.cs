using System;
using System.Collections.Generic;
using System.Linq;

namespace Kernels.Tests.Statistics;

/// <summary>
/// Exact output laws by enumeration, for tiny vocabularies: the oracle that statistical tests compare kernels with.
/// </summary>
public static class ExactLaw
{
    /// <summary>softmax(z / T) in double, with −inf giving 0.</summary>
    public static double[] Softmax(IReadOnlyList<float> logits, double temperature = 1.0, Func<float, int, double>? transform = null)
    {
        var z = logits.Select((x, i) => (transform?.Invoke(x, i) ?? x) / temperature).ToArray();
        double max = z.Max();
        var e = z.Select(v => double.IsNegativeInfinity(v) ? 0.0 : Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    /// <summary>
    /// The law of the ordered k-tuple drawn without replacement from <paramref name="p"/> (the law of Gumbel-top-k):
    /// P(x₁..x_k) = Π_i p(x_i)/(1 − Σ_{j&lt;i} p(x_j)), enumerated over every ordered tuple of distinct indices with
    /// positive probability.
    /// </summary>
    public static Dictionary<string, double> OrderedWithoutReplacement(IReadOnlyList<double> p, int k)
    {
        var law = new Dictionary<string, double>();
        void Walk(List<int> prefix, double probability, double used)
        {
            if (prefix.Count == k)
            {
                law[Key(prefix)] = probability;
                return;
            }
            for (int i = 0; i < p.Count; i++)
            {
                if (p[i] <= 0 || prefix.Contains(i))
                    continue;
                prefix.Add(i);
                Walk(prefix, probability * p[i] / (1.0 - used), used + p[i]);
                prefix.RemoveAt(prefix.Count - 1);
            }
        }
        Walk(new List<int>(), 1.0, 0.0);
        return law;
    }

    /// <summary>P(i is among the k drawn) for each i, summed from <see cref="OrderedWithoutReplacement"/>.</summary>
    public static double[] Inclusion(IReadOnlyList<double> p, int k)
    {
        var inclusion = new double[p.Count];
        foreach (var (tuple, probability) in OrderedWithoutReplacement(p, k))
        {
            foreach (var index in tuple.Split(',').Select(int.Parse))
                inclusion[index] += probability;
        }
        return inclusion;
    }

    /// <summary>The dictionary key of a tuple.</summary>
    public static string Key(IEnumerable<int> tuple) => string.Join(",", tuple);
}
