using System;
using System.Collections.Generic;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using Kernels.Tests.Statistics;
using NUnit.Framework;

namespace Kernels.Tests.Speculative;

/// <summary>
/// Multi-draft verification (host side): the output law of RRS and K-SEQ, found by probing the implementations as black
/// boxes (every decision is a threshold in its uniform, located by bisection), equals p exactly; K-SEQ's acceptance is
/// 1 − (1 − β)^k; both stay below the optimal acceptance; k = 1 is chain verification.
/// </summary>
[TestFixture]
public sealed class MultiDraftTests
{
    private const double Top = 1 - 1.0 / (1L << 53); // a uniform that rejects every draft whose acceptance is below 1

    private delegate MultiDraft.Decision Verifier(double[] p, double[] q, int[] drafts, double[] uniforms);

    private static readonly Verifier Rrs = (p, q, d, u) => MultiDraft.RecursiveRejection(p, q, d, u);
    private static readonly Verifier KSeq = (p, q, d, u) => MultiDraft.KSeq(p, q, d, u);

    /// <summary>
    /// The verifier's law for fixed drafts: (P(token), P(some draft accepted)). Draft i is reached by rejecting the ones
    /// before it (u = 1 − 2^-53); its acceptance is the largest u_i that still accepts it (bisection); the final draw's
    /// law is the length of each token's interval of u_k (bisection on the boundaries of the inverse CDF).
    /// </summary>
    private static (double[] Law, double Accepted) Probe(Verifier verify, double[] p, double[] q, int[] drafts)
    {
        int k = drafts.Length;
        var law = new double[p.Length];
        double reach = 1, accepted = 0;
        for (int i = 0; i < k && reach > 0; i++)
        {
            double[] U(double x) => Enumerable.Repeat(Top, i).Append(x).Concat(Enumerable.Repeat(0.5, k - i)).ToArray();
            double a = Boundary(x => verify(p, q, drafts, U(x)).Slot == i);
            law[drafts[i]] += reach * a;
            accepted += reach * a;
            reach *= 1 - a;
        }
        if (reach > 0)
        {
            double[] Final(double x) => Enumerable.Repeat(Top, k).Append(x).ToArray();
            double start = 0;
            while (start < 1)
            {
                int token = verify(p, q, drafts, Final(Math.Max(start, 1e-300))).Token;
                Assert.That(verify(p, q, drafts, Final(Math.Max(start, 1e-300))).Slot, Is.EqualTo(-1), "all drafts rejected at u = 1 − 2^-53");
                double end = Boundary(x => x <= start || verify(p, q, drafts, Final(x)).Token == token);
                law[token] += reach * (end - start);
                start = end >= Top ? 1 : end;
            }
        }
        return (law, accepted);
    }

    // The supremum of x in (0, 1) where a monotone predicate (true, then false) holds; 0 when it never holds.
    private static double Boundary(Func<double, bool> holds)
    {
        if (!holds(1e-300)) return 0;
        if (holds(Top)) return 1;
        double lo = 1e-300, hi = Top;
        for (int i = 0; i < 80 && hi - lo > 1e-17; i++)
        {
            double mid = 0.5 * (lo + hi);
            if (holds(mid)) lo = mid; else hi = mid;
        }
        return hi;
    }

    private static double[] RandomDistribution(System.Random random, int cols, int zeros)
    {
        var w = Enumerable.Range(0, cols).Select(_ => random.NextDouble() + 0.05).ToArray();
        foreach (int z in Enumerable.Range(0, cols).OrderBy(_ => random.Next()).Take(zeros)) w[z] = 0;
        double s = w.Sum();
        return w.Select(v => v / s).ToArray();
    }

    private static IEnumerable<(int[] Drafts, double Weight)> Tuples(double[] q, int k, bool withReplacement) =>
        MultiDraftReference.Tuples(q, k, withReplacement);

