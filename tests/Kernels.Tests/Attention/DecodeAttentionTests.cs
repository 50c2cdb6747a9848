using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Attention;

/// <summary>Decode attention on every backend present against exact float64 attention over each sequence's keys.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class DecodeAttentionTests(Backend backend) : BackendTest(backend)
{
    internal static DecodeAttentionKernel KernelFor(int d, bool sink) => (d, sink) switch
    {
        (64, false) => DecodeAttention64.Kernel,
        (128, false) => DecodeAttention128.Kernel,
        (64, true) => DecodeAttentionSink64.Kernel,
        (128, true) => DecodeAttentionSink128.Kernel,
        _ => throw new ArgumentException($"no library decode kernel for d = {d}"),
    };

    // Odd lengths, lengths not a multiple of the 256-key chunk, GQA ratios 1, 4 and 8, d 64 and 128, several splits.
    [TestCase(1, 1, 1, 1, 64)]
    [TestCase(1, 4, 1, 1000, 128)]
    [TestCase(2, 8, 1, 777, 64)]
    [TestCase(3, 8, 2, 301, 128)]
    [TestCase(2, 6, 6, 257, 64)]
    [TestCase(1, 32, 4, 2100, 128)]
    public void EqualsExactAttention(int batch, int heads, int kvHeads, int capacity, int d)
    {
        if (IsEmulated && capacity > 1000)
            capacity = 611;
        var shape = new DecodeShape(batch, heads, kvHeads, capacity, d);
        var lengths = Enumerable.Range(0, batch).Select(b => b == 0 ? capacity : (capacity * (b + 1) / (batch + 2)) | 1).ToArray();
        foreach (bool sink in new[] { false, true })
        {
            var (q, k, v) = Inputs(shape, seed: heads + capacity + d);
            var sinks = TestData.Logits(heads, seed: 3, scale: 2);
            var state = new AttentionState(shape.Rows, d);
            KernelFor(d, sink).Run(Runtime, q, k, v, state.Output, state.Lse, shape, lengths, sink ? sinks : default);
            BlockAttentionTests.Check(state, Reference(q, k, v, shape, lengths, sink ? sinks : null), $"decode, sink {sink}");
        }
    }

    [Test]
    public void BuffersAndSpansAgreeAndLengthZeroIsEmptyOrTheSink()
    {
        var shape = new DecodeShape(3, 4, 2, 300, 64);
        var (q, k, v) = Inputs(shape, seed: 4);
        var lengths = new[] { 0, 300, 17 };
        var sinks = new[] { 0.5f, -1f, 3f, float.NegativeInfinity };
        var state = new AttentionState(shape.Rows, 64);
        DecodeAttentionSink64.Run(Runtime, q, k, v, state.Output, state.Lse, shape, lengths, sinks);
        BlockAttentionTests.Check(state, Reference(q, k, v, shape, lengths, sinks), "decode with sinks");
        Assert.That(state.Lse.Take(4), Is.EqualTo(sinks), "no key: LSE is the sink");
        Assert.That(state.Output.Take(4 * 64), Is.All.EqualTo(0f));

        using var qb = Runtime.Upload<float>(q);
        using var kb = Runtime.Upload<float>(k);
        using var vb = Runtime.Upload<float>(v);
        using var lb = Runtime.Upload<int>(lengths);
        using var sb = Runtime.Upload<float>(sinks);
        using var ob = Runtime.Allocate<float>(shape.QueryElements);
        using var eb = Runtime.Allocate<float>(shape.Rows);
        DecodeAttentionSink64.Launch(Runtime, qb, kb, vb, ob, eb, shape, lb, sb);
        Assert.That(ob.ToArray(), Is.EqualTo(state.Output));
        Assert.That(eb.ToArray(), Is.EqualTo(state.Lse));

        var plain = new AttentionState(shape.Rows, 64);
        DecodeAttention64.Run(Runtime, q, k, v, plain.Output, plain.Lse, shape, lengths);
        Assert.That(plain.Lse.Take(4), Is.All.EqualTo(float.NegativeInfinity), "no key, no sink: the empty state");
        Assert.That(plain.Output.Take(4 * 64), Is.All.EqualTo(0f));
    }

    [Test]
    public void SplitsMergeToTheSameStateAsOneBlockAttentionCall()
    {
        // The decode kernel's chunks and splits against block attention over the same keys (one query per head).
        var shape = new DecodeShape(1, 8, 2, 1500, 128);
        var (q, k, v) = Inputs(shape, seed: 12);
        var decode = new AttentionState(shape.Rows, 128);
        DecodeAttention128.Run(Runtime, q, k, v, decode.Output, decode.Lse, shape, new[] { 1400 });
        var block = new AttentionState(shape.Rows, 128);
        // Block layout [Heads, Queries = 1, d] for Q and [KvHeads, Keys, d] for the cache: the same memory.
        BlockAttention.Run(Runtime, q, k, v, block, new AttentionShape(8, 2, 1, 1500, 128), new BlockAttentionOptions { KeyLength = 1400 });
        Compare.Close(decode.Lse, block.Lse.Select(x => (double)x).ToArray(), 1e-5, 1e-5, "LSE");
        Compare.Close(decode.Output, block.Output.Select(x => (double)x).ToArray(), 1e-5, 1e-5, "O", 128);
    }

    [Test]
    public void NaNAndBadLengthsPoisonOnlyTheirRows()
    {
        var shape = new DecodeShape(3, 2, 1, 100, 64);
        var (q, k, v) = Inputs(shape, seed: 13);
        q[64 * 1 + 5] = float.NaN;                        // sequence 0, head 1
        k[(100 + 60) * 64 + 1] = float.NaN;               // sequence 1, key 60: past its length 50, never read
        v[(200 + 3) * 64 + 9] = float.NaN;                // sequence 2, value 3, component 9
        var lengths = new[] { 100, 50, 80 };
        var state = new AttentionState(shape.Rows, 64);
        DecodeAttention64.Run(Runtime, q, k, v, state.Output, state.Lse, shape, lengths);
        BlockAttentionTests.Check(state, Reference(q, k, v, shape, lengths, null), "NaN cases");
        Assert.That(float.IsNaN(state.Lse[1]) && float.IsFinite(state.Lse[0]) && float.IsFinite(state.Lse[2]) && float.IsFinite(state.Lse[3]));
        Assert.That(float.IsNaN(state.Output[4 * 64 + 9]) && float.IsFinite(state.Output[4 * 64 + 8]));

        // On buffers, lengths are not read on the host: a length beyond the cache poisons its sequence's rows and
        // reads nothing (the emulator records any out-of-bounds access).
        using var qb = Runtime.Upload<float>(TestData.Logits((int)shape.QueryElements, 1));
        using var kb = Runtime.Upload<float>(k);
        using var vb = Runtime.Upload<float>(v);
        using var lb = Runtime.Upload<int>(new[] { 101, -1, 100 });
        using var ob = Runtime.Allocate<float>(shape.QueryElements);
        using var eb = Runtime.Allocate<float>(shape.Rows);
        DecodeAttention64.Launch(Runtime, qb, kb, vb, ob, eb, shape, lb);
        var lse = eb.ToArray();
        Assert.That(lse.Take(4).All(float.IsNaN), "lengths 101 and −1 poison sequences 0 and 1");
        Assert.That(lse.Skip(4).All(float.IsFinite), "sequence 2 is valid");
        Assert.Throws<ArgumentOutOfRangeException>(() => DecodeAttention64.Run(Runtime, q, k, v, state.Output, state.Lse, shape, new[] { 101, 1, 1 }));
    }

    [Test]
    public void InfiniteScoresAndBadSinksGiveTheDocumentedRows()
    {
        // 300 keys: several tiles, a ragged last tile (Dot4 rows and the scalar tail) and, on cpu, two splits.
        var shape = new DecodeShape(2, 4, 2, 300, 128);
        var (q, k, v) = Inputs(shape, seed: 21);
        var lengths = new[] { 300, 299 };
        // Sequence 0, kv head 1 (query heads 2 and 3), key 290, component 7 = +inf with q > 0 there: a +inf score.
        k[((0 * 2 + 1) * 300 + 290) * 128 + 7] = float.PositiveInfinity;
        q[(0 * 4 + 2) * 128 + 7] = q[(0 * 4 + 3) * 128 + 7] = 0.75f;
        // Sequence 1, kv head 0 (query heads 0 and 1), key 297 (the scalar tail), component 3 = −inf with q > 0: a −inf
        // score, a key that gets weight 0 and leaves the row finite.
        k[((1 * 2 + 0) * 300 + 297) * 128 + 3] = float.NegativeInfinity;
        q[(1 * 4 + 0) * 128 + 3] = q[(1 * 4 + 1) * 128 + 3] = 0.5f;
        var sinks = new[] { float.NaN, float.PositiveInfinity, 0.5f, float.NegativeInfinity };

        var plain = new AttentionState(shape.Rows, 128);
        DecodeAttention128.Run(Runtime, q, k, v, plain.Output, plain.Lse, shape, lengths);
        BlockAttentionTests.Check(plain, Reference(q, k, v, shape, lengths, null), "±inf scores");
        bool[] nanRows = { false, false, true, true, false, false, false, false };
        for (int row = 0; row < shape.Rows; row++)
        {
            Assert.That(float.IsNaN(plain.Lse[row]), Is.EqualTo(nanRows[row]), $"LSE row {row}");
            Assert.That(plain.Output.Skip(row * 128).Take(128).All(x => nanRows[row] ? float.IsNaN(x) : float.IsFinite(x)), $"O row {row}");
        }

        var sunk = new AttentionState(shape.Rows, 128);
        DecodeAttentionSink128.Run(Runtime, q, k, v, sunk.Output, sunk.Lse, shape, lengths, sinks);
        BlockAttentionTests.Check(sunk, Reference(q, k, v, shape, lengths, sinks), "±inf scores and NaN / +inf sinks");
        // Heads 0 and 1 (NaN and +inf sinks) are NaN in both sequences; head 2 and 3 of sequence 0 read the +inf score.
        bool[] sunkNan = { true, true, true, true, true, true, false, false };
        for (int row = 0; row < shape.Rows; row++)
            Assert.That(float.IsNaN(sunk.Lse[row]), Is.EqualTo(sunkNan[row]), $"LSE row {row} with sinks");
    }

    internal static (float[] Q, float[] K, float[] V) Inputs(DecodeShape shape, int seed) =>
        (TestData.Logits((int)shape.QueryElements, seed, 1.0),
         TestData.Logits((int)shape.CacheElements, seed + 1, 1.0),
         TestData.Logits((int)shape.CacheElements, seed + 2, 1.0));

    /// <summary>Exact decode attention: row (b, h) against keys [0, lengths[b]) of key/value head h / group of sequence b.</summary>
    internal static AttentionReference.State Reference(float[] q, float[] k, float[] v, DecodeShape shape, int[] lengths, float[]? sinks)
    {
        int d = shape.HeadDim, group = shape.Heads / shape.KvHeads;
        var output = new double[shape.QueryElements];
        var lse = new double[shape.Rows];
        for (int b = 0; b < shape.Batch; b++)
        {
            for (int h = 0; h < shape.Heads; h++)
            {
                long row = (long)b * shape.Heads + h;
                var keys = Enumerable.Range(0, lengths[b]).ToArray();
                long kvBase = ((long)b * shape.KvHeads + h / group) * shape.Capacity * d;
                var (o, l) = AttentionReference.Row(q, row * d, k, v, kvBase, keys, d, 1 / Math.Sqrt(d),
                    sink: sinks is null || sinks[h] == float.NegativeInfinity ? null : sinks[h]);
                Array.Copy(o, 0, output, row * d, d);
                lse[row] = l;
            }
        }
        return new AttentionReference.State(output, lse);
    }
}
