using System;
using System.Collections.Generic;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Attention;

/// <summary>The sinks + window KV cache: slot bookkeeping, and decode attention over it against StreamingLLM's exact attention.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class SinkWindowCacheTests(Backend backend) : BackendTest(backend)
{
    [TestCase(4, 5)]
    [TestCase(0, 3)]
    [TestCase(2, 1)]
    public void SlotsPositionsAndEvictionFollowAppends(int sinks, int window)
    {
        using var cache = new SinkWindowCache(Runtime, 1, 1, 2, sinks, window);
        var kept = new Dictionary<int, long>(); // slot -> position, kept by a plain model of the ring
        long appended = 0;
        foreach (int chunk in new[] { 1, 3, 1, 7, 2, 1, 1, 11, 1 })
        {
            var data = Enumerable.Range(0, chunk * 2).Select(i => (float)(appended + i / 2)).ToArray();
            cache.Append(data, data, chunk);
            for (int t = 0; t < chunk; t++, appended++)
                kept[appended < sinks ? (int)appended : sinks + (int)((appended - sinks) % window)] = appended;
            Assert.That(cache.Tokens, Is.EqualTo(appended));
            Assert.That(cache.Length, Is.EqualTo(Math.Min(appended, sinks + window)));
            Assert.That(cache.Evicted, Is.EqualTo(Math.Max(0, appended - sinks - window)));
            Assert.That(cache.QueryPosition, Is.EqualTo(appended - 1));
            for (int slot = 0; slot < sinks + window; slot++)
                Assert.That(cache.PositionOf(slot), Is.EqualTo(kept.TryGetValue(slot, out long p) ? p : -1), $"slot {slot} after {appended}");
            for (long p = -1; p <= appended; p++)
            {
                int slot = cache.SlotOf(p);
                bool isKept = p >= 0 && p < appended && (p < sinks || p >= appended - window);
                Assert.That(slot, Is.EqualTo(isKept ? kept.Single(e => e.Value == p).Key : -1), $"position {p} after {appended}");
            }
            // Values are stored as given: slot s holds the value of position PositionOf(s).
            var values = cache.Values.ToArray();
            for (int slot = 0; slot < cache.Length; slot++)
                Assert.That(values[slot * 2], Is.EqualTo((float)cache.PositionOf(slot)));
        }
        var lengths = cache.Lengths.ToArray();
        Assert.That(lengths, Is.All.EqualTo(cache.Length));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void DecodeOverSinksAndWindowEqualsStreamingLlmAttention(bool sink)
    {
        const int batch = 2, heads = 8, kvHeads = 2, d = 64, sinks = 4, window = 37;
        var rope = new RopeOptions(10000, RopeLayout.Half);
        using var cache = new SinkWindowCache(Runtime, batch, kvHeads, d, sinks, window, rope);
        var keys = new List<float[]>();   // per token: pre-RoPE keys [batch, kvHeads, d]
        var values = new List<float[]>();
        var sinkLogits = TestData.Logits(heads, seed: 77, scale: 1.0);
        var kernel = DecodeAttentionTests.KernelFor(d, sink);
        int seed = 100;
        foreach (int chunk in new[] { 3, 1, 50, 1, 1, 20, 1 })
        {
            var k = TestData.Logits(batch * kvHeads * chunk * d, seed++, 1.0);
            var v = TestData.Logits(batch * kvHeads * chunk * d, seed++, 1.0);
            cache.Append(k, v, chunk);
            for (int t = 0; t < chunk; t++)
            {
                keys.Add(Token(k, chunk, t));
                values.Add(Token(v, chunk, t));
            }

            // The decode step: the query rotated at its own position, attention over the cache's kept slots.
            var q = TestData.Logits(batch * heads * d, seed++, 1.0);
            var rotated = (float[])q.Clone();
            Rope.Run(Runtime, rotated, Enumerable.Repeat((int)cache.QueryPosition, batch * heads).ToArray(), batch * heads, d, rope.Theta, rope.Layout);
            var shape = new DecodeShape(batch, heads, kvHeads, cache.Capacity, d);
            using var qb = Runtime.Upload<float>(rotated);
            using var ob = Runtime.Allocate<float>(shape.QueryElements);
            using var lb = Runtime.Allocate<float>(shape.Rows);
            using var sb = Runtime.Upload<float>(sinkLogits);
            kernel.Launch(Runtime, qb, cache.Keys, cache.Values, ob, lb, shape, cache.Lengths, sink ? sb : null);
            var state = new AttentionState(shape.Rows, d);
            ob.CopyTo(state.Output);
            lb.CopyTo(state.Lse);
            BlockAttentionTests.Check(state, StreamingLlm(q, keys, values, batch, heads, kvHeads, d, sinks, window, rope, sink ? sinkLogits : null),
                $"after {keys.Count} tokens");
        }
    }

    /// <summary>
    /// StreamingLLM's attention, in float64: the kept tokens (the first S, the last W) take positions 0..n−1 inside the
    /// cache in order, their pre-RoPE keys are rotated there, the query at n − 1, then exact attention over them.
    /// </summary>
    private static AttentionReference.State StreamingLlm(float[] q, List<float[]> keys, List<float[]> values, int batch, int heads,
        int kvHeads, int d, int sinks, int window, RopeOptions rope, float[]? sinkLogits)
    {
        int total = keys.Count;
        var kept = Enumerable.Range(0, total).Where(p => p < sinks || p >= total - window).ToArray();
        int n = kept.Length, group = heads / kvHeads;
        var output = new double[batch * heads * d];
        var lse = new double[batch * heads];
        for (int b = 0; b < batch; b++)
        {
            for (int h = 0; h < heads; h++)
            {
                int row = b * heads + h, kvh = b * kvHeads + h / group;
                var query = RopeTests.Rotate(q.AsSpan(row * d, d).ToArray(), n - 1, rope.Theta, rope.Layout);
                var scores = new double[n];
                double max = sinkLogits is null ? double.NegativeInfinity : sinkLogits[h];
                for (int i = 0; i < n; i++)
                {
                    var key = RopeTests.Rotate(keys[kept[i]].AsSpan(kvh * d, d).ToArray(), i, rope.Theta, rope.Layout);
                    scores[i] = query.Zip(key, (x, y) => x * y).Sum() / Math.Sqrt(d);
                    max = Math.Max(max, scores[i]);
                }
                double sum = sinkLogits is null ? 0 : Math.Exp(sinkLogits[h] - max);
                for (int i = 0; i < n; i++)
                {
                    double w = Math.Exp(scores[i] - max);
                    sum += w;
                    for (int c = 0; c < d; c++)
                        output[row * d + c] += w * values[kept[i]][kvh * d + c];
                }
                for (int c = 0; c < d; c++)
                    output[row * d + c] /= sum;
                lse[row] = max + Math.Log(sum);
            }
        }
        return new AttentionReference.State(output, lse);
    }

    /// <summary>Token t of a chunk [heads, tokens, d], as [heads, d].</summary>
    private static float[] Token(float[] chunk, int tokens, int t)
    {
        int d = 64, heads = chunk.Length / (tokens * d);
        var row = new float[heads * d];
        for (int h = 0; h < heads; h++)
            Array.Copy(chunk, (h * tokens + t) * d, row, h * d, d);
        return row;
    }
}
