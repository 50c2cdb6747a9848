using System;
using System.Linq;
using Kernels.Tests.Statistics;
using NUnit.Framework;

namespace Kernels.Tests.Speculative;

/// <summary>
/// Continuous speculative verification (host side) on 1-D Gaussians: the emitted samples follow p (KS, α = 1e-6), the
/// acceptance rate is 1 − TV(p, q) (exact binomial; TV by numerical integration), the residual loop is capped.
/// </summary>
[TestFixture]
public sealed class ContinuousSpeculativeTests
{
    private static double LogNormal(double x, double mean, double sd) => -0.5 * Math.Pow((x - mean) / sd, 2) - Math.Log(sd) - 0.5 * Math.Log(2 * Math.PI);

    private static double NormalCdf(double x) => 0.5 * (1 + Math.Sign(x) * SpecialFunctions.GammaP(0.5, x * x / 2));

    [Test]
    public void OutputsFollowTheTargetAndAcceptanceIsOneMinusTotalVariation()
    {
        const double qMean = 0.7, qSd = 1.3;
        const int n = 20000;
        var key = new RngKey(2026);
        double U(long draw, int i) => Variates.Uniform(Rng.Block(key, (uint)(2 * i), (ulong)draw).Low64);
        double Normal(long draw, int i, double mean, double sd) // Box–Muller from two of the library's uniforms
            => mean + sd * Math.Sqrt(-2 * Math.Log(U(draw, i))) * Math.Cos(2 * Math.PI * Variates.Uniform(Rng.Block(key, (uint)(2 * i + 1), (ulong)draw).Low64));
        var outputs = new double[n];
        int accepted = 0, capped = 0;
        for (long d = 0; d < n; d++)
        {
            long draw = d;
            double x = Normal(draw, 1000, qMean, qSd);
            var outcome = ContinuousSpeculative.Verify(x, v => LogNormal(v, 0, 1), v => LogNormal(v, qMean, qSd),
                i => U(draw, i), i => Normal(draw, 2000 + i, 0, 1), maxProposals: 1000);
            outputs[d] = outcome.Value;
            if (outcome.Accepted) accepted++;
            if (outcome.Capped) capped++;
        }
        Assert.That(capped, Is.EqualTo(0));
        KolmogorovSmirnov.AssertFits(outputs, NormalCdf, "continuous speculative outputs vs N(0, 1)");
        // The drafts themselves do not follow p: the test can fail.
        var drafts = Enumerable.Range(0, n).Select(d => Normal(d, 1000, qMean, qSd)).ToArray();
        Assert.That(KolmogorovSmirnov.Test(drafts, NormalCdf).PValue, Is.LessThan(ChiSquare.Alpha));
        double overlap = 0, h = 1e-3;
        for (double x = -12; x < 14; x += h)
            overlap += h * Math.Min(Math.Exp(LogNormal(x, 0, 1)), Math.Exp(LogNormal(x, qMean, qSd)));
        var result = BinomialTest.Test(accepted, n, overlap, "acceptance vs Σ min(p, q) = 1 − TV");
        Assert.That(result.PValue, Is.GreaterThan(ChiSquare.Alpha), result.ToString);
    }

    [Test]
    public void TheResidualLoopIsCappedAndLogDomainEdgesAreDefined()
    {
        // p = q: the residual has no mass, every proposal is refused, the loop stops at the cap.
        var outcome = ContinuousSpeculative.Residual<double>(v => -v * v, v => -v * v, _ => 0.5, i => i, maxProposals: 7);
        Assert.That(outcome.Capped, Is.True);
        Assert.That(outcome.Proposals, Is.EqualTo(7));
        Assert.That(outcome.Value, Is.EqualTo(6.0), "the last proposal");
        // Log densities far beyond double range never overflow a ratio.
        Assert.That(ContinuousSpeculative.Accepts(-1e300, -2e300, 0.999), Is.True);
        Assert.That(ContinuousSpeculative.Accepts(-2e300, -1e300, 1e-300), Is.False);
        Assert.That(ContinuousSpeculative.Accepts(double.NegativeInfinity, 0, 1e-300), Is.False, "p = 0 rejects");
        Assert.That(ContinuousSpeculative.Accepts(0, double.NegativeInfinity, 0.999), Is.True, "q = 0 < p accepts");
        Assert.That(ContinuousSpeculative.Accepts(double.NaN, 0, 0.5), Is.False, "NaN rejects");
        Assert.Throws<ArgumentOutOfRangeException>(() => ContinuousSpeculative.Residual<double>(v => 0, v => 0, _ => 0.5, i => i, 0));
    }
}
