using System;
using System.Collections.Generic;
using System.Linq;
using NUnit.Framework;

namespace Kernels.Tests.Statistics;

/// <summary>The outcome of a goodness-of-fit test.</summary>
/// <param name="Statistic">The test statistic.</param>
/// <param name="DegreesOfFreedom">Degrees of freedom after merging (chi-square) or the sample size (KS).</param>
/// <param name="PValue">The p-value.</param>
/// <param name="Description">What was tested, for messages.</param>
public sealed record TestResult(double Statistic, double DegreesOfFreedom, double PValue, string Description)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Description}: statistic {Statistic:G6}, dof {DegreesOfFreedom}, p = {PValue:G4}";
}

/// <summary>
/// Pearson's chi-square goodness of fit against known probabilities, with bins of expected count below 5 merged (the
/// tail, taken in order of decreasing probability, is pooled into bins of at least 5). The library's tests use
/// α = 1e-6, so that a correct kernel fails by chance about once in a million runs.
/// </summary>
public static class ChiSquare
{
    /// <summary>The significance level the kernel tests use.</summary>
    public const double Alpha = 1e-6;

    /// <summary>Smallest expected count per (merged) bin.</summary>
    public const double MinimumExpected = 5.0;

    /// <summary>
    /// Tests <paramref name="observed"/> counts against <paramref name="probabilities"/> (which are normalised here).
    /// An observation in a bin of probability 0 gives p = 0.
    /// </summary>
    public static TestResult GoodnessOfFit(IReadOnlyList<long> observed, IReadOnlyList<double> probabilities, string what = "chi-square")
    {
        if (observed.Count != probabilities.Count)
            throw new ArgumentException("observed and probabilities differ in length");
        long n = observed.Sum();
        double total = probabilities.Sum();
        for (int i = 0; i < observed.Count; i++)
        {
            if (probabilities[i] <= 0 && observed[i] > 0)
                return new TestResult(double.PositiveInfinity, 0, 0.0, $"{what}: {observed[i]} draws of bin {i}, whose probability is 0");
        }
        var bins = Merge(observed, probabilities.Select(p => n * p / total).ToArray());
        if (bins.Count < 2)
            return new TestResult(0, 0, 1.0, what + " (a single merged bin)");
        double statistic = bins.Sum(b => (b.Observed - b.Expected) * (b.Observed - b.Expected) / b.Expected);
        int dof = bins.Count - 1;
        return new TestResult(statistic, dof, SpecialFunctions.ChiSquareSurvival(statistic, dof), what);
    }

    /// <summary>Asserts that the fit is not rejected at <see cref="Alpha"/>.</summary>
    public static TestResult AssertFits(IReadOnlyList<long> observed, IReadOnlyList<double> probabilities, string what)
    {
        var result = GoodnessOfFit(observed, probabilities, what);
        Assert.That(result.PValue, Is.GreaterThan(Alpha), result.ToString);
        return result;
    }

    /// <summary>
    /// The power of the test at level <paramref name="alpha"/> with <paramref name="n"/> draws against the alternative
    /// <paramref name="alternative"/> (noncentral chi-square with λ = n Σ (q − p)²/p, Patnaik's approximation), using the
    /// bins the null would merge.
    /// </summary>
    public static double Power(IReadOnlyList<double> probabilities, IReadOnlyList<double> alternative, long n, double alpha = Alpha)
    {
        var expected = probabilities.Select(p => n * p).ToArray();
        var groups = Groups(expected);
        double lambda = 0;
        foreach (var group in groups)
        {
            double p = group.Sum(i => probabilities[i]), q = group.Sum(i => alternative[i]);
            lambda += n * (q - p) * (q - p) / p;
        }
        int k = groups.Count - 1;
        double critical = SpecialFunctions.ChiSquareQuantileUpper(alpha, k);
        double h = (k + lambda) * (k + lambda) / (k + 2 * lambda);
        double c = (k + 2 * lambda) / (k + lambda);
        return SpecialFunctions.ChiSquareSurvival(critical / c, h);
    }

    /// <summary>Counts of each value in [0, bins) (values outside fail the test).</summary>
    public static long[] Histogram(IEnumerable<int> values, int bins)
    {
        var counts = new long[bins];
        foreach (int v in values)
        {
            Assert.That(v, Is.InRange(0, bins - 1), "a drawn index outside [0, V)");
            counts[v]++;
        }
        return counts;
    }

    private readonly record struct Bin(double Observed, double Expected);

    private static List<Bin> Merge(IReadOnlyList<long> observed, double[] expected) =>
        Groups(expected).Select(g => new Bin(g.Sum(i => (double)observed[i]), g.Sum(i => expected[i]))).ToList();

    /// <summary>Bins (as index groups): each bin with expected ≥ 5 alone, the rest pooled in order of decreasing expectation.</summary>
    private static List<List<int>> Groups(double[] expected)
    {
        var order = Enumerable.Range(0, expected.Length).Where(i => expected[i] > 0).OrderByDescending(i => expected[i]).ToArray();
        var groups = new List<List<int>>();
        var pool = new List<int>();
        double pooled = 0;
        foreach (int i in order)
        {
            if (expected[i] >= MinimumExpected && pool.Count == 0)
            {
                groups.Add(new List<int> { i });
                continue;
            }
            pool.Add(i);
            pooled += expected[i];
            if (pooled >= MinimumExpected)
            {
                groups.Add(pool);
                pool = new List<int>();
                pooled = 0;
            }
        }
        if (pool.Count > 0)
        {
            if (groups.Count > 0) groups[^1].AddRange(pool);
            else groups.Add(pool);
        }
        return groups;
    }
}
