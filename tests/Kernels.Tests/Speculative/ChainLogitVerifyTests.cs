using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Speculative;

/// <summary>A chain verifier on logits with a scalar temperature, min-p and a column-dependent transform, one key per launch.</summary>
[SpeculativeKernel(SpeculativeKind.Chain, Temperature = TemperatureMode.Scalar, MinP = true, Transform = nameof(Penalise))]
public static partial class ChainVerifyPenalised
{
    /// <summary>Logits capped at 6, every fifth column penalised by 3.</summary>
    public static float Penalise(float x, int column) => MathF.Min(x, 6f) - (column % 5 == 0 ? 3f : 0f);
}

/// <summary>
/// Chain verification on logits (<see cref="ChainLogitVerifier"/>) on every backend present: with the same keys, the
/// decisions of the plain verifier on the probabilities its pipeline writes for each row (the request's parameters
/// repeated over its rows), for per-request and per-launch parameters, a fused transform, odd shapes and bad rows; the
/// emulators take the cpu backend's decisions for the same keys.
/// </summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class ChainLogitVerifyTests(Backend backend) : BackendTest(backend)
{
    /// <summary>Target logits [B, L+1, V], draft logits near them [B, L, V], and drafted tokens (from the draft's softmax, some anywhere).</summary>
    private static (float[] Target, float[] Draft, int[] Tokens) Logits(int batch, int length, int cols, int seed)
    {
        var random = new System.Random(seed);
        float Normal() => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        var target = Enumerable.Range(0, batch * (length + 1) * cols).Select(_ => 3f * Normal()).ToArray();
        var draft = new float[batch * length * cols];
        var tokens = new int[batch * length];
        for (int b = 0; b < batch; b++)
        {
            for (int k = 0; k < length; k++)
            {
                var row = draft.AsSpan((b * length + k) * cols, cols);
                for (int v = 0; v < cols; v++)
                    row[v] = target[(b * (length + 1) + k) * cols + v] + 0.8f * Normal();
                float max = row.ToArray().Max();
                var weights = row.ToArray().Select(x => (float)Math.Exp(x - max)).ToArray();
                tokens[b * length + k] = random.Next(4) == 0 ? random.Next(cols) : SpeculativeReference.Sample(weights, random);
            }
        }
        return (target, draft, tokens);
    }

    /// <summary>The request's parameters repeated over its <paramref name="perRequest"/> rows.</summary>
    private static T[] Repeat<T>(T[] values, int perRequest) => values.SelectMany(v => Enumerable.Repeat(v, perRequest)).ToArray();

    [TestCase(5, 3, 1029)]
    [TestCase(3, 1, 7)]
    [TestCase(4, 0, 33)]
    [TestCase(7, 4, 300)]
    public void PerRequestStagesGiveThePlainVerifiersDecisionsOnThePipelinesProbabilities(int batch, int length, int cols)
    {
        if (IsEmulated)
            (batch, cols) = (Math.Min(batch, 2), Math.Min(cols, 33)); // a row costs a group of threads there
        var (target, draft, tokens) = Logits(batch, length, cols, batch * 100 + length * 10 + cols);
        var temperatures = Enumerable.Range(0, batch).Select(b => 0.6f + 0.35f * (b % 4)).ToArray();
        var topK = Enumerable.Range(0, batch).Select(b => b % 3 == 0 ? 0 : 1 + b * 7 % cols).ToArray();
        var topP = Enumerable.Range(0, batch).Select(b => b % 2 == 0 ? 0.9f : 1f).ToArray();
        var keys = Enumerable.Range(0, batch).Select(b => new RngKey(0xC0FFEEUL + (ulong)b, (uint)b)).ToArray();
        var accepted = new int[batch];
        var emitted = new int[batch * (length + 1)];
        Assert.That(ChainVerifyLogits.Run(Runtime, target, draft, tokens, accepted, emitted, batch, length, cols, temperatures, topK, topP, keys, 6), Is.EqualTo(7UL));

        // The pipeline row by row, then the plain verifier.
        var pipeline = ChainVerifyLogits.Kernel.Pipeline;
        var p = new float[target.Length];
        var q = new float[draft.Length];
        pipeline.Run(Runtime, target, p, batch * (length + 1), cols, temperatures: Repeat(temperatures, length + 1), topK: Repeat(topK, length + 1), topP: Repeat(topP, length + 1));
        if (length > 0)
            pipeline.Run(Runtime, draft, q, batch * length, cols, temperatures: Repeat(temperatures, length), topK: Repeat(topK, length), topP: Repeat(topP, length));
        var expectedAccepted = new int[batch];
        var expectedEmitted = new int[batch * (length + 1)];
        ChainVerify.Run(Runtime, p, q, tokens, expectedAccepted, expectedEmitted, batch, length, cols, keys, 6);
        Assert.That(accepted, Is.EqualTo(expectedAccepted), "accepted counts");
        Assert.That(emitted, Is.EqualTo(expectedEmitted), "emitted tokens");
        Assert.That(accepted, Is.All.InRange(0, length), "every request is valid");
        if (length > 1 && !IsEmulated)
            Assert.That(accepted.Distinct().Count(), Is.GreaterThan(1), "several outcomes");

        if (IsEmulated)
        {
            // Same keys, the cpu backend's (fused) decisions; on ILGPU, Run is Launch on uploaded buffers.
            using var cpu = Backends.Create(Backend.Cpu);
            var cpuAccepted = new int[batch];
            var cpuEmitted = new int[batch * (length + 1)];
            ChainVerifyLogits.Run(cpu, target, draft, tokens, cpuAccepted, cpuEmitted, batch, length, cols, temperatures, topK, topP, keys, 6);
            Assert.That(accepted, Is.EqualTo(cpuAccepted), "the cpu backend's accepted counts");
            Assert.That(emitted, Is.EqualTo(cpuEmitted), "the cpu backend's tokens");
            return;
        }

        // Launch on buffers agrees with Run (separate paths on cpu).
        using var buffers = new Buffers(Runtime, target, draft, tokens, batch, length, temperatures, topK, topP, keys);
        var launched = buffers.Launch(Runtime, batch, length, cols, 6);
        Assert.That(launched.Accepted, Is.EqualTo(accepted));
        Assert.That(launched.Emitted, Is.EqualTo(emitted));
    }

    /// <summary>One <see cref="ChainVerifyLogits"/> launch's buffers.</summary>
    private sealed class Buffers(KernelRuntime runtime, float[] target, float[] draft, int[] tokens, int batch, int length, float[] temperatures,
        int[] topK, float[] topP, RngKey[] keys) : IDisposable
    {
        public readonly KernelBuffer<float> Target = runtime.Upload<float>(target), Draft = runtime.Upload<float>(draft.Length == 0 ? new float[1] : draft);
        public readonly KernelBuffer<int> Tokens = runtime.Upload<int>(tokens.Length == 0 ? new int[1] : tokens), Accepted = runtime.Allocate<int>(batch),
            Emitted = runtime.Allocate<int>(batch * (length + 1)), TopK = runtime.Upload<int>(topK);
        public readonly KernelBuffer<float> Temperatures = runtime.Upload<float>(temperatures), TopP = runtime.Upload<float>(topP);
        public readonly KernelBuffer<RngKey> Keys = runtime.Upload<RngKey>(keys);

        public (int[] Accepted, int[] Emitted) Launch(KernelRuntime runtime, int batch, int length, int cols, ulong offset)
        {
            ChainVerifyLogits.Launch(runtime, Target, Draft, Tokens, Accepted, Emitted, batch, length, cols, Temperatures, TopK, TopP, Keys, offset);
            return (Accepted.ToArray(), Emitted.ToArray());
        }

        public void Dispose()
        {
            foreach (var buffer in new IDisposable[] { Target, Draft, Tokens, Accepted, Emitted, TopK, Temperatures, TopP, Keys })
                buffer.Dispose();
        }
    }

    [Test]
    public void AFusedTransformScalarTemperatureAndMinPGiveThePlainVerifiersDecisions()
    {
        int batch = IsEmulated ? 4 : 6, cols = IsEmulated ? 67 : 517;
        const int length = 3;
        var (target, draft, tokens) = Logits(batch, length, cols, 12);
        var minP = Enumerable.Range(0, batch).Select(b => 0.02f * b).ToArray();
        var key = new RngKey(91, 3);
        var accepted = new int[batch];
        var emitted = new int[batch * (length + 1)];
        ChainVerifyPenalised.Run(Runtime, target, draft, tokens, accepted, emitted, batch, length, cols, 0.8f, minP, key, 2);
        var pipeline = ChainVerifyPenalised.Kernel.Pipeline;
        var p = new float[target.Length];
        var q = new float[draft.Length];
        pipeline.Run(Runtime, target, p, batch * (length + 1), cols, 0.8f, minP: Repeat(minP, length + 1));
        pipeline.Run(Runtime, draft, q, batch * length, cols, 0.8f, minP: Repeat(minP, length));
        Assert.That(p.Where((_, i) => i % cols % 5 == 0).Average(), Is.LessThan(0.5 * p.Where((_, i) => i % cols % 5 != 0).Average()), "the transform is applied");
        var expectedAccepted = new int[batch];
        var expectedEmitted = new int[batch * (length + 1)];
        ChainVerifyBatch.Run(Runtime, p, q, tokens, expectedAccepted, expectedEmitted, batch, length, cols, key, 2);
        Assert.That(accepted, Is.EqualTo(expectedAccepted), "accepted counts");
        Assert.That(emitted, Is.EqualTo(expectedEmitted), "emitted tokens");
        Assert.That(accepted.Distinct().Count(), Is.GreaterThan(1), "several outcomes");
    }

    /// <summary>
    /// Bad rows: a NaN logit in a row verification reads, or an invalid temperature in a device buffer, makes that request
    /// invalid (−1) and leaves the others; host spans throw for invalid parameters, naming them.
    /// </summary>
    [Test]
    public void BadRowsAndParametersHaveTheirDocumentedOutcome()
    {
        const int batch = 4, length = 2, cols = 64;
        var (target, draft, tokens) = Logits(batch, length, cols, 3);
        target[(1 * (length + 1) + 0) * cols + 5] = float.NaN; // request 1: NaN in p_0, always read
        var temperatures = new[] { 1f, 1f, 0f, 1f };           // request 2: temperature 0
        var topK = new int[batch];
        var topP = Enumerable.Repeat(1f, batch).ToArray();
        var keys = Enumerable.Range(0, batch).Select(b => new RngKey((ulong)b)).ToArray();
        using var buffers = new Buffers(Runtime, target, draft, tokens, batch, length, temperatures, topK, topP, keys);
        var (accepted, emitted) = buffers.Launch(Runtime, batch, length, cols, 0);
        foreach (int b in new[] { 1, 2 })
        {
            Assert.That(accepted[b], Is.EqualTo(-1), $"request {b} is invalid");
            Assert.That(emitted.Skip(b * (length + 1)).Take(length + 1), Is.All.EqualTo(-1));
        }
        foreach (int b in new[] { 0, 3 })
            Assert.That(accepted[b], Is.InRange(0, length), $"request {b} is verified");

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ChainVerifyLogits.Run(Runtime, target, draft, tokens, new int[batch], new int[batch * (length + 1)],
            batch, length, cols, temperatures, topK, topP, keys, 0));
        Assert.That(e!.ParamName, Is.EqualTo("temperatures"));
        using var shortBuffer = Runtime.Allocate<float>(batch - 1);
        var b0 = buffers;
        var shortTopP = Assert.Throws<ArgumentException>(() => ChainVerifyLogits.Launch(Runtime, b0.Target, b0.Draft, b0.Tokens, b0.Accepted, b0.Emitted,
            batch, length, cols, b0.Temperatures, b0.TopK, shortBuffer, b0.Keys, 0));
        Assert.That(shortTopP!.ParamName, Is.EqualTo("topP"));
        var shortLogits = Assert.Throws<ArgumentException>(() => b0.Launch(Runtime, batch, length, cols + 1, 0));
        Assert.That(shortLogits!.ParamName, Is.EqualTo("targetLogits"));
    }
}
