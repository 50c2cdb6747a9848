using System;
using System.Linq;
using System.Numerics;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Attention;

/// <summary>HyperAttention on every backend present: exact limits, the Gray-coded hash, the masked residual, reproducibility.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class HyperAttentionTests(Backend backend) : BackendTest(backend)
{
    private static (float[] Q, float[] K, float[] V) Inputs(AttentionShape shape, int seed) => BlockAttentionTests.Inputs(shape, seed);

    private AttentionState Run(HyperAttention attention, float[] q, float[] k, float[] v, AttentionShape shape, bool causal, ulong offset = 0)
    {
        var state = new AttentionState(shape.Rows, shape.HeadDim);
        attention.Run(Runtime, q, k, v, state.Output, state.Lse, shape, causal, offset);
        return state;
    }

    [TestCase(0, 3, 3, 45, 45)]
    [TestCase(7, 3, 3, 45, 45)]
    [TestCase(4, 4, 2, 30, 53)]
    public void OneBlockWithoutSamplingEqualsExactAttention(int bits, int heads, int kvHeads, int queries, int keys)
    {
        // r = 0 is one bucket; with r > 0 the sort only permutes rows, and unsorting must put them back.
        var shape = new AttentionShape(heads, kvHeads, queries, keys, 16);
        var (q, k, v) = Inputs(shape, seed: bits + keys);
        var attention = new HyperAttention(16, new HyperAttentionOptions { HashBits = bits, BlockSize = keys, SampleSize = 0, MinSeqLen = 0 }, new RngKey(5));
        BlockAttentionTests.Check(Run(attention, q, k, v, shape, causal: false), AttentionReference.Block(q, k, v, shape, 0.25), "one block");
    }

    [TestCase(40, 40, 7, 4096)]
    [TestCase(50, 12, 3, 64)]
    [TestCase(77, 9, 0, 100)]
    public void CausalEqualsExactCausalWhenEveryPieceIsExact(int n, int minSeqLen, int bits, int blockSize)
    {
        // n ≤ MinSeqLen: exact causal attention. Otherwise the level schedule (leaves, then off-diagonal pairs merged into
        // the lower halves) with one block per pair and no samples must rebuild exact causal attention.
        var shape = new AttentionShape(2, 1, n, n, 8);
        var (q, k, v) = Inputs(shape, seed: n);
        var attention = new HyperAttention(8, new HyperAttentionOptions { HashBits = bits, BlockSize = blockSize, SampleSize = 0, MinSeqLen = minSeqLen });
        BlockAttentionTests.Check(Run(attention, q, k, v, shape, causal: true), AttentionReference.Block(q, k, v, shape, 1 / Math.Sqrt(8), causal: true), "causal");
    }

    [Test]
    public void OutputEqualsTheFloat64PipelineAndTheMaskPreventsDoubleCounting()
    {
        // Blocks of 16 keys, 24 samples: every query's output must be attention over its diagonal block's keys plus the
        // sampled keys outside that block with logit + ln(n/s); samples inside the block are masked, not counted twice.
        var shape = new AttentionShape(2, 2, 70, 64, 12);
        var (q, k, v) = Inputs(shape, seed: 3);
        var options = new HyperAttentionOptions { HashBits = 3, BlockSize = 16, SampleSize = 24, MinSeqLen = 0 };
        var attention = new HyperAttention(12, options, new RngKey(11, 2));
        var trace = Trace(attention, q, k, v, shape, causal: false, offset: 4);
        var (batch, layout, _, _, residualOutput, residualLse) = trace.Batches.Single();
        Assert.That(layout.Blocks, Is.EqualTo(4));
        double scale = 1 / Math.Sqrt(12), weight = Math.Log(64.0 / 24);
        int inOwnBlock = 0;
        var expectedResidual = new double[layout.VirtualRows * 12];
        var expectedResidualLse = new double[layout.VirtualRows];
        var expected = new AttentionReference.State(new double[shape.QueryElements], new double[shape.Rows]);
        for (int row = 0; row < layout.VirtualRows; row++)
        {
            int vh = layout.VirtualHead[row], segment = vh / layout.Blocks, t = vh % layout.Blocks, source = layout.QueryIndex[row];
            var samples = Enumerable.Range(0, layout.Samples).Select(j => segment * layout.Samples + j).ToArray();
            inOwnBlock += samples.Count(j => layout.SamplePosition[j] / layout.KeyBlock == t);
            var offBlock = samples.Where(j => layout.SamplePosition[j] / layout.KeyBlock != t).Select(j => layout.SampleIndex[j]).ToArray();
            var (ro, rl) = AttentionReference.Row(q, (long)Math.Max(source, 0) * 12, k, v, 0, offBlock, 12, scale, _ => weight);
            Array.Copy(ro, 0, expectedResidual, row * 12, 12);
            expectedResidualLse[row] = rl;
            if (source < 0)
                continue;
            var diagonal = layout.KeyIndex.Skip(vh * layout.KeyBlock).Take(layout.KeyBlock).Where(i => i >= 0).ToArray();
            var keys = diagonal.Concat(offBlock).ToArray();
            var (o, l) = AttentionReference.Row(q, (long)source * 12, k, v, 0, keys, 12, scale, j => Array.IndexOf(diagonal, j) >= 0 ? 0 : weight);
            // A key sampled twice counts twice (with replacement): Row over a list with repeats does the same.
            Array.Copy(o, 0, expected.Output, source * 12, 12);
            expected.Lse[source] = l;
        }
        Assert.That(inOwnBlock, Is.GreaterThan(0), "some samples fall in their query's own block, so the mask matters");
        // Padding rows (a zero query, never written back) are left out of the comparison.
        var real = Enumerable.Range(0, layout.VirtualRows).Where(r => layout.QueryIndex[r] >= 0).ToArray();
        Compare.Close(real.Select(r => residualLse![r]).ToArray(), real.Select(r => expectedResidualLse[r]).ToArray(), 2e-5, 2e-5, "residual LSE (masked)");
        Compare.Close(real.SelectMany(r => residualOutput!.Skip(r * 12).Take(12)).ToArray(),
            real.SelectMany(r => expectedResidual.Skip(r * 12).Take(12)).ToArray(), 2e-5, 2e-5, "residual O (masked)", 12);
        var state = Run(attention, q, k, v, shape, causal: false, offset: 4);
        BlockAttentionTests.Check(state, expected, "HyperAttention vs its float64 pipeline");
    }

    [Test]
    public void AdjacentHashesAreBucketsOneBitApart()
    {
        for (int bits = 1; bits <= AngularLsh.MaxBits; bits++)
            for (int h = 0; h + 1 < 1 << bits; h++)
            {
                Assert.That(BitOperations.PopCount((uint)(AngularLsh.GrayCode(h) ^ AngularLsh.GrayCode(h + 1))), Is.EqualTo(1), $"r = {bits}, hash {h}");
                Assert.That(AngularLsh.GrayRank(AngularLsh.GrayCode(h)), Is.EqualTo(h));
            }
    }

    [Test]
    public void HashesMatchTheFloat64SignsAndAreIdenticalOnEveryBackend()
    {
        const int rows = 300, d = 24, bits = 7;
        var x = TestData.Logits(rows * d, 9);
        x[5 * d + 3] = float.NaN; // a NaN row: every comparison is false, bin 0
        var attention = new HyperAttention(d, new HyperAttentionOptions { HashBits = bits }, new RngKey(2));
        using var xb = Runtime.Upload<float>(x);
        using var pb = Runtime.Upload<float>(attention.Projection);
        var hashes = HyperAttentionSteps.Hash(Runtime, xb, pb, rows, d, bits);
        var p = attention.Projection.ToArray();
        for (int r = 0; r < rows; r++)
        {
            int bin = 0;
            for (int j = 0; j < bits; j++)
            {
                double dot = 0;
                for (int c = 0; c < d; c++)
                    dot += (double)x[r * d + c] * p[c * bits + j];
                if (dot > 0) bin |= 1 << j;
            }
            Assert.That(hashes[r], Is.EqualTo(AngularLsh.GrayRank(bin)), $"row {r}");
        }
    }

    [Test]
    public void TheCountingSortIsStable()
    {
        var random = new System.Random(4);
        var hashes = Enumerable.Range(0, 1000).Select(_ => random.Next(16)).ToArray();
        var order = new int[hashes.Length];
        AngularLsh.StableSort(hashes, order, 4, new int[17]);
        Assert.That(order, Is.EqualTo(Enumerable.Range(0, hashes.Length).OrderBy(i => hashes[i]).ToArray()));
    }

    [Test]
    public void TheSameKeyGivesTheSameResultOnEveryBackend()
    {
        // The decisions (buckets, sort, samples) are integer and host-side, so they match the cpu backend's exactly; the
        // attention itself matches to float rounding.
        var shape = new AttentionShape(2, 1, 90, 90, 16);
        var (q, k, v) = Inputs(shape, seed: 12);
        var options = new HyperAttentionOptions { HashBits = 4, BlockSize = 16, SampleSize = 8, MinSeqLen = 40 };
        var attention = new HyperAttention(16, options, new RngKey(99, 3));
        var here = Trace(attention, q, k, v, shape, causal: true, offset: 7);
        using var cpu = Backends.Create(Backend.Cpu);
        var onCpu = new HyperAttentionTrace();
        var reference = new AttentionState(shape.Rows, 16);
        Execute(cpu, attention, q, k, v, reference, shape, causal: true, offset: 7, onCpu);
        Assert.That(here.Batches.Count, Is.EqualTo(onCpu.Batches.Count));
        for (int i = 0; i < here.Batches.Count; i++)
        {
            Assert.That(here.Batches[i].Layout.QueryIndex, Is.EqualTo(onCpu.Batches[i].Layout.QueryIndex));
            Assert.That(here.Batches[i].Layout.KeyIndex, Is.EqualTo(onCpu.Batches[i].Layout.KeyIndex));
            Assert.That(here.Batches[i].Layout.SampleIndex, Is.EqualTo(onCpu.Batches[i].Layout.SampleIndex));
        }
        Assert.That(here.Batches.Any(b => b.Layout.Samples > 0), "the schedule has a sampled batch");
        var state = Run(attention, q, k, v, shape, causal: true, offset: 7);
        Compare.Close(state.Output, reference.Output.Select(x => (double)x).ToArray(), 1e-5, 1e-5, "same key, cpu vs " + Backend, 16);
        var again = Run(attention, q, k, v, shape, causal: true, offset: 7);
        Assert.That(again.Output, Is.EqualTo(state.Output), "deterministic");
        var other = Run(attention, q, k, v, shape, causal: true, offset: 8);
        Assert.That(other.Output, Is.Not.EqualTo(state.Output), "another offset draws other samples");
    }

    [Test]
    public void TheDeclaredD64KernelsGiveTheLibraryResult()
    {
        // HyperAttention64 runs its blocks on block-attention kernels specialised for d = 64: same decisions, same result.
        var shape = new AttentionShape(1, 1, 90, 90, 64);
        var (q, k, v) = Inputs(shape, seed: 8);
        var options = new HyperAttentionOptions { HashBits = 3, BlockSize = 16, SampleSize = 8, MinSeqLen = 0 };
        var declared = HyperAttention64.Create(options, new RngKey(6));
        Assert.That(declared.BlockKernel, Is.SameAs(HyperAttention64.BlockKernel));
        var a = Run(declared, q, k, v, shape, causal: false);
        var b = Run(new HyperAttention(64, options, new RngKey(6)), q, k, v, shape, causal: false);
        Compare.Close(a.Output, b.Output.Select(x => (double)x).ToArray(), 1e-5, 1e-6, "HyperAttention64 vs HyperAttention(64)", 64);
        Assert.Throws<ArgumentException>(() => _ = new HyperAttention(32, options, default, HyperAttention64.BlockKernel));
    }

    [Test]
    public void SampleSizeAboveTheKeysIsAllowed()
    {
        var shape = new AttentionShape(1, 1, 40, 40, 8);
        var (q, k, v) = Inputs(shape, seed: 2);
        var attention = new HyperAttention(8, new HyperAttentionOptions { HashBits = 2, BlockSize = 8, SampleSize = 100, MinSeqLen = 0 });
        var state = Run(attention, q, k, v, shape, causal: false);
        Assert.That(state.Output.All(float.IsFinite) && state.Lse.All(float.IsFinite));
    }

    internal HyperAttentionTrace Trace(HyperAttention attention, float[] q, float[] k, float[] v, AttentionShape shape, bool causal, ulong offset)
    {
        var trace = new HyperAttentionTrace();
        Execute(Runtime, attention, q, k, v, new AttentionState(shape.Rows, shape.HeadDim), shape, causal, offset, trace);
        return trace;
    }

    internal static void Execute(KernelRuntime runtime, HyperAttention attention, float[] q, float[] k, float[] v, AttentionState state,
        AttentionShape shape, bool causal, ulong offset, HyperAttentionTrace trace)
    {
        using var qb = runtime.Upload<float>(q);
        using var kb = runtime.Upload<float>(k);
        using var vb = runtime.Upload<float>(v);
        using var ob = runtime.Allocate<float>(shape.QueryElements);
        using var lb = runtime.Allocate<float>(shape.Rows);
        attention.Execute(runtime, qb, kb, vb, ob, lb, shape, causal, offset, trace);
        ob.CopyTo(state.Output);
        lb.CopyTo(state.Lse);
    }
}
