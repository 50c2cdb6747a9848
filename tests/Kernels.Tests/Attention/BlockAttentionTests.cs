using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Attention;

/// <summary>Block attention on every backend present against exact float64 attention.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class BlockAttentionTests(Backend backend) : BackendTest(backend)
{
    internal const double OutputTolerance = 2e-5, LseTolerance = 2e-5;

    // Odd shapes: keys not a multiple of the 64-key CPU tile or of the device group, queries not a multiple of the
    // 8-row CPU block, d not a multiple of 8 or 16, GQA ratios 1, 4 and 8.
    [TestCase(1, 1, 1, 1, 1, false, 0)]
    [TestCase(2, 1, 3, 37, 7, false, 0)]
    [TestCase(4, 1, 9, 130, 64, false, 0)]
    [TestCase(8, 1, 2, 65, 128, false, 0)]
    [TestCase(4, 2, 11, 77, 24, true, 0)]
    [TestCase(3, 3, 17, 200, 33, true, 180)]
    [TestCase(2, 2, 13, 41, 256, true, 28)]
    [TestCase(8, 2, 5, 300, 64, true, 295)]
    public void EqualsExactAttention(int heads, int kvHeads, int queries, int keys, int d, bool causal, int offset)
    {
        var shape = new AttentionShape(heads, kvHeads, queries, keys, d);
        var (q, k, v) = Inputs(shape, seed: heads * 7 + keys + d);
        var options = new BlockAttentionOptions { Causal = causal, QueryOffset = offset };
        var state = new AttentionState(shape.Rows, d);
        BlockAttention.Run(Runtime, q, k, v, state, shape, options);
        var expected = AttentionReference.Block(q, k, v, shape, 1 / Math.Sqrt(d), causal, offset);
        Check(state, expected, "block attention");
    }

    [Test]
    public void KeyLengthScaleAndBiasAreApplied()
    {
        var shape = new AttentionShape(4, 2, 6, 90, 40);
        var (q, k, v) = Inputs(shape, seed: 5);
        var bias = TestData.Logits((int)(shape.Rows * shape.Keys), seed: 6, scale: 2);
        for (int i = 0; i < bias.Length; i += 7)
            bias[i] = float.NegativeInfinity;
        var options = new BlockAttentionOptions { KeyLength = 71, Scale = 0.3f, Causal = true, QueryOffset = 60 };
        var state = new AttentionState(shape.Rows, shape.HeadDim);
        BlockAttention.Run(Runtime, q, k, v, state, shape, options, bias);
        Check(state, AttentionReference.Block(q, k, v, shape, 0.3f, true, 60, 71, bias), "key length, scale, bias");
    }

    [Test]
    public void BuffersGiveTheSameStateAsSpans()
    {
        var shape = new AttentionShape(2, 1, 5, 70, 16);
        var (q, k, v) = Inputs(shape, seed: 8);
        var state = new AttentionState(shape.Rows, shape.HeadDim);
        BlockAttention.Run(Runtime, q, k, v, state, shape);
        using var qb = Runtime.Upload<float>(q);
        using var kb = Runtime.Upload<float>(k);
        using var vb = Runtime.Upload<float>(v);
        using var ob = Runtime.Allocate<float>(shape.QueryElements);
        using var lb = Runtime.Allocate<float>(shape.Rows);
        BlockAttention.Launch(Runtime, qb, kb, vb, ob, lb, shape);
        Assert.That(ob.ToArray(), Is.EqualTo(state.Output));
        Assert.That(lb.ToArray(), Is.EqualTo(state.Lse));
    }

    [Test]
    public void EmptyAndFullyMaskedRowsAreTheEmptyStateNeverNaN()
    {
        var shape = new AttentionShape(2, 1, 4, 20, 8);
        var (q, k, v) = Inputs(shape, seed: 9);
        // Causal with offset −2: queries 0 and 1 see no key; query 2 sees key 0.
        var state = new AttentionState(shape.Rows, shape.HeadDim);
        BlockAttention.Run(Runtime, q, k, v, state, shape, new BlockAttentionOptions { Causal = true, QueryOffset = -2 });
        Check(state, AttentionReference.Block(q, k, v, shape, 1 / Math.Sqrt(8), true, -2), "negative offset");
        Assert.That(state.Lse[0], Is.EqualTo(float.NegativeInfinity));
        Assert.That(state.Output.Take(8), Is.All.EqualTo(0f));

        // No keys at all, and every key masked by the bias.
        BlockAttention.Run(Runtime, q, k, v, state, shape, new BlockAttentionOptions { KeyLength = 0 });
        Assert.That(state.Lse, Is.All.EqualTo(float.NegativeInfinity));
        Assert.That(state.Output, Is.All.EqualTo(0f));
        var bias = Enumerable.Repeat(float.NegativeInfinity, (int)(shape.Rows * shape.Keys)).ToArray();
        BlockAttention.Run(Runtime, q, k, v, state, shape, default, bias);
        Assert.That(state.Lse, Is.All.EqualTo(float.NegativeInfinity));
        Assert.That(state.Output, Is.All.EqualTo(0f));
        var empty = new AttentionShape(2, 1, 3, 0, 8);
        var none = new AttentionState(empty.Rows, 8);
        BlockAttention.Run(Runtime, q, Array.Empty<float>(), Array.Empty<float>(), none, empty);
        Assert.That(none.Lse, Is.All.EqualTo(float.NegativeInfinity));
    }

    [Test]
    public void NaNPoisonsOnlyTheRowsThatReadIt()
    {
        var shape = new AttentionShape(2, 1, 3, 40, 16);
        var (q, k, v) = Inputs(shape, seed: 10);
        q[16 * 1 + 3] = float.NaN;           // head 0, query 1
        k[16 * 39 + 2] = float.NaN;          // key 39: outside KeyLength 39, never read
        v[16 * 5 + 7] = float.NaN;           // value 5, component 7: every row that sees key 5
        var state = new AttentionState(shape.Rows, shape.HeadDim);
        var options = new BlockAttentionOptions { KeyLength = 39, Causal = true, QueryOffset = 3 };
        BlockAttention.Run(Runtime, q, k, v, state, shape, options);
        var expected = AttentionReference.Block(q, k, v, shape, 0.25, true, 3, 39);
        Check(state, expected, "NaN cases");
        Assert.That(float.IsNaN(state.Lse[1]) && state.Output.Skip(16).Take(16).All(float.IsNaN), "query row with NaN");
        Assert.That(float.IsFinite(state.Lse[0]) && float.IsFinite(state.Output[0]) && float.IsFinite(state.Output[7]), "query 0 sees keys 0..3 only");
        Assert.That(float.IsNaN(state.Output[16 * 2 + 7]) && float.IsFinite(state.Output[16 * 2 + 6]) && float.IsFinite(state.Lse[2]), "value NaN in its component");
    }

    internal static (float[] Q, float[] K, float[] V) Inputs(AttentionShape shape, int seed, double scale = 1.0) =>
        (TestData.Logits((int)shape.QueryElements, seed, scale),
         TestData.Logits((int)shape.KeyElements, seed + 1, scale),
         TestData.Logits((int)shape.KeyElements, seed + 2, 1.0));

    internal static void Check(AttentionState actual, AttentionReference.State expected, string what)
    {
        Compare.Close(actual.Lse, expected.Lse, LseTolerance, LseTolerance, what + " LSE");
        Compare.Close(actual.Output, expected.Output, OutputTolerance, OutputTolerance, what + " O", actual.HeadDim);
    }
}
