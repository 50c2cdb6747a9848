using System;
using System.Linq;
using NUnit.Framework;

namespace Kernels.Tests.Statistics;

/// <summary>The statistical test kit against closed forms and known critical values, and its power and size.</summary>
public sealed class StatisticsKitTests
{
    [TestCase(1.0, 0.5)]
    [TestCase(1.0, 7.0)]
    [TestCase(1.0, 60.0)]
    public void GammaQOfOneIsTheExponentialTail(double a, double x) =>
        Assert.That(SpecialFunctions.GammaQ(a, x), Is.EqualTo(Math.Exp(-x)).Within(1e-13 * Math.Exp(-x)));

    [TestCase(3.841458820694124, 1, 0.05)]
    [TestCase(11.070497693516351, 5, 0.05)]
    [TestCase(23.209251158954356, 10, 0.01)]
    [TestCase(80.0, 2, 4.248354255291589e-18)] // dof 2: exactly e^(−x/2), far in the tail
    [TestCase(124.34211340400407, 100, 0.05)]
    public void ChiSquareSurvivalMatchesTables(double x, double dof, double p) =>
        Assert.That(SpecialFunctions.ChiSquareSurvival(x, dof), Is.EqualTo(p).Within(1e-9 * p));

    [Test]
    public void ChiSquareQuantileInvertsTheSurvivalFunction() =>
        Assert.That(SpecialFunctions.ChiSquareQuantileUpper(1e-6, 20), Is.GreaterThan(20.0).And.Matches<double>(x => Math.Abs(SpecialFunctions.ChiSquareSurvival(x, 20) - 1e-6) < 1e-12));

    [Test]
    public void KolmogorovSurvivalMatchesCriticalValues()
    {
        Assert.That(SpecialFunctions.KolmogorovSurvival(1.3581), Is.EqualTo(0.05).Within(2e-4));
        Assert.That(SpecialFunctions.KolmogorovSurvival(1.6276), Is.EqualTo(0.01).Within(1e-4));
    }

    [Test]
    public void BinomialTailsAreExact()
    {
        Assert.That(SpecialFunctions.BinomialCdf(0, 10, 0.5), Is.EqualTo(1.0 / 1024).Within(1e-15));
        Assert.That(SpecialFunctions.BinomialUpperTail(10, 10, 0.5), Is.EqualTo(1.0 / 1024).Within(1e-15));
        Assert.That(SpecialFunctions.BinomialCdf(3, 10, 0.3) + SpecialFunctions.BinomialUpperTail(4, 10, 0.3), Is.EqualTo(1.0).Within(1e-13));
        Assert.That(BinomialTest.Test(50, 5000, 0.01).PValue, Is.GreaterThan(0.5));
        Assert.That(BinomialTest.Test(1, 5000, 0.01).PValue, Is.LessThan(1e-15));
    }

    [Test]
    public void ChiSquareAcceptsAFairSamplerAndRejectsAOnePercentShift()
    {
        // A 30-bin law with a long tail of small bins (merged), sampled exactly and with 1% of the mass moved.
        var p = Enumerable.Range(0, 30).Select(i => Math.Pow(0.8, i)).ToArray();
        double sum = p.Sum();
        p = p.Select(v => v / sum).ToArray();
        var q = (double[])p.Clone();
        q[0] -= 0.01;
        q[1] += 0.01;
        const int n = 400_000;
        Assert.That(ChiSquare.Power(p, q, n), Is.GreaterThan(0.999), "the test has the power it claims");
        var random = new System.Random(5);
        ChiSquare.AssertFits(Draw(p, n, random), p, "fair sampler");
        var shifted = ChiSquare.GoodnessOfFit(Draw(q, n, random), p, "shifted sampler");
        Assert.That(shifted.PValue, Is.LessThan(ChiSquare.Alpha), shifted.ToString);
    }

    [Test]
    public void ChiSquareMergesTheTailAndFailsOnImpossibleDraws()
    {
        var p = new[] { 0.5, 0.4999, 1e-4, 0.0 };
        var fit = ChiSquare.GoodnessOfFit(new long[] { 500, 499, 1, 0 }, p);
        Assert.That(fit.DegreesOfFreedom, Is.EqualTo(1), "the 1e-4 bin is pooled");
        Assert.That(ChiSquare.GoodnessOfFit(new long[] { 500, 499, 0, 1 }, p).PValue, Is.EqualTo(0.0));
    }

    [Test]
    public void KolmogorovSmirnovAcceptsUniformsAndRejectsSquares()
    {
        var random = new System.Random(3);
        var u = Enumerable.Range(0, 20000).Select(_ => random.NextDouble()).ToArray();
        KolmogorovSmirnov.AssertFits(u, x => Math.Clamp(x, 0, 1), "uniform");
        Assert.That(KolmogorovSmirnov.Test(u.Select(x => x * x), x => Math.Clamp(x, 0, 1)).PValue, Is.LessThan(ChiSquare.Alpha));
    }

    [Test]
    public void ExactLawsAreNormalised()
    {
        var p = new[] { 0.5, 0.2, 0.2, 0.1, 0.0 };
        var law = ExactLaw.OrderedWithoutReplacement(p, 3);
        Assert.That(law.Values.Sum(), Is.EqualTo(1.0).Within(1e-12));
        Assert.That(law.Keys, Has.None.Contains("4"), "zero-probability items are never drawn");
        var inclusion = ExactLaw.Inclusion(p, 3);
        Assert.That(inclusion.Sum(), Is.EqualTo(3.0).Within(1e-12));
        Assert.That(law["0,1,2"], Is.EqualTo(0.5 * (0.2 / 0.5) * (0.2 / 0.3)).Within(1e-15));
    }

    private static long[] Draw(double[] p, int n, System.Random random)
    {
        var counts = new long[p.Length];
        for (int i = 0; i < n; i++)
        {
            double u = random.NextDouble(), c = 0;
            int k = 0;
            for (; k < p.Length - 1; k++)
            {
                c += p[k];
                if (u < c) break;
            }
            counts[k]++;
        }
        return counts;
    }
}
