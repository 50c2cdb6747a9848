using System;
using System.Collections.Generic;
using System.Linq;
using NUnit.Framework;

namespace Kernels.Tests.Statistics;

/// <summary>The one-sample Kolmogorov–Smirnov test of continuous samples against a CDF.</summary>
public static class KolmogorovSmirnov
{
    /// <summary>D = sup |F_n − F| and its asymptotic p-value (Stephens' small-sample correction).</summary>
    public static TestResult Test(IEnumerable<double> samples, Func<double, double> cdf, string what = "KS")
    {
        var sorted = samples.OrderBy(x => x).ToArray();
        int n = sorted.Length;
        double d = 0;
        for (int i = 0; i < n; i++)
        {
            double f = cdf(sorted[i]);
            d = Math.Max(d, Math.Max(f - (double)i / n, (i + 1.0) / n - f));
        }
        double sqrtN = Math.Sqrt(n);
        double p = SpecialFunctions.KolmogorovSurvival((sqrtN + 0.12 + 0.11 / sqrtN) * d);
        return new TestResult(d, n, p, what);
    }

    /// <summary>Asserts that the sample is not rejected at <see cref="ChiSquare.Alpha"/>.</summary>
    public static TestResult AssertFits(IEnumerable<double> samples, Func<double, double> cdf, string what)
    {
        var result = Test(samples, cdf, what);
        Assert.That(result.PValue, Is.GreaterThan(ChiSquare.Alpha), result.ToString);
        return result;
    }

    /// <summary>The standard Gumbel CDF exp(−e^(−x)).</summary>
    public static double GumbelCdf(double x) => Math.Exp(-Math.Exp(-x));

    /// <summary>The standard exponential CDF 1 − e^(−x).</summary>
    public static double ExponentialCdf(double x) => x <= 0 ? 0 : -double.ExpM1(-x);
}

/// <summary>The exact binomial test.</summary>
public static class BinomialTest
{
    /// <summary>Two-sided p-value (twice the smaller exact tail) of <paramref name="successes"/> in <paramref name="n"/> trials at rate <paramref name="p"/>.</summary>
    public static TestResult Test(long successes, long n, double p, string what = "binomial")
    {
        double lower = SpecialFunctions.BinomialCdf(successes, n, p);
        double upper = SpecialFunctions.BinomialUpperTail(successes, n, p);
        return new TestResult(successes, n, Math.Min(1.0, 2 * Math.Min(lower, upper)), $"{what}: {successes} of {n} (expected {n * p:G4})");
    }
}
