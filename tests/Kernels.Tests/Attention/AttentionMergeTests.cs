using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Attention;

/// <summary>The state merge on every backend present: union of disjoint key sets, algebra, extreme LSEs.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class AttentionMergeTests(Backend backend) : BackendTest(backend)
{
    [TestCase(3, 1, 7, 100, 37, 64)]
    [TestCase(8, 2, 1, 129, 64, 128)]
    [TestCase(2, 2, 5, 33, 1, 20)]
    public void MergeOfDisjointKeySetsEqualsAttentionOverTheUnion(int heads, int kvHeads, int queries, int keys, int split, int d)
    {
        var shape = new AttentionShape(heads, kvHeads, queries, keys, d);
        var (q, k, v) = BlockAttentionTests.Inputs(shape, seed: keys + d);
        var (k1, v1) = (Slice(k, shape, 0, split), Slice(v, shape, 0, split));
        var (k2, v2) = (Slice(k, shape, split, keys), Slice(v, shape, split, keys));
        var a = new AttentionState(shape.Rows, d);
        var b = new AttentionState(shape.Rows, d);
        BlockAttention.Run(Runtime, q, k1, v1, a, shape with { Keys = split });
        BlockAttention.Run(Runtime, q, k2, v2, b, shape with { Keys = keys - split });
        AttentionMerge.RunInPlace(Runtime, a, b);
        BlockAttentionTests.Check(a, AttentionReference.Block(q, k, v, shape, 1 / Math.Sqrt(d)), "merged halves");
    }

    [Test]
    public void MergeIsCommutativeAndAssociativeAndTheEmptyStateIsItsIdentity()
    {
        const int rows = 9, d = 24;
        var states = Enumerable.Range(0, 3).Select(s => RandomState(rows, d, seed: s)).ToArray();
        states[1].Lse[2] = float.NegativeInfinity; // one empty row
        Array.Clear(states[1].Output, 2 * d, d);

        var ab = Merge(states[0], states[1]);
        var ba = Merge(states[1], states[0]);
        Assert.That(ab.Lse, Is.EqualTo(ba.Lse), "commutative LSE, bit for bit");
        Assert.That(ab.Output, Is.EqualTo(ba.Output).Within(1).Ulps, "commutative O");

        var left = Merge(ab, states[2]);
        var right = Merge(states[0], Merge(states[1], states[2]));
        Compare.Close(left.Lse, right.Lse.Select(x => (double)x).ToArray(), 1e-6, 1e-6, "associative LSE");
        Compare.Close(left.Output, right.Output.Select(x => (double)x).ToArray(), 1e-5, 1e-6, "associative O", d);

        var identity = Merge(states[2], new AttentionState(rows, d));
        Assert.That(identity.Lse, Is.EqualTo(states[2].Lse));
        Assert.That(identity.Output, Is.EqualTo(states[2].Output));
    }

    [Test]
    public void LseDifferencesOfAThousandDoNotOverflow()
    {
        const int d = 8;
        var a = RandomState(4, d, seed: 11);
        var b = RandomState(4, d, seed: 12);
        a.Lse[0] = 1000f; b.Lse[0] = 0f;        // a dominates completely
        a.Lse[1] = -1000f; b.Lse[1] = 0f;       // b dominates completely
        a.Lse[2] = 1e30f; b.Lse[2] = 1e30f;     // huge but equal: halves
        a.Lse[3] = 88.5f; b.Lse[3] = 89.5f;     // exp of either would be near float's limit
        var merged = Merge(a, b);
        Assert.That(merged.Lse[0], Is.EqualTo(1000f));
        Assert.That(merged.Output.Take(d), Is.EqualTo(a.Output.Take(d)).Within(1e-6));
        Assert.That(merged.Lse[1], Is.EqualTo(0f));
        Assert.That(merged.Output.Skip(d).Take(d), Is.EqualTo(b.Output.Skip(d).Take(d)).Within(1e-6));
        Assert.That(merged.Lse[2], Is.EqualTo(1e30f));
        Assert.That(merged.Output.Skip(2 * d).Take(d), Is.EqualTo(a.Output.Skip(2 * d).Take(d).Zip(b.Output.Skip(2 * d).Take(d), (x, y) => (x + y) / 2)).Within(1e-6));
        double lse3 = 89.5 + Math.Log(1 + Math.Exp(-1.0));
        Assert.That(merged.Lse[3], Is.EqualTo(lse3).Within(1e-5));
        Assert.That(merged.Output.All(float.IsFinite));
    }

    [Test]
    public void EmptyStatesMergeToTheEmptyStateAndNaNPropagates()
    {
        const int d = 5;
        var a = new AttentionState(3, d);
        var b = new AttentionState(3, d);
        b.Lse[1] = float.NaN;
        b.Lse[2] = 0.5f;
        b.Output[2 * d] = 3f;
        var merged = Merge(a, b);
        Assert.That(merged.Lse[0], Is.EqualTo(float.NegativeInfinity));
        Assert.That(merged.Output.Take(d), Is.All.EqualTo(0f));
        Assert.That(float.IsNaN(merged.Lse[1]) && merged.Output.Skip(d).Take(d).All(float.IsNaN));
        Assert.That(merged.Lse[2], Is.EqualTo(0.5f));
        Assert.That(merged.Output[2 * d], Is.EqualTo(3f));
    }

    [Test]
    public void BuffersMergeInPlaceAndOutOfPlace()
    {
        const int rows = 6, d = 40;
        var a = RandomState(rows, d, seed: 21);
        var b = RandomState(rows, d, seed: 22);
        var expected = Merge(a, b);
        using var oa = Runtime.Upload<float>(a.Output);
        using var la = Runtime.Upload<float>(a.Lse);
        using var ob = Runtime.Upload<float>(b.Output);
        using var lb = Runtime.Upload<float>(b.Lse);
        using var o = Runtime.Allocate<float>(rows * d);
        using var l = Runtime.Allocate<float>(rows);
        AttentionMerge.Launch(Runtime, oa, la, ob, lb, o, l, rows, d);
        Assert.That(o.ToArray(), Is.EqualTo(expected.Output));
        Assert.That(l.ToArray(), Is.EqualTo(expected.Lse));
        AttentionMerge.LaunchInPlace(Runtime, oa, la, ob, lb, rows, d);
        Assert.That(oa.ToArray(), Is.EqualTo(expected.Output));
        Assert.That(la.ToArray(), Is.EqualTo(expected.Lse));
        Assert.Throws<ArgumentException>(() => AttentionMerge.Launch(Runtime, oa, la, ob, lb, ob, lb, rows, d));
    }

    private AttentionState Merge(AttentionState a, AttentionState b)
    {
        var result = new AttentionState(a.Rows, a.HeadDim);
        AttentionMerge.Run(Runtime, a.Output, a.Lse, b.Output, b.Lse, result.Output, result.Lse, (int)a.Rows, a.HeadDim);
        return result;
    }

    private static AttentionState RandomState(int rows, int d, int seed)
    {
        var state = new AttentionState(rows, d);
        TestData.Logits(rows * d, seed, 1.0).CopyTo(state.Output, 0);
        TestData.Logits(rows, seed + 100, 5.0).CopyTo(state.Lse, 0);
        return state;
    }

    /// <summary>Keys [from, to) of every head.</summary>
    private static float[] Slice(float[] data, AttentionShape shape, int from, int to)
    {
        int d = shape.HeadDim, n = to - from;
        var slice = new float[shape.KvHeads * n * d];
        for (int h = 0; h < shape.KvHeads; h++)
            Array.Copy(data, ((long)h * shape.Keys + from) * d, slice, (long)h * n * d, (long)n * d);
        return slice;
    }
}
