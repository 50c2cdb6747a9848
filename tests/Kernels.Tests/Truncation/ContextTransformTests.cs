using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using Kernels.Tests.Sampling;
using NUnit.Framework;

namespace Kernels.Tests.Truncation;

/// <summary>
/// Transforms with a per-request context (a repetition penalty reading per-token counts and a per-row θ) fused into the
/// decode sampler and the truncation kernel, on every backend present.
/// </summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class ContextTransformTests(Backend backend) : BackendTest(backend)
{
    private const int Rows = 7;

    [Test]
    public void TheFusedPenaltySamplesWhatTheSamplerDrawsFromPenalisedLogits()
    {
        // Exact: the penalty is exactly rounded (x/θ, x·θ) on both targets, so the fused sampler must draw the very
        // tokens the plain sampler draws from logits penalised beforehand, with the same keys.
        int cols = IsEmulated ? 301 : 4099;
        var (x, counts, penalties) = Inputs(cols, seed: 3);
        var temperatures = Enumerable.Range(0, Rows).Select(r => 0.7f + 0.1f * r).ToArray();
        var k = Enumerable.Range(0, Rows).Select(r => r % 3 == 0 ? 0 : 20 + r).ToArray();
        var p = Enumerable.Range(0, Rows).Select(r => r % 2 == 0 ? 1f : 0.9f).ToArray();
        var keys = Enumerable.Range(0, Rows).Select(r => new RngKey(900 + (ulong)r)).ToArray();
        var penalised = Penalised(x, counts, penalties, cols);
        for (ulong offset = 0; offset < (IsEmulated ? 2UL : 20UL); offset++)
        {
            var fused = new int[Rows];
            var plain = new int[Rows];
            RepetitionPenaltySampler.Run(Runtime, x, fused, Rows, cols, temperatures, k, p, counts, penalties, keys, offset);
            DecodeSample.Run(Runtime, penalised, plain, Rows, cols, temperatures, k, p, new float[Rows], keys, offset);
            Assert.That(fused, Is.EqualTo(plain), $"offset {offset}");
        }
    }

    [Test]
    public void TheFusedPenaltyTruncatesThePenalisedLaw()
    {
        int cols = IsEmulated ? 257 : 2049;
        var (x, counts, penalties) = Inputs(cols, seed: 8);
        var temperatures = Enumerable.Repeat(0.9f, Rows).ToArray();
        var minP = Enumerable.Range(0, Rows).Select(r => 0.02f * r).ToArray();
        var output = new float[Rows * cols];
        var status = new int[Rows];
        RepetitionPenaltyTruncation.Run(Runtime, x, output, Rows, cols, temperatures, minP, counts, penalties, status);
        var penalised = Penalised(x, counts, penalties, cols);
        for (int r = 0; r < Rows; r++)
        {
            Assert.That((SampleStatus)status[r], Is.EqualTo(SampleStatus.Sampled));
            var kept = TruncationReference.Law(penalised.AsSpan(r * cols, cols), 0.9, 0, 1.0, minP[r]);
            Assume.That(kept.Margin, Is.GreaterThan(1e-5));
            for (int c = 0; c < cols; c++)
                Assert.That(output[r * cols + c], Is.EqualTo(kept.Law[c]).Within(1e-5 * kept.Law[c] + 1e-9), $"row {r} column {c}");
        }
        // The penalty moved mass (row 1: θ = 7/6): penalised tokens' probabilities differ from the unpenalised law's.
        var unpenalised = TruncationReference.Law(x.AsSpan(cols, cols), 0.9, 0, 1.0, minP[1]);
        int moved = Enumerable.Range(0, cols).Count(c => counts[cols + c] > 0 && Math.Abs(output[cols + c] - unpenalised.Law[c]) > 1e-3 * unpenalised.Law[c]);
        Assert.That(moved, Is.GreaterThan(0));
    }

    [Test]
    public void ContextBuffersAreCheckedBeforeLaunch()
    {
        const int cols = 16;
        var x = new float[Rows * cols];
        var tokens = Enumerable.Repeat(-5, Rows).ToArray();
        var ones = Enumerable.Repeat(1f, Rows).ToArray();
        var k = new int[Rows];
        var keys = new RngKey[Rows];
        Assert.That(Assert.Throws<ArgumentException>(() => RepetitionPenaltySampler.Run(Runtime, x, tokens, Rows, cols, ones, k, ones,
            new float[Rows * cols - 1], ones, keys, 0))!.ParamName, Is.EqualTo("context"));
        Assert.That(Assert.Throws<ArgumentException>(() => RepetitionPenaltySampler.Run(Runtime, x, tokens, Rows, cols, ones, k, ones,
            new float[Rows * cols], new float[1], keys, 0))!.ParamName, Is.EqualTo("parameters"));
        Assert.That(tokens, Is.All.EqualTo(-5));
        // The truncation kernel fills rows before it reads the context: an output overlapping the context is refused.
        var shared = new float[Rows * cols];
        Assert.That(Assert.Throws<ArgumentException>(() => RepetitionPenaltyTruncation.Run(Runtime, x, shared, Rows, cols, ones, new float[Rows],
            shared, ones))!.ParamName, Is.EqualTo("output"));
        using var logits = Runtime.Upload(x);
        using var both = Runtime.Allocate<float>(Rows * cols);
        using var perRow = Runtime.Upload(ones);
        var aliased = Assert.Throws<ArgumentException>(() => RepetitionPenaltyTruncation.Launch(Runtime, logits, both, Rows, cols, perRow, perRow,
            both, perRow))!;
        Assert.That(aliased.ParamName, Is.EqualTo("output"));
        Assert.That(aliased.Message, Does.Contain("same buffer as context"), "the message names the buffer output aliases");
    }

    // Logits, per-token counts (0, 1 or 2; a third of the tokens seen) and per-row penalties θ ∈ [1, 2].
    private static (float[] X, float[] Counts, float[] Penalties) Inputs(int cols, int seed)
    {
        var random = new System.Random(seed);
        var x = SamplerReference.Logits(Rows, cols, seed, scale: 2.0);
        var counts = Enumerable.Range(0, Rows * cols).Select(_ => random.Next(3) == 0 ? (float)random.Next(1, 3) : 0f).ToArray();
        var penalties = Enumerable.Range(0, Rows).Select(r => 1f + r / 6f).ToArray();
        return (x, counts, penalties);
    }

    private static float[] Penalised(float[] x, float[] counts, float[] penalties, int cols) =>
        x.Select((v, i) => RepetitionPenaltySampler.Penalise(v, i % cols, counts[i], penalties[i / cols])).ToArray();
}
