using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using Kernels.Tests.Statistics;
using NUnit.Framework;

namespace Kernels.Tests.Attention;

/// <summary>Linear attention on every backend present, against the explicit O(n²) float64 kernelised attention.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class LinearAttentionTests(Backend backend) : BackendTest(backend)
{
    private const double Relative = 2e-4, Absolute = 2e-5;

    private static LinearAttention Make(LinearFeatureMap map, int d) =>
        map == LinearFeatureMap.EluPlusOne ? new LinearAttention(map, d) : new LinearAttention(map, d, features: 2 * d + 3, key: new RngKey(7, 1));

    private static (float[] Q, float[] K, float[] V) Inputs(int heads, int tokens, int d, int dv, int seed) =>
        (TestData.Logits(heads * tokens * d, seed, 0.6), TestData.Logits(heads * tokens * d, seed + 1, 0.6), TestData.Logits(heads * tokens * dv, seed + 2, 1.0));

    [TestCase(LinearFeatureMap.EluPlusOne, false, 3, 37, 12, 10)]
    [TestCase(LinearFeatureMap.EluPlusOne, true, 3, 37, 12, 10)]
    [TestCase(LinearFeatureMap.EluPlusOne, true, 1, 1, 1, 1)]
    [TestCase(LinearFeatureMap.EluPlusOne, false, 2, 50, 64, 17)]
    [TestCase(LinearFeatureMap.PositiveRandom, false, 3, 37, 12, 10)]
    [TestCase(LinearFeatureMap.PositiveRandom, true, 3, 37, 12, 10)]
    [TestCase(LinearFeatureMap.PositiveRandom, true, 2, 29, 16, 24)]
    public void EqualsTheExplicitQuadraticAttention(LinearFeatureMap map, bool causal, int heads, int tokens, int d, int dv)
    {
        var attention = Make(map, d);
        var (q, k, v) = Inputs(heads, tokens, d, dv, tokens + d);
        var o = new float[heads * tokens * dv];
        attention.Run(Runtime, q, k, v, o, heads, tokens, dv, causal);
        Compare.Close(o, LinearAttentionReference.Attend(attention, q, k, v, heads, tokens, dv, causal), Relative, Absolute, $"{map} causal={causal}", dv);
    }

    [TestCase(LinearFeatureMap.EluPlusOne)]
    [TestCase(LinearFeatureMap.PositiveRandom)]
    public void NonCausalIsPermutationInvariant(LinearFeatureMap map)
    {
        const int heads = 2, tokens = 31, d = 8, dv = 9;
        var attention = Make(map, d);
        var (q, k, v) = Inputs(heads, tokens, d, dv, 11);
        var perm = Enumerable.Range(0, tokens).OrderBy(i => (i * 17 + 5) % tokens).ToArray();
        var (qp, kp, vp) = (new float[q.Length], new float[k.Length], new float[v.Length]);
        // Keys and values permuted together, queries by the same permutation: outputs permute with the queries.
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < tokens; i++)
            {
                int from = h * tokens + perm[i], to = h * tokens + i;
                Array.Copy(q, from * d, qp, to * d, d);
                Array.Copy(k, from * d, kp, to * d, d);
                Array.Copy(v, from * dv, vp, to * dv, dv);
            }
        var o = new float[heads * tokens * dv];
        var op = new float[o.Length];
        attention.Run(Runtime, q, k, v, o, heads, tokens, dv, causal: false);
        attention.Run(Runtime, qp, kp, vp, op, heads, tokens, dv, causal: false);
        var expected = new double[o.Length];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < tokens; i++)
                for (int c = 0; c < dv; c++)
                    expected[(h * tokens + i) * dv + c] = o[(h * tokens + perm[i]) * dv + c];
        Compare.Close(op, expected, 1e-5, 1e-6, "permuted", dv);
    }

    [TestCase(LinearFeatureMap.EluPlusOne, true)]
    [TestCase(LinearFeatureMap.EluPlusOne, false)]
    [TestCase(LinearFeatureMap.PositiveRandom, true)]
    [TestCase(LinearFeatureMap.PositiveRandom, false)]
    public void StreamingInChunksEqualsOneShot(LinearFeatureMap map, bool causal)
    {
        const int heads = 3, tokens = 41, d = 12, dv = 10;
        int[] chunks = { 5, 1, 13, 0, 22 };
        var attention = Make(map, d);
        var (q, k, v) = Inputs(heads, tokens, d, dv, 23);
        var oneShot = new float[heads * tokens * dv];
        attention.Run(Runtime, q, k, v, oneShot, heads, tokens, dv, causal);

        var streamed = new float[oneShot.Length];
        using var state = attention.CreateState(Runtime, heads, dv);
        int at = 0;
        foreach (int n in chunks)
        {
            using var qc = Runtime.Upload<float>(Slice(q, heads, tokens, d, at, n));
            using var kc = Runtime.Upload<float>(Slice(k, heads, tokens, d, at, n));
            using var vc = Runtime.Upload<float>(Slice(v, heads, tokens, dv, at, n));
            using var oc = Runtime.Allocate<float>(Math.Max(1, heads * n * dv));
            if (causal)
            {
                state.Forward(qc, kc, vc, oc, n);
                Unslice(oc.ToArray(), streamed, heads, tokens, dv, at, n);
            }
            else
                state.Update(kc, vc, n);
            at += n;
        }
        Assert.That(state.Tokens, Is.EqualTo(tokens));
        if (!causal)
        {
            using var qb = Runtime.Upload<float>(q);
            using var ob = Runtime.Allocate<float>(streamed.Length);
            state.Query(qb, ob, tokens);
            ob.CopyTo(streamed);
        }
        Compare.Close(streamed, oneShot.Select(x => (double)x).ToArray(), 1e-5, 1e-6, "streamed vs one-shot", dv);
    }

    [Test]
    public void TokenByTokenUpdateThenQueryIsCausal()
    {
        const int heads = 2, tokens = 9, d = 8, dv = 8;
        var attention = Make(LinearFeatureMap.EluPlusOne, d);
        var (q, k, v) = Inputs(heads, tokens, d, dv, 31);
        var expected = LinearAttentionReference.Attend(attention, q, k, v, heads, tokens, dv, causal: true);
        using var state = attention.CreateState(Runtime, heads, dv);
        var streamed = new float[expected.Length];
        for (int i = 0; i < tokens; i++)
        {
            using var kc = Runtime.Upload<float>(Slice(k, heads, tokens, d, i, 1));
            using var vc = Runtime.Upload<float>(Slice(v, heads, tokens, dv, i, 1));
            using var qc = Runtime.Upload<float>(Slice(q, heads, tokens, d, i, 1));
            using var oc = Runtime.Allocate<float>(heads * dv);
            state.Update(kc, vc, 1);
            state.Query(qc, oc, 1);
            Unslice(oc.ToArray(), streamed, heads, tokens, dv, i, 1);
        }
        Compare.Close(streamed, expected, Relative, Absolute, "Update(k, v) / Query(q) per token", dv);
        state.Reset();
        using var q0 = Runtime.Upload<float>(Slice(q, heads, tokens, d, 0, 1));
        using var o0 = Runtime.Upload<float>(new float[heads * dv].Select(_ => 42f).ToArray());
        state.Query(q0, o0, 1);
        Assert.That(o0.ToArray(), Is.All.EqualTo(0f), "an empty state gives 0 (denominator 0)");
    }

    [TestCase(LinearFeatureMap.EluPlusOne)]
    [TestCase(LinearFeatureMap.PositiveRandom)]
    public void TheDeclaredD64KernelsEqualTheReference(LinearFeatureMap map)
    {
        const int heads = 2, tokens = 19, d = 64, dv = 16;
        var attention = LinearAttention64.Create(map, map == LinearFeatureMap.EluPlusOne ? 0 : 40, new RngKey(3));
        Assert.That(attention.Kernel, Is.SameAs(LinearAttention64.Kernel));
        var (q, k, v) = Inputs(heads, tokens, d, dv, 41);
        var o = new float[heads * tokens * dv];
        attention.Run(Runtime, q, k, v, o, heads, tokens, dv, causal: true);
        Compare.Close(o, LinearAttentionReference.Attend(attention, q, k, v, heads, tokens, dv, causal: true), Relative, Absolute, "LinearAttention64", dv);
        Assert.Throws<ArgumentException>(() => _ = new LinearAttention(map, 32, 0, default, LinearAttention64.Kernel));
    }

    [Test]
    public void TheProjectionIsStandardNormalAndKeyed()
    {
        var a = GaussianProjection.Draw(new RngKey(3, 4), 20001);
        Assert.That(GaussianProjection.Draw(new RngKey(3, 4), 20001), Is.EqualTo(a), "same key, same matrix");
        Assert.That(GaussianProjection.Draw(new RngKey(3, 5), 16), Is.Not.EqualTo(a.Take(16).ToArray()), "another stream, another matrix");
        KolmogorovSmirnov.AssertFits(a.Select(x => (double)x), x => 0.5 * SpecialFunctionsErfc(-x / Math.Sqrt(2)), "N(0, 1)");
        Assert.That(new LinearAttention(LinearFeatureMap.PositiveRandom, 4, 3, new RngKey(3, 4)).Projection.ToArray(), Is.EqualTo(a.Take(12).ToArray()));
    }

    // erfc via the regularised incomplete gamma: erfc(x) = Q(½, x²) for x ≥ 0.
    private static double SpecialFunctionsErfc(double x) =>
        x >= 0 ? SpecialFunctions.GammaQ(0.5, x * x) : 2 - SpecialFunctions.GammaQ(0.5, x * x);

    internal static float[] Slice(float[] x, int heads, int tokens, int width, int start, int count)
    {
        var r = new float[Math.Max(1, heads * count * width)];
        for (int h = 0; h < heads; h++)
            Array.Copy(x, (h * tokens + start) * width, r, h * count * width, count * width);
        return r;
    }

    private static void Unslice(float[] part, float[] x, int heads, int tokens, int width, int start, int count)
    {
        for (int h = 0; h < heads; h++)
            Array.Copy(part, h * count * width, x, (h * tokens + start) * width, count * width);
    }
}