    [TestCase(1, 1)]
    [TestCase(2, 2)]
    [TestCase(3, 3)]
    [TestCase(4, 2)]
    public void RecursiveRejectionOverDraftsWithoutReplacementGivesTheTargetLaw(int seed, int k)
    {
        var random = new System.Random(seed);
        var p = RandomDistribution(random, 5, seed % 2);
        var q = RandomDistribution(random, 5, 1 - seed % 2);
        var law = new double[p.Length];
        double acceptance = 0;
        foreach (var (drafts, weight) in Tuples(q, k, withReplacement: false))
        {
            var (l, a) = Probe(Rrs, p, q, drafts);
            for (int v = 0; v < p.Length; v++) law[v] += weight * l[v];
            acceptance += weight * a;
        }
        Assert.That(law, Is.EqualTo(p).Within(1e-12), "output law = p");
        Assert.That(acceptance, Is.LessThanOrEqualTo(MultiDraft.OptimalAcceptance(p, q, k, withReplacement: false) + 1e-12));
        if (k == 1)
            Assert.That(acceptance, Is.EqualTo(p.Zip(q, Math.Min).Sum()).Within(1e-12), "k = 1: Σ min(p, q)");
    }

    [TestCase(1, 1)]
    [TestCase(2, 2)]
    [TestCase(3, 3)]
    [TestCase(4, 4)]
    public void KSeqOverIidDraftsGivesTheTargetLawAndItsAcceptance(int seed, int k)
    {
        var random = new System.Random(100 + seed);
        var p = RandomDistribution(random, 5, seed % 2);
        var q = RandomDistribution(random, 5, 1 - seed % 2);
        double rho = MultiDraft.KSeqRho(p, q, k);
        double beta = MultiDraft.KSeqBeta(p, q, rho);
        Assert.That((1 - Math.Pow(1 - beta, k)) / beta, Is.LessThanOrEqualTo(rho * (1 + 1e-12)), "c(ρ*) ≤ ρ*");
        var law = new double[p.Length];
        double acceptance = 0;
        foreach (var (drafts, weight) in Tuples(q, k, withReplacement: true))
        {
            var (l, a) = Probe(KSeq, p, q, drafts);
            for (int v = 0; v < p.Length; v++) law[v] += weight * l[v];
            acceptance += weight * a;
        }
        Assert.That(law, Is.EqualTo(p).Within(1e-12), "output law = p");
        Assert.That(acceptance, Is.EqualTo(1 - Math.Pow(1 - beta, k)).Within(1e-12), "acceptance = 1 − (1 − β)^k");
        Assert.That(acceptance, Is.EqualTo(MultiDraft.KSeqAcceptance(p, q, k)).Within(1e-12));
        double optimal = MultiDraft.OptimalAcceptance(p, q, k, withReplacement: true);
        Assert.That(acceptance, Is.LessThanOrEqualTo(optimal + 1e-12).And.GreaterThanOrEqualTo((1 - 1 / Math.E) * optimal));
        if (k == 1)
            Assert.That(rho, Is.EqualTo(1.0), "k = 1: ρ = 1, plain speculative sampling");
    }

    /// <summary>The worked example of SEEDS §1.D1: p = (.5, .3, .2), q = (.2, .3, .5).</summary>
    [TestCase(1, 1.0, 0.700, 0.70)]
    [TestCase(2, 1.457, 0.791, 0.86)]
    [TestCase(4, 2.030, 0.906, 1.00)]
    public void KSeqMatchesTheWorkedExample(int k, double rho, double acceptance, double optimal)
    {
        double[] p = { .5, .3, .2 }, q = { .2, .3, .5 };
        Assert.That(MultiDraft.KSeqRho(p, q, k), Is.EqualTo(rho).Within(1e-3));
        Assert.That(MultiDraft.KSeqAcceptance(p, q, k), Is.EqualTo(acceptance).Within(1e-3));
        Assert.That(MultiDraft.OptimalAcceptance(p, q, k, withReplacement: true), Is.EqualTo(optimal).Within(1e-9));
        Assert.That(MultiDraft.OptimalAcceptance(p, q, 1, withReplacement: true), Is.EqualTo(0.7).Within(1e-12), "k = 1: Σ min(p, q)");
    }

