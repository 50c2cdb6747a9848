using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Sparse;

/// <summary>MaskLLM's learnable masks (forward soft/hard, backward by finite differences, export) and SR-STE, on every backend.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class MaskLlmTests(Backend backend) : BackendTest(backend)
{
    [TestCase(2, 4, 6)]
    [TestCase(1, 4, 4)]
    [TestCase(2, 8, 28)]
    [TestCase(4, 8, 70)]
    public void CandidatesAreEveryPatternOnceInLexicographicOrder(int n, int m, int count)
    {
        var pattern = new NmPattern(n, m);
        Assert.That(MaskLlm.CandidateCount(pattern), Is.EqualTo(count));
        var table = MaskLlm.Candidates(pattern);
        var expected = Enumerable.Range(0, 1 << m)
            .Where(bits => System.Numerics.BitOperations.PopCount((uint)bits) == n)
            .Select(bits => Enumerable.Range(0, m).Where(i => (bits >> i & 1) == 1).ToArray())
            .OrderBy(kept => string.Join(",", kept.Select(k => k.ToString("D2"))))
            .ToArray();
        Assert.That(expected, Has.Length.EqualTo(count));
        for (int c = 0; c < count; c++)
            Assert.That(Enumerable.Range(0, m).Where(i => table[c * m + i] == 1f), Is.EqualTo(expected[c]), $"candidate {c}");
        Assert.That(table, Is.All.EqualTo(0f).Or.EqualTo(1f));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ForwardMixesTheCandidatesByTheSoftSample(bool hard)
    {
        var pattern = new NmPattern(2, 4);
        const int groups = 9, c = 6;
        var gates = TestData.Logits(groups * c, seed: 3, scale: 1.0);
        var soft = new float[groups * c];
        var mask = new float[groups * 4];
        ulong next = MaskLlm.Forward(Runtime, pattern, gates, groups, soft, mask, tau: 0.5f, kappa: 2f, new RngKey(11), offset: 4, hard);
        Assert.That(next, Is.EqualTo(5UL));
        var table = MaskLlm.Candidates(pattern);
        for (int g = 0; g < groups; g++)
        {
            var y = soft.Skip(g * c).Take(c).ToArray();
            Assert.That(y.Sum(v => (double)v), Is.EqualTo(1.0).Within(1e-5), $"group {g}: y sums to 1");
            int chosen = Array.IndexOf(y, y.Max());
            for (int i = 0; i < 4; i++)
            {
                double expected = hard ? table[chosen * 4 + i] : Enumerable.Range(0, c).Sum(k => (double)y[k] * table[k * 4 + i]);
                Assert.That(mask[g * 4 + i], Is.EqualTo(expected).Within(1e-6), $"group {g} element {i}");
            }
            Assert.That(mask.Skip(g * 4).Take(4).Sum(v => (double)v), Is.EqualTo(2.0).Within(1e-5), "N kept in expectation");
            if (hard)
                Assert.That(mask.Skip(g * 4).Take(4).Count(v => v == 1f), Is.EqualTo(2), "hard: exactly N of M");
        }
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        var pattern = new NmPattern(2, 4);
        const int groups = 3, c = 6;
        const float tau = 0.8f, kappa = 1.5f;
        var key = new RngKey(7);
        var gates = TestData.Logits(groups * c, seed: 5, scale: 0.7);
        var weight = TestData.Logits(groups * 4, seed: 6, scale: 1.0); // L = Σ weight ⊙ mask, so dL/dmask = weight
        var soft = new float[groups * c];
        var mask = new float[groups * 4];
        MaskLlm.Forward(Runtime, pattern, gates, groups, soft, mask, tau, kappa, key, 0, hard: false);
        var gradient = new float[groups * c];
        MaskLlm.Backward(Runtime, pattern, soft, weight, groups, gradient, tau, kappa);

        double Loss(float[] g)
        {
            var s = new float[groups * c];
            var m = new float[groups * 4];
            MaskLlm.Forward(Runtime, pattern, g, groups, s, m, tau, kappa, key, 0, hard: false); // same noise: same key, offset
            return m.Select((v, i) => (double)v * weight[i]).Sum();
        }
        const float eps = 1e-2f;
        for (int i = 0; i < gates.Length; i++)
        {
            var plus = (float[])gates.Clone();
            var minus = (float[])gates.Clone();
            plus[i] += eps;
            minus[i] -= eps;
            double fd = (Loss(plus) - Loss(minus)) / (plus[i] - minus[i]);
            Assert.That(gradient[i], Is.EqualTo(fd).Within(2e-3 + 0.02 * Math.Abs(fd)), $"gate {i}");
        }
        Assert.That(gradient.Max(Math.Abs), Is.GreaterThan(1e-2f), "a gradient that is not trivially zero");
    }

    [Test]
    public void ExportTakesEachGroupsMostLikelyCandidate()
    {
        var pattern = new NmPattern(2, 4);
        const int groups = 5, c = 6;
        var gates = TestData.Logits(groups * c, seed: 8);
        gates[2 * c + 1] = gates[2 * c + 4] = 100f; // a tie: the lower candidate wins
        var mask = new byte[groups * 4];
        MaskLlm.Export(pattern, gates, groups, mask);
        var table = MaskLlm.Candidates(pattern);
        for (int g = 0; g < groups; g++)
        {
            int best = Enumerable.Range(0, c).OrderByDescending(k => gates[g * c + k]).ThenBy(k => k).First();
            Assert.That(mask.Skip(g * 4).Take(4).Select(b => (float)b), Is.EqualTo(table.Skip(best * 4).Take(4)), $"group {g}");
            Assert.That(mask.Skip(g * 4).Take(4).Count(b => b == 1), Is.EqualTo(2));
        }
        Assert.That(mask.Skip(8).Take(4), Is.EqualTo(new byte[] { 1, 0, 1, 0 }), "tie between candidates 1 and 4 goes to 1 = {0, 2}");
    }

    [Test]
    public void BadArgumentsNameTheArgument()
    {
        var p = new NmPattern(2, 4);
        var soft = new float[12];
        var mask = new float[8];
        Assert.That(Assert.Throws<ArgumentException>(() => MaskLlm.Forward(Runtime, p, new float[11], 2, soft, mask, 1f, 1f, default, 0, false))!.ParamName, Is.EqualTo("gates"));
        Assert.That(Assert.Throws<ArgumentException>(() => MaskLlm.Forward(Runtime, p, new float[12], 2, soft, mask.AsSpan(1), 1f, 1f, default, 0, true))!.ParamName, Is.EqualTo("mask"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => MaskLlm.Forward(Runtime, p, new float[12], 2, soft, mask, 0f, 1f, default, 0, false))!.ParamName, Is.EqualTo("tau"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => MaskLlm.Backward(Runtime, p, soft, mask, 2, new float[12], 1f, float.NaN))!.ParamName, Is.EqualTo("kappa"));
        Assert.That(Assert.Throws<ArgumentException>(() => MaskLlm.Backward(Runtime, p, soft, mask, 2, new float[11], 1f, 1f))!.ParamName, Is.EqualTo("gateGradient"));
    }

    [Test]
    public void SrSteBackwardIsTheDenseGradientPlusDecayOfThePrunedWeights()
    {
        const int rows = 4, cols = 16;
        var w = TestData.Logits(rows * cols, seed: 9);
        var mask = new byte[w.Length];
        NmMask.Select(w, rows, cols, new NmPattern(2, 4), mask);
        var dSparse = TestData.Logits(w.Length, seed: 10);
        var dw = new float[w.Length];
        SrSte.Backward(dSparse, w, mask, 2e-4f, dw);
        for (int i = 0; i < w.Length; i++)
            Assert.That(dw[i], Is.EqualTo(dSparse[i] + 2e-4 * (1 - mask[i]) * w[i]).Within(1e-6 * (Math.Abs(dSparse[i]) + 1)), $"element {i}");
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => SrSte.Backward(dSparse, w, mask, -1f, dw))!.ParamName, Is.EqualTo("lambda"));
        Assert.That(Assert.Throws<ArgumentException>(() => SrSte.Backward(dSparse, w, mask.AsSpan(1), 0f, dw))!.ParamName, Is.EqualTo("mask"));
    }
}
