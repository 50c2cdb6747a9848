using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using Kernels.Tests.Statistics;
using NUnit.Framework;

namespace Kernels.Tests.Sampling;

/// <summary>
/// The tail test of issue 3 ("Masked Diffusion Models ... Inaccurate Categorical Sampling"): one head token with 99% of
/// the mass and 10^6 tail tokens at 1e-8 each. The sampler must draw the tail at 1% (exact binomial test, α = 1e-6),
/// while Gumbel-max on float32 uniforms, whose noise is capped at 16.64 below the head-to-tail gap of 18.41, draws it
/// about 60 times too rarely and is rejected: that control stays in the test.
/// </summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class TailTests(Backend backend) : BackendTest(backend)
{
    private const double Head = 0.99;

    [Test]
    public void TheTailIsDrawnAtItsRate()
    {
        // cpu: the full test (10^6 tail tokens of 1e-8, 5000 draws, 50 expected in the tail); emulators: 10^4 tail tokens
        // of 1e-6 and 2000 draws (the same 1% tail; slower backends, smaller input).
        int tail = IsEmulated ? 10_000 : 1_000_000;
        int draws = IsEmulated ? 2_000 : 5_000;
        double perToken = (1 - Head) / tail;
        var logits = TailRow(tail, perToken);
        var tokens = new int[draws];
        CategoricalSample.Run(Runtime, logits, tokens, 1, logits.Length, 1f, new RngKey(20250101), 0, draws);
        Assert.That(tokens, Is.All.InRange(0, logits.Length - 1));
        int drawn = tokens.Count(t => t != 0);
        var result = BinomialTest.Test(drawn, draws, 1 - Head, $"tail draws on {Backend.ToName()}");
        TestContext.Out.WriteLine(result);
        Assert.That(result.PValue, Is.GreaterThan(ChiSquare.Alpha), result.ToString);
        // The tail tokens drawn are spread over the tail (no index is favoured): all distinct at these counts.
        var tailTokens = tokens.Where(t => t != 0).ToArray();
        Assert.That(tailTokens.Distinct().Count(), Is.GreaterThanOrEqualTo(tailTokens.Length - 2));
    }

    [Test]
    public void Float32UniformGumbelMaxIsRejectedAndTheFloat32SafeConstructionIsNot()
    {
        if (Backend != Backend.Cpu)
            Assert.Pass("a host-side simulation: it runs once, on the cpu fixture");
        const int tail = 1_000_000, draws = 5_000;
        double perToken = (1 - Head) / tail;
        float headLogit = 0f, tailLogit = (float)Math.Log(perToken / Head);
        var random = new System.Random(77);

        // Gumbel-max over 10^6 tail tokens of equal logit only needs the largest tail noise, and g(u) is increasing, so
        // the largest of 10^6 noises is g(max u). The maximum of N uniforms is U^(1/N); a float32 uniform is that value
        // on the 2^-24 grid (floor is monotone, so quantising the maximum equals the maximum of the quantised).
        int float32Tail = 0, float32SafeTail = 0;
        for (int d = 0; d < draws; d++)
        {
            // Control: float32 uniforms, u = k·2^-24 with k in [1, 2^24), g = −ln(−ln u) in float: capped at 16.64.
            double maxU = Math.Exp(Math.Log(random.NextDouble()) / tail);
            float uTail = (float)(Math.Floor(maxU * 16777216.0) / 16777216.0);
            float uHead = (float)((random.Next(1, 1 << 24)) / 16777216.0);
            float gTail = -MathF.Log(-MathF.Log(uTail));
            float gHead = -MathF.Log(-MathF.Log(uHead));
            if (tailLogit + gTail > headLogit + gHead)
                float32Tail++;

            // The library's float32-safe construction: G decreases with the 64 random bits k, so the largest of N noises
            // is G(min k), and the minimum of N uniform 64-bit integers is 2^64·(1 − U^(1/N)).
            double minFraction = -double.ExpM1(Math.Log(random.NextDouble()) / tail);
            ulong kMin = (ulong)Math.Min(minFraction * 18446744073709551616.0, 18446744073709549568.0);
            ulong kHead = ((ulong)random.NextInt64() << 1) ^ (uint)random.Next();
            if (tailLogit + Variates.GumbelF32(kMin) > headLogit + Variates.GumbelF32(kHead))
                float32SafeTail++;
        }
        var control = BinomialTest.Test(float32Tail, draws, 1 - Head, "float32-uniform Gumbel-max (control)");
        var safe = BinomialTest.Test(float32SafeTail, draws, 1 - Head, "float32-safe Gumbel-max");
        TestContext.Out.WriteLine(control);
        TestContext.Out.WriteLine(safe);
        Assert.That(control.PValue, Is.LessThan(ChiSquare.Alpha), "the control must be rejected: " + control);
        Assert.That(float32Tail, Is.LessThan(draws * (1 - Head) / 10), "about 60x too rare");
        Assert.That(safe.PValue, Is.GreaterThan(ChiSquare.Alpha), safe.ToString);
    }

    /// <summary>Column 0 holds the head (probability 0.99), the other columns the tail.</summary>
    private static float[] TailRow(int tail, double perToken)
    {
        var logits = new float[tail + 1];
        float tailLogit = (float)Math.Log(perToken / Head);
        Array.Fill(logits, tailLogit);
        logits[0] = 0f;
        return logits;
    }
}