    [Test]
    public void OneDraftIsChainVerification()
    {
        const int cols = 300, rows = 200;
        var random = new System.Random(8);
        using var runtime = Backends.Create(Backend.Cpu);
        var target = new List<float>();
        var draft = new List<float>();
        var tokens = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            var p = SpeculativeReference.Distribution(cols, random);
            var q = SpeculativeReference.Perturbed(p, random, 1.0);
            target.AddRange(p);
            target.AddRange(SpeculativeReference.Distribution(cols, random));
            draft.AddRange(q);
            tokens[r] = SpeculativeReference.Sample(q, random);
        }
        var uniforms = Enumerable.Range(0, 2 * rows).Select(_ => random.NextDouble() * 0.998 + 0.001).ToArray();
        using var pBuffer = runtime.Upload<float>(target.ToArray());
        using var qBuffer = runtime.Upload<float>(draft.ToArray());
        using var xBuffer = runtime.Upload<int>(tokens);
        using var uBuffer = runtime.Upload<double>(uniforms);
        using var accepted = runtime.Allocate<int>(rows);
        using var emitted = runtime.Allocate<int>(2 * rows);
        ChainVerify.Kernel.LaunchWithUniforms(runtime, pBuffer, qBuffer, xBuffer, accepted, emitted, rows, 1, cols, uBuffer);
        var n = accepted.ToArray();
        var e = emitted.ToArray();
        int rejected = 0;
        for (int r = 0; r < rows; r++)
        {
            var p = target.Skip(2 * r * cols).Take(cols).Select(v => (double)v).ToArray();
            var q = draft.Skip(r * cols).Take(cols).Select(v => (double)v).ToArray();
            // The host verifiers normalise p and q; the float rows sum to 1 within 1e-6, so decisions agree away from ties.
            double ratio = Math.Min(1, p[tokens[r]] / q[tokens[r]]);
            if (Math.Abs(uniforms[2 * r] - ratio) < 1e-5) continue;
            foreach (var verify in new[] { Rrs, KSeq })
            {
                var decision = verify(p, q, new[] { tokens[r] }, new[] { uniforms[2 * r], uniforms[2 * r + 1] });
                Assert.That(decision.Slot == 0, Is.EqualTo(n[r] == 1), $"row {r}");
                if (decision.Slot == 0)
                    Assert.That(e[2 * r], Is.EqualTo(tokens[r]));
                else if (SpeculativeReference.InverseCdf(p.Zip(q, (a, b) => Math.Max(0, a - b)).ToArray(), uniforms[2 * r + 1]).Margin > 1e-5)
                    Assert.That(decision.Token, Is.EqualTo(e[2 * r]), $"row {r}: correction token");
            }
            if (n[r] == 0) rejected++;
        }
        Assert.That(rejected, Is.GreaterThan(10), "both branches are exercised");
    }

    /// <summary>
    /// A two-level tree (two root children, each with two children, drawn without replacement): over 200k trees, the first
    /// emitted token follows p_root and the second, given an accepted first token t, follows p_next[t] (chi-square,
    /// α = 1e-6), with acceptance of the first level above single-draft chain's Σ min(p, q).
    /// </summary>
    [Test]
    public void TreeVerificationEmitsTheTargetLaw()
    {
        const int cols = 4, trees = 200000;
        var random = new System.Random(77);
        var pRoot = RandomDistribution(random, cols, 0);
        var qRoot = RandomDistribution(random, cols, 0);
        var pNext = Enumerable.Range(0, cols).Select(_ => RandomDistribution(random, cols, 0)).ToArray();
        var qNext = Enumerable.Range(0, cols).Select(_ => RandomDistribution(random, cols, 0)).ToArray();
        var pLeaf = RandomDistribution(random, cols, 0);
        int[] parents = { -1, 0, 0, 1, 1, 2, 2 };
        var first = new long[cols];
        var second = Enumerable.Range(0, cols).Select(_ => new long[cols]).ToArray();
        long firstAccepted = 0;
        var key = new RngKey(5);
        for (int t = 0; t < trees; t++)
        {
            int Draw(double[] q, int exclude) // without replacement of 'exclude'
            {
                double total = q.Where((_, v) => v != exclude).Sum(), goal = random.NextDouble() * total, running = 0;
                for (int v = 0; v < q.Length; v++) { if (v == exclude) continue; running += q[v]; if (running > goal) return v; }
                return Enumerable.Range(0, q.Length).Last(v => v != exclude);
            }
            var tokens = new int[7];
            tokens[1] = Draw(qRoot, -1); tokens[2] = Draw(qRoot, tokens[1]);
            tokens[3] = Draw(qNext[tokens[1]], -1); tokens[4] = Draw(qNext[tokens[1]], tokens[3]);
            tokens[5] = Draw(qNext[tokens[2]], -1); tokens[6] = Draw(qNext[tokens[2]], tokens[5]);
            var target = new[] { pRoot, pNext[tokens[1]], pNext[tokens[2]], pLeaf, pLeaf, pLeaf, pLeaf };
            var draft = new[] { qRoot, qNext[tokens[1]], qNext[tokens[2]], qRoot, qRoot, qRoot, qRoot };
            var decision = MultiDraft.TreeVerify(parents, tokens, target, draft, (n, j) => Variates.Uniform(Rng.Block(key, (uint)(8 * n + j), (ulong)t).Low64));
            Assert.That(decision.Emitted, Has.Length.EqualTo(decision.AcceptedNodes.Length + 1));
            first[decision.Emitted[0]]++;
            if (decision.AcceptedNodes.Length > 0)
            {
                firstAccepted++;
                Assert.That(decision.Emitted[0], Is.EqualTo(tokens[decision.AcceptedNodes[0]]));
                second[decision.Emitted[0]][decision.Emitted[1]]++;
            }
        }
        ChiSquare.AssertFits(first, pRoot, "tree: first emitted token vs p_root");
        for (int v = 0; v < cols; v++)
            ChiSquare.AssertFits(second[v], pNext[v], $"tree: second token after {v} vs p_next[{v}]");
        var acceptance = BinomialTest.Test(firstAccepted, trees, pRoot.Zip(qRoot, Math.Min).Sum());
        Assert.That(acceptance.PValue, Is.LessThan(ChiSquare.Alpha), "two drafts accept more often than one: " + acceptance);
        Assert.That((double)firstAccepted / trees, Is.GreaterThan(pRoot.Zip(qRoot, Math.Min).Sum()));
    }

    [Test]
    public void BadArgumentsThrow()
    {
        double[] p = { .5, .5 }, q = { .5, .5 };
        Assert.Throws<ArgumentOutOfRangeException>(() => MultiDraft.RecursiveRejection(p, q, new[] { 2 }, new[] { .5, .5 }));
        Assert.Throws<ArgumentException>(() => MultiDraft.RecursiveRejection(p, q, new[] { 1, 1 }, new[] { .5, .5, .5 }));
        Assert.Throws<ArgumentException>(() => MultiDraft.KSeq(p, q, new[] { 1 }, new[] { .5 }));
        Assert.Throws<ArgumentException>(() => MultiDraft.KSeq(new[] { double.NaN, 1 }, q, new[] { 1 }, new[] { .5, .5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => MultiDraft.OptimalAcceptance(p, q, 3, withReplacement: false));
        Assert.Throws<ArgumentOutOfRangeException>(() => MultiDraft.OptimalAcceptance(new double[17], new double[17], 1, true));
    }
}
