using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using Kernels.Tests.Statistics;
using NUnit.Framework;

namespace Kernels.Tests.Sampling;

/// <summary>Gumbel-softmax forward (soft, hard, straight-through) and backward on every backend present.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class GumbelSoftmaxTests(Backend backend) : BackendTest(backend)
{
    [TestCase(3, 7, 0.5f, 1f)]
    [TestCase(4, 6, 0.1f, 1000f)]   // MaskLLM-like: 6 candidate masks, κ = 1e3, τ = 0.1
    [TestCase(2, 1029, 2f, 1f)]
    public void ForwardMatchesTheReferenceWithInjectedNoise(int rows, int cols, float tau, float scale)
    {
        var x = TestData.Logits(rows * cols, seed: cols, scale: scale > 1 ? 0.01 : 2.0);
        var noise = Noise(rows * cols, seed: rows);
        var soft = Forward(GumbelSoftmax.Kernel, x, rows, cols, tau, scale, noise).Output;
        var (hard, _) = Forward(GumbelSoftmaxHard.Kernel, x, rows, cols, tau, scale, noise);
        var (straight, straightSoft) = Forward(GumbelSoftmaxStraightThrough.Kernel, x, rows, cols, tau, scale, noise);
        var expected = Reference(x, noise, rows, cols, tau, scale);
        Compare.Close(soft, expected, 2e-5, 1e-30, "soft", cols);
        Compare.Close(straightSoft!, expected, 2e-5, 1e-30, "straight-through soft", cols);
        for (int r = 0; r < rows; r++)
        {
            int argmax = Enumerable.Range(0, cols).OrderByDescending(c => x[r * cols + c] * scale + noise[r * cols + c]).ThenBy(c => c).First();
            for (int c = 0; c < cols; c++)
            {
                Assert.That(hard[r * cols + c], Is.EqualTo(c == argmax ? 1f : 0f), $"hard row {r} col {c}");
                Assert.That(straight[r * cols + c], Is.EqualTo(c == argmax ? 1f : 0f), $"straight-through row {r} col {c}");
            }
        }
    }

    [Test]
    public void LargeLogitScalesDoNotOverflow()
    {
        // κ/τ = 1e5 with gates of order 1 (MaskLLM's end of schedule is κ = 1e4, τ = 0.1): exponents reach −1e5.
        const int rows = 8, cols = 6;
        var x = TestData.Logits(rows * cols, seed: 2, scale: 1.0);
        var (y, _) = Forward(GumbelSoftmax.Kernel, x, rows, cols, 0.1f, 1e4f, null);
        Assert.That(y, Is.All.Matches<float>(float.IsFinite));
        for (int r = 0; r < rows; r++)
            Assert.That(y.Skip(r * cols).Take(cols).Sum(), Is.EqualTo(1f).Within(1e-5f));
        var dy = TestData.Logits(rows * cols, seed: 5);
        var dx = new float[rows * cols];
        GumbelSoftmaxBackward.Run(Runtime, y, dy, dx, rows, cols, 0.1f, scale: 1e4f);
        Assert.That(dx, Is.All.Matches<float>(float.IsFinite));
    }

    [Test]
    public void HardSamplesFollowSoftmaxOfTheScaledLogits()
    {
        var row = new[] { 0.3f, -0.2f, 0.1f, 0.9f, -1.0f, 0.0f, 0.4f, -0.6f };
        const float scale = 2f;
        int rows = IsEmulated ? 2000 : 50000;
        var x = SamplerReference.Repeat(row, rows);
        var output = new float[x.Length];
        GumbelSoftmaxHard.Run(Runtime, x, output, rows, row.Length, 0.5f, new RngKey(21), 3, scale);
        var drawn = Enumerable.Range(0, rows).Select(r => Array.IndexOf(output, 1f, r * row.Length, row.Length) - r * row.Length).ToArray();
        Assert.That(output.Count(v => v == 1f), Is.EqualTo(rows), "one 1 per row");
        ChiSquare.AssertFits(ChiSquare.Histogram(drawn, row.Length), ExactLaw.Softmax(row, 1.0 / scale), $"hard samples on {Backend.ToName()}");
    }

    [TestCase(0.7f, 1f)]
    [TestCase(0.5f, 3f)]
    public void BackwardMatchesTheFormulaAndFiniteDifferences(float tau, float scale)
    {
        const int rows = 3, cols = 11;
        var x = TestData.Logits(rows * cols, seed: 9, scale: 1.0);
        var noise = Noise(rows * cols, seed: 4);
        var dy = TestData.Logits(rows * cols, seed: 13, scale: 1.0);
        var (y, _) = Forward(GumbelSoftmax.Kernel, x, rows, cols, tau, scale, noise);
        var dx = new float[rows * cols];
        GumbelSoftmaxBackward.Run(Runtime, y, dy, dx, rows, cols, tau, scale: scale);

        // The formula, in double, from the kernel's own y.
        var formula = new double[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            double dot = Enumerable.Range(0, cols).Sum(c => (double)y[r * cols + c] * dy[r * cols + c]);
            for (int c = 0; c < cols; c++)
                formula[r * cols + c] = scale / tau * y[r * cols + c] * (dy[r * cols + c] - dot);
        }
        Compare.Close(dx, formula, 1e-5, 1e-6, "backward vs formula", cols);

        // Central finite differences of L(x) = Σ dy ⊙ y(x), with the noise held fixed, through the float64 reference.
        const double h = 1e-4;
        for (int i = 0; i < rows * cols; i++)
        {
            var plus = (float[])x.Clone();
            var minus = (float[])x.Clone();
            double step = h / scale;
            plus[i] = (float)(x[i] + step);
            minus[i] = (float)(x[i] - step);
            double actualStep = ((double)plus[i] - minus[i]) / 2;
            double lp = Loss(Reference(plus, noise, rows, cols, tau, scale), dy);
            double lm = Loss(Reference(minus, noise, rows, cols, tau, scale), dy);
            double numeric = (lp - lm) / (2 * actualStep);
            Assert.That(dx[i], Is.EqualTo(numeric).Within(2e-3 * Math.Max(1.0, Math.Abs(numeric))), $"finite difference at {i}");
        }
    }

    [Test]
    public void BadInputHasItsDocumentedOutcome()
    {
        const int rows = 3, cols = 5;
        var x = TestData.Logits(rows * cols, seed: 1);
        x[cols + 1] = float.NaN;
        for (int c = 0; c < cols; c++) x[2 * cols + c] = float.NegativeInfinity;
        var output = new float[rows * cols];
        GumbelSoftmax.Run(Runtime, x, output, rows, cols, 1f, new RngKey(3), 0);
        Assert.That(output.Take(cols).Sum(), Is.EqualTo(1f).Within(1e-5f));
        Assert.That(output.Skip(cols).Take(cols), Is.All.NaN);
        Assert.That(output.Skip(2 * cols), Is.All.EqualTo(0f));
        GumbelSoftmaxHard.Run(Runtime, x, output, rows, cols, 1f, new RngKey(3), 0);
        Assert.That(output.Take(cols).Count(v => v == 1f), Is.EqualTo(1));
        Assert.That(output.Skip(2 * cols), Is.All.EqualTo(0f), "nothing to draw: no one-hot");

        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => GumbelSoftmax.Run(Runtime, x, output, rows, cols, 0f, default, 0))!.ParamName, Is.EqualTo("tau"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => GumbelSoftmax.Run(Runtime, x, output, rows, cols, 1f, default, 0, -1f))!.ParamName, Is.EqualTo("scale"));
        Assert.That(Assert.Throws<ArgumentException>(() => GumbelSoftmaxStraightThrough.Run(Runtime, x, output, new float[2], rows, cols, 1f, default, 0))!.ParamName, Is.EqualTo("soft"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => GumbelSoftmaxBackward.Run(Runtime, x, x, output, rows, cols, -2f))!.ParamName, Is.EqualTo("tau"));
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private static float[] Noise(int count, int seed)
    {
        var random = new System.Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)-Math.Log(-Math.Log(random.NextDouble() * 0.998 + 0.001))).ToArray();
    }

    /// <summary>softmax((κ·x + g)/τ) per row in double.</summary>
    private static double[] Reference(float[] x, float[] noise, int rows, int cols, float tau, float scale)
    {
        var y = new double[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            var s = Enumerable.Range(0, cols).Select(c => ((double)x[r * cols + c] * scale + noise[r * cols + c]) / tau).ToArray();
            double max = s.Max();
            double sum = s.Sum(v => Math.Exp(v - max));
            for (int c = 0; c < cols; c++)
                y[r * cols + c] = Math.Exp(s[c] - max) / sum;
        }
        return y;
    }

    private static double Loss(double[] y, float[] dy) => y.Select((v, i) => v * dy[i]).Sum();

    private (float[] Output, float[]? Soft) Forward(GumbelSoftmaxSampler kernel, float[] x, int rows, int cols, float tau, float scale, float[]? noise)
    {
        using var logits = Runtime.Upload<float>(x);
        using var output = Runtime.Allocate<float>(rows * cols);
        using var soft = kernel.Mode == GumbelSoftmaxMode.StraightThrough ? Runtime.Allocate<float>(rows * cols) : null;
        using var noiseBuffer = noise is null ? null : Runtime.Upload<float>(noise);
        kernel.LaunchCore(Runtime, logits, output, soft, rows, cols, tau, null, new RngKey(8), null, 0, scale, noiseBuffer, null);
        return (output.ToArray(), soft?.ToArray());
    }
}
