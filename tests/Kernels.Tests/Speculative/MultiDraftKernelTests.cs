using System;
using System.Collections.Generic;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using Kernels.Tests.Statistics;
using NUnit.Framework;

namespace Kernels.Tests.Speculative;

/// <summary>
/// The multi-draft (RSD, K-SEQ) and tree verification kernels on every backend present: exact output laws by enumeration,
/// agreement with the host float64 references (<see cref="MultiDraft"/>, <see cref="MultiDraftReference"/>), statistics,
/// cross-backend identity and bad data.
/// </summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class MultiDraftKernelTests(Backend backend) : BackendTest(backend)
{
    private (int[] Slots, int[] Tokens) LaunchMulti(MultiDraftVerifier verifier, float[] p, float[] q, int[] drafts, int batch, int k, int cols, double[] uniforms)
    {
        using var pb = Runtime.Upload<float>(p);
        using var qb = Runtime.Upload<float>(q);
        using var xb = Runtime.Upload<int>(drafts);
        using var ub = Runtime.Upload<double>(uniforms);
        using var slots = Runtime.Allocate<int>(batch);
        using var tokens = Runtime.Allocate<int>(batch);
        verifier.LaunchWithUniforms(Runtime, pb, qb, xb, slots, tokens, batch, k, cols, ub);
        return (slots.ToArray(), tokens.ToArray());
    }

    private static (int[] Slots, int[] Tokens) RunMulti(KernelRuntime runtime, bool kSeq, float[] p, float[] q, int[] drafts, int batch, int k, int cols, RngKey[] keys, ulong offset)
    {
        var slots = new int[batch];
        var tokens = new int[batch];
        ulong next = kSeq
            ? KSeqVerify.Run(runtime, p, q, drafts, slots, tokens, batch, k, cols, keys, offset)
            : RecursiveRejectionVerify.Run(runtime, p, q, drafts, slots, tokens, batch, k, cols, keys, offset);
        Assert.That(next, Is.EqualTo(offset + 1));
        return (slots, tokens);
    }

    private static (int[] Accepted, int[] Path, int[] Emitted) RunTree(KernelRuntime runtime, float[] p, float[] q, int[] parents, int[] tokens, int batch, int nodes, int cols, RngKey[] keys, ulong offset)
    {
        var accepted = new int[batch];
        var path = new int[batch * nodes];
        var emitted = new int[batch * nodes];
        Assert.That(TreeVerify.Run(runtime, p, q, parents, tokens, accepted, path, emitted, batch, nodes, cols, keys, offset), Is.EqualTo(offset + 1));
        return (accepted, path, emitted);
    }

    private static double[] Doubles(float[] x) => x.Select(v => (double)v).ToArray();

    /// <summary>
    /// Exact enumeration (fp64; random p with a zero, random q): every draft tuple (without replacement for RSD, i.i.d. for K-SEQ) × every
    /// accept/reject branch × every final token is one row, launched with uniforms inside that branch. The kernel takes the
    /// branch's decision (and the host <see cref="MultiDraft"/> verifier the same one); the kernel's outputs weighted by
    /// the branch probabilities give a law equal to p to 1e-12, and for K-SEQ an acceptance of 1 − (1 − β)^k. Then the
    /// thresholds themselves: uniforms just inside each edge of every branch's intervals (<see cref="UniformBox"/>: the
    /// accept tests' min(1, p_i/q_i) or min(1, p/(ρq)), the final draw's cumulative masses) take that branch's decisions.
    /// </summary>
    [TestCase(false, 1, 1)]
    [TestCase(false, 2, 2)]
    [TestCase(false, 3, 3)]
    [TestCase(true, 4, 1)]
    [TestCase(true, 5, 2)]
    [TestCase(true, 6, 3)]
    public void ExactEnumerationGivesTheTargetLaw(bool kSeq, int seed, int k)
    {
        int cols = IsEmulated ? 5 : 7;
        var random = new System.Random(seed);
        var pf = SpeculativeReference.Distribution(cols, random);
        var qf = SpeculativeReference.Distribution(cols, random);
        pf[seed % cols] = 0f; // a token the target never emits (its drafts are always rejected)
        double[] p = MultiDraftReference.Normalise(Doubles(pf))!, q = MultiDraftReference.Normalise(Doubles(qf))!;
        double rho = MultiDraft.KSeqRho(p, q, k);
        var rows = new List<(int[] Drafts, MultiDraftReference.Branch Branch, double Weight)>();
        foreach (var (drafts, weight) in MultiDraftReference.Tuples(q, k, withReplacement: kSeq))
        {
            var branches = kSeq ? MultiDraftReference.KSeq(p, q, drafts, rho) : MultiDraftReference.RecursiveRejection(p, q, drafts);
            rows.AddRange(branches.Select(b => (drafts, b, weight * b.Weight)));
        }
        int batch = rows.Count;
        Assert.That(rows.Select(r => r.Branch.Slot).Distinct().Count(), Is.EqualTo(k + 1), "every slot accepts in some branch, and all can be rejected");
        var verifier = kSeq ? KSeqVerify.Kernel : RecursiveRejectionVerify.Kernel;
        var (slots, tokens) = LaunchMulti(verifier, SpeculativeReference.Tile(new[] { pf }, batch), SpeculativeReference.Tile(new[] { qf }, batch),
            rows.SelectMany(r => r.Drafts).ToArray(), batch, k, cols, rows.SelectMany(r => r.Branch.Uniforms).ToArray());

        var law = new double[cols];
        double accepted = 0, total = 0;
        for (int i = 0; i < batch; i++)
        {
            var (drafts, branch, weight) = rows[i];
            Assert.That(slots[i], Is.EqualTo(branch.Slot), $"branch {i}: slot");
            var host = kSeq ? MultiDraft.KSeq(p, q, drafts, branch.Uniforms) : MultiDraft.RecursiveRejection(p, q, drafts, branch.Uniforms);
            Assert.That(host.Slot, Is.EqualTo(branch.Slot), $"branch {i}: host slot");
            if (branch.Width > 1e-9)
            {
                Assert.That(tokens[i], Is.EqualTo(branch.Token), $"branch {i}: token");
                Assert.That(host.Token, Is.EqualTo(branch.Token), $"branch {i}: host token");
            }
            law[tokens[i]] += weight;
            if (slots[i] >= 0) accepted += weight;
            total += weight;
        }
        Assert.That(total, Is.EqualTo(1.0).Within(1e-12));
        Assert.That(law, Is.EqualTo(p).Within(1e-12), "output law = p");
        if (kSeq)
            Assert.That(accepted, Is.EqualTo(1 - Math.Pow(1 - MultiDraft.KSeqBeta(p, q, rho), k)).Within(1e-12), "acceptance = 1 − (1 − β)^k");
        else
            Assert.That(accepted, Is.LessThanOrEqualTo(MultiDraft.OptimalAcceptance(p, q, k, withReplacement: false) + 1e-12), "below the optimum");
        if (k == 1)
            Assert.That(accepted, Is.EqualTo(p.Zip(q, Math.Min).Sum()).Within(1e-12), "k = 1: Σ min(p, q)");

        var (probes, owner) = UniformBox.Probes(rows.Select(r => r.Branch.Box).ToList(), IsEmulated ? Math.Min(batch, 300) : int.MaxValue);
        var (probeSlots, probeTokens) = LaunchMulti(verifier, SpeculativeReference.Tile(new[] { pf }, owner.Length), SpeculativeReference.Tile(new[] { qf }, owner.Length),
            owner.SelectMany(i => rows[i].Drafts).ToArray(), owner.Length, k, cols, probes);
        Assert.That(owner.Distinct().Count(), Is.GreaterThan(batch / (IsEmulated ? 6 : 3)), "branches are probed at their edges (not those whose every interval is [0, 1))");
        for (int j = 0; j < owner.Length; j++)
        {
            var branch = rows[owner[j]].Branch;
            string at = $"probe {j} of branch {owner[j]}, uniforms [{string.Join(", ", probes.Skip(j * (k + 1)).Take(k + 1))}]";
            Assert.That(probeSlots[j], Is.EqualTo(branch.Slot), at + ": slot");
            if (branch.Width > 1e-9) // a final token whose interval is narrower sits at its midpoint in the other probes
                Assert.That(probeTokens[j], Is.EqualTo(branch.Token), at + ": token");
        }
    }

    /// <summary>
    /// Exact enumeration of a token tree (root with children 1, 2; node 1 with children 3, 4; node 2 with child 5): every
    /// draft tree (siblings without replacement from their parent's q, which depends on the parent's token) × every branch
    /// of verification is one row. The kernel takes each branch's path and tokens (and so does the host
    /// <see cref="MultiDraft.TreeVerify"/>), and every emitted token follows the target given the tokens before it, to 1e-12.
    /// Leaves' draft rows hold NaN: they are never read.
    /// </summary>
    [TestCase(7)]
    [TestCase(8)]
    public void TreeExactEnumerationGivesTheTargetLaw(int seed)
    {
        const int cols = 4, nodes = 6;
        int[] parents = { -1, 0, 0, 1, 1, 2 };
        var random = new System.Random(seed);
        var pRoot = SpeculativeReference.Dyadic(cols, random);
        var qRoot = SpeculativeReference.Dyadic(cols, random);
        var pNext = Enumerable.Range(0, cols).Select(_ => SpeculativeReference.Dyadic(cols, random)).ToArray();
        var qNext = Enumerable.Range(0, cols).Select(_ => SpeculativeReference.Dyadic(cols, random)).ToArray();
        var pThird = Enumerable.Range(0, cols * cols).Select(_ => SpeculativeReference.Dyadic(cols, random)).ToArray();
        var nan = Enumerable.Repeat(float.NaN, cols).ToArray();
        double[] P(IReadOnlyList<int> prefix) => Doubles(prefix.Count == 0 ? pRoot : prefix.Count == 1 ? pNext[prefix[0]] : pThird[prefix[0] * cols + prefix[1]]);

        var rows = new List<(int[] Tokens, float[][] Target, float[][] Draft, MultiDraftReference.TreeBranch Branch, double Weight)>();
        foreach (var (first, w1) in MultiDraftReference.Tuples(Doubles(qRoot), 2, withReplacement: false))
        foreach (var (second, w2) in MultiDraftReference.Tuples(Doubles(qNext[first[0]]), 2, withReplacement: false))
        foreach (var (third, w3) in MultiDraftReference.Tuples(Doubles(qNext[first[1]]), 1, withReplacement: false))
        {
            int[] tokens = { 0, first[0], first[1], second[0], second[1], third[0] };
            var target = new[] { pRoot, pNext[tokens[1]], pNext[tokens[2]], pThird[tokens[1] * cols + tokens[3]], pThird[tokens[1] * cols + tokens[4]], pThird[tokens[2] * cols + tokens[5]] };
            var draft = new[] { qRoot, qNext[tokens[1]], qNext[tokens[2]], nan, nan, nan };
            var branches = MultiDraftReference.Tree(parents, tokens, target.Select(Doubles).ToArray(), draft.Select(Doubles).ToArray());
            rows.AddRange(branches.Select(b => (tokens, target, draft, b, w1 * w2 * w3 * b.Weight)));
        }
        int batch = rows.Count;
        using var pb = Runtime.Upload<float>(rows.SelectMany(r => r.Target.SelectMany(x => x)).ToArray());
        using var qb = Runtime.Upload<float>(rows.SelectMany(r => r.Draft.SelectMany(x => x)).ToArray());
        using var parentBuffer = Runtime.Upload<int>(Enumerable.Range(0, batch).SelectMany(_ => parents).ToArray());
        using var tokenBuffer = Runtime.Upload<int>(rows.SelectMany(r => r.Tokens).ToArray());
        using var ub = Runtime.Upload<double>(rows.SelectMany(r => r.Branch.Uniforms).ToArray());
        using var acceptedBuffer = Runtime.Allocate<int>(batch);
        using var pathBuffer = Runtime.Allocate<int>(batch * nodes);
        using var emittedBuffer = Runtime.Allocate<int>(batch * nodes);
        TreeVerify.Kernel.LaunchWithUniforms(Runtime, pb, qb, parentBuffer, tokenBuffer, acceptedBuffer, pathBuffer, emittedBuffer, batch, nodes, cols, ub);
        var accepted = acceptedBuffer.ToArray();
        var path = pathBuffer.ToArray();
        var emitted = emittedBuffer.ToArray();

        var reachedWith = new Dictionary<string, double>();
        double total = 0;
        for (int i = 0; i < batch; i++)
        {
            var (tokens, target, draft, branch, weight) = rows[i];
            int depth = branch.Path.Length;
            Assert.That(accepted[i], Is.EqualTo(depth), $"branch {i}: depth");
            Assert.That(path.Skip(i * nodes).Take(nodes), Is.EqualTo(branch.Path.Concat(Enumerable.Repeat(-1, nodes - depth))), $"branch {i}: path");
            var row = emitted.Skip(i * nodes).Take(nodes).ToArray();
            Assert.That(row.Take(depth), Is.EqualTo(branch.Emitted.Take(depth)), $"branch {i}: accepted tokens");
            Assert.That(row.Skip(depth + 1), Is.All.EqualTo(-1), $"branch {i}: padding");
            var host = MultiDraft.TreeVerify(parents, tokens, target.Select(Doubles).ToArray(), draft.Select(d => Doubles(d).Select(v => double.IsNaN(v) ? 1.0 : v).ToArray()).ToArray(),
                (n, j) => j < Enumerable.Range(n + 1, nodes - n - 1).Count(c => parents[c] == n) ? branch.Uniforms[Enumerable.Range(n + 1, nodes - n - 1).Where(c => parents[c] == n).ElementAt(j) - 1] : branch.Uniforms[nodes - 1]);
            Assert.That(host.AcceptedNodes, Is.EqualTo(branch.Path), $"branch {i}: host path");
            if (branch.Width > 1e-9)
            {
                Assert.That(row[depth], Is.EqualTo(branch.Emitted[depth]), $"branch {i}: final token");
                Assert.That(host.Emitted, Is.EqualTo(branch.Emitted), $"branch {i}: host tokens");
            }
            var sequence = row.Take(depth + 1).ToArray();
            for (int n = 0; n < sequence.Length; n++)
            {
                string key = ExactLaw.Key(sequence.Take(n + 1));
                reachedWith[key] = reachedWith.GetValueOrDefault(key) + weight;
            }
            total += weight;
        }
        Assert.That(total, Is.EqualTo(1.0).Within(1e-12));
        // P(A ≥ n, e_<n = y, e_n = v) = P(A ≥ n, e_<n = y)·p(v | y) for every depth n, prefix y and token v.
        var prefixes = new List<int[]> { Array.Empty<int>() };
        for (int n = 0; n < 3; n++)
        {
            var next = new List<int[]>();
            foreach (var prefix in prefixes)
            {
                var with = Enumerable.Range(0, cols).Select(v => reachedWith.GetValueOrDefault(ExactLaw.Key(prefix.Append(v)))).ToArray();
                double mass = with.Sum();
                var p = P(prefix);
                for (int v = 0; v < cols; v++)
                    Assert.That(with[v], Is.EqualTo(mass * p[v]).Within(1e-12), $"depth {n}, prefix [{string.Join(",", prefix)}], token {v}");
                next.AddRange(Enumerable.Range(0, cols).Select(v => prefix.Append(v).ToArray()));
            }
            prefixes = next;
        }
        Assert.That(reachedWith.Keys.Max(s => s.Split(',').Length), Is.EqualTo(3), "some branches accept two levels");

        // The edges of every branch's uniforms take the branch's path and tokens (dyadic rows).
        var (probes, owner) = UniformBox.Probes(rows.Select(r => r.Branch.Box).ToList(), IsEmulated ? Math.Min(batch, 300) : int.MaxValue);
        int count = owner.Length;
        using var probeP = Runtime.Upload<float>(owner.SelectMany(i => rows[i].Target.SelectMany(x => x)).ToArray());
        using var probeQ = Runtime.Upload<float>(owner.SelectMany(i => rows[i].Draft.SelectMany(x => x)).ToArray());
        using var probeParents = Runtime.Upload<int>(Enumerable.Range(0, count).SelectMany(_ => parents).ToArray());
        using var probeTokens = Runtime.Upload<int>(owner.SelectMany(i => rows[i].Tokens).ToArray());
        using var probeU = Runtime.Upload<double>(probes);
        using var probeAccepted = Runtime.Allocate<int>(count);
        using var probePath = Runtime.Allocate<int>(count * nodes);
        using var probeEmitted = Runtime.Allocate<int>(count * nodes);
        TreeVerify.Kernel.LaunchWithUniforms(Runtime, probeP, probeQ, probeParents, probeTokens, probeAccepted, probePath, probeEmitted, count, nodes, cols, probeU);
        var depths = probeAccepted.ToArray();
        var paths = probePath.ToArray();
        var tokensOut = probeEmitted.ToArray();
        Assert.That(owner.Distinct().Count(), Is.GreaterThan(batch / (IsEmulated ? 6 : 3)), "branches are probed at their edges (not those whose every interval is [0, 1))");
        for (int j = 0; j < count; j++)
        {
            var branch = rows[owner[j]].Branch;
            int depth = branch.Path.Length;
            string at = $"probe {j} of branch {owner[j]}, uniforms [{string.Join(", ", probes.Skip(j * nodes).Take(nodes))}]";
            Assert.That(depths[j], Is.EqualTo(depth), at + ": depth");
            Assert.That(paths.Skip(j * nodes).Take(depth), Is.EqualTo(branch.Path), at + ": path");
            Assert.That(tokensOut.Skip(j * nodes).Take(depth + 1), Is.EqualTo(branch.Emitted), at + ": tokens");
        }
    }

    /// <summary>
    /// One draft: RSD and K-SEQ take chain verification's decisions bit for bit (dyadic rows, so that the sums are exact),
    /// with the same keys: the same accept tests and the same correction tokens.
    /// </summary>
    [Test]
    public void OneDraftIsChainVerification()
    {
        int batch = IsEmulated ? 40 : 300, cols = 257;
        var random = new System.Random(31);
        var p = Enumerable.Range(0, batch).Select(_ => SpeculativeReference.Dyadic(cols, random, 12)).ToArray();
        var q = Enumerable.Range(0, batch).Select(_ => SpeculativeReference.Dyadic(cols, random, 12)).ToArray();
        var bonus = Enumerable.Range(0, batch).Select(_ => SpeculativeReference.Dyadic(cols, random, 12)).ToArray();
        var drafts = q.Select(row => SpeculativeReference.Sample(row, random)).ToArray();
        var keys = Enumerable.Range(0, batch).Select(b => new RngKey(1234, (uint)b)).ToArray();
        var accepted = new int[batch];
        var emitted = new int[2 * batch];
        ChainVerify.Run(Runtime, Enumerable.Range(0, batch).SelectMany(b => p[b].Concat(bonus[b])).ToArray(), q.SelectMany(r => r).ToArray(), drafts,
            accepted, emitted, batch, 1, cols, keys, 5);
        foreach (bool kSeq in new[] { false, true })
        {
            var (slots, tokens) = RunMulti(Runtime, kSeq, p.SelectMany(r => r).ToArray(), q.SelectMany(r => r).ToArray(), drafts, batch, 1, cols, keys, 5);
            for (int b = 0; b < batch; b++)
            {
                Assert.That(slots[b] == 0, Is.EqualTo(accepted[b] == 1), $"{(kSeq ? "K-SEQ" : "RSD")} row {b}: accept test");
                Assert.That(tokens[b], Is.EqualTo(emitted[2 * b]), $"{(kSeq ? "K-SEQ" : "RSD")} row {b}: token");
            }
        }
        Assert.That(accepted.Count(a => a == 0), Is.GreaterThan(batch / 10), "both branches are exercised");
        Assert.That(accepted.Count(a => a == 1), Is.GreaterThan(batch / 10));
    }

    /// <summary>
    /// V = 1000, random p and q: RSD with two drafts without replacement and K-SEQ with three i.i.d. drafts. The acceptance
    /// rate of each slot, among rows that reach it, is its exact value (RSD: Σ min(p, q), then the second draft's exact
    /// conditional acceptance, O(V²); K-SEQ: β(ρ) for every slot), binomial, and the emitted token follows p (chi-square),
    /// α = 1e-6, on cpu; the emulators take cpu's decisions for the same keys on fewer rows (bit for bit), which
    /// carries cpu's statistics over to them.
    /// </summary>
    [TestCase(false)]
    [TestCase(true)]
    public void AcceptanceRatesAndOutputLawMatchTheTarget(bool kSeq)
    {
        using var cpu = IsEmulated ? Backends.Create(Backend.Cpu) : null;
        const int cols = 1000;
        int k = kSeq ? 3 : 2, batch = IsEmulated ? (kSeq ? 100 : 200) : 1000, launches = IsEmulated ? 1 : 25;
        var random = new System.Random(kSeq ? 17 : 18);
        var pf = SpeculativeReference.Distribution(cols, random, 3.0);
        var qf = SpeculativeReference.Perturbed(pf, random, 1.5);
        double[] p = MultiDraftReference.Normalise(Doubles(pf))!, q = MultiDraftReference.Normalise(Doubles(qf))!;
        double[] exact;
        if (kSeq)
        {
            double beta = MultiDraft.KSeqBeta(p, q, MultiDraft.KSeqRho(p, q, k));
            exact = Enumerable.Repeat(beta, k).ToArray();
        }
        else
            exact = TwoDraftAcceptance(p, q);
        var target = SpeculativeReference.Tile(new[] { pf }, batch);
        var draft = SpeculativeReference.Tile(new[] { qf }, batch);
        var keys = Enumerable.Range(0, batch).Select(b => new RngKey(88, (uint)b)).ToArray();
        var reached = new long[k];
        var acceptedAt = new long[k];
        var outputs = new List<int>();
        for (int launch = 0; launch < launches; launch++)
        {
            var drafts = Enumerable.Range(0, batch).SelectMany(_ => DrawDrafts(qf, k, !kSeq, random)).ToArray();
            var (slots, tokens) = RunMulti(Runtime, kSeq, target, draft, drafts, batch, k, cols, keys, (ulong)launch);
            if (cpu is not null)
            {
                var there = RunMulti(cpu, kSeq, target, draft, drafts, batch, k, cols, keys, (ulong)launch);
                Assert.That(slots, Is.EqualTo(there.Slots), "the cpu backend's slots");
                Assert.That(tokens, Is.EqualTo(there.Tokens), "the cpu backend's tokens");
            }
            for (int b = 0; b < batch; b++)
            {
                int last = slots[b] < 0 ? k - 1 : slots[b];
                for (int i = 0; i <= last; i++) reached[i]++;
                if (slots[b] >= 0) acceptedAt[slots[b]]++;
                outputs.Add(tokens[b]);
            }
        }
        Assert.That(acceptedAt.Concat(new[] { reached[k - 1] - acceptedAt[k - 1] }), Is.All.GreaterThan(0), "every slot accepts, and all can be rejected");
        if (IsEmulated)
            return; // the statistics are cpu's, at full size
        for (int i = 0; i < k; i++)
        {
            var result = BinomialTest.Test(acceptedAt[i], reached[i], exact[i], $"acceptance of slot {i}");
            Assert.That(result.PValue, Is.GreaterThan(ChiSquare.Alpha), result.ToString);
        }
        ChiSquare.AssertFits(ChiSquare.Histogram(outputs, cols), p, $"emitted token on {Backend.ToName()}");
        // The test can fail: the first drafts themselves do not follow p.
        var control = ChiSquare.GoodnessOfFit(ChiSquare.Histogram(Enumerable.Range(0, 20000).Select(_ => SpeculativeReference.Sample(qf, random)), cols), p);
        Assert.That(control.PValue, Is.LessThan(ChiSquare.Alpha), control.ToString);
    }

    /// <summary>
    /// RSD with two drafts without replacement: P(the first is accepted) = Σ min(p, q), and P(the second is accepted | the
    /// first was rejected), exactly in O(V²): p_2 = norm(max(0, p − q)) whatever x_1 was, and x_2 is drawn from q without x_1.
    /// </summary>
    private static double[] TwoDraftAcceptance(double[] p, double[] q)
    {
        double first = p.Zip(q, Math.Min).Sum(), second = 0;
        var residual = MultiDraftReference.Normalise(p.Zip(q, (t, d) => Math.Max(0, t - d)).ToArray())!;
        for (int x = 0; x < p.Length; x++)
        {
            double a = Math.Min(1, p[x] / q[x]);
            double rest = 0;
            for (int y = 0; y < p.Length; y++)
                if (y != x) rest += Math.Min(residual[y], q[y] / (1 - q[x]));
            second += q[x] * (1 - a) * rest;
        }
        return new[] { first, second / (1 - first) };
    }

    /// <summary>
    /// Trees at V = 1000: the root has two children drawn without replacement from q_root, each with one child from
    /// q_next; the target's rows are p_root, then p_next, then p_leaf (not depending on the earlier tokens). The first
    /// level accepts at RSD's exact rates (first child, then second given the first was rejected), the second at
    /// Σ min(p_next, q_next), binomial; the emitted tokens at depths 0, 1, 2 follow p_root, p_next, p_leaf (chi-square),
    /// α = 1e-6, on cpu; the emulators take cpu's decisions for the same keys on fewer rows (bit for bit).
    /// </summary>
    [Test]
    public void TreeAcceptanceRatesAndOutputLawMatchTheTarget()
    {
        using var cpu = IsEmulated ? Backends.Create(Backend.Cpu) : null;
        const int cols = 1000, nodes = 5;
        int batch = IsEmulated ? 200 : 1000, launches = IsEmulated ? 1 : 20;
        var random = new System.Random(29);
        var pRoot = SpeculativeReference.Distribution(cols, random, 3.0);
        var qRoot = SpeculativeReference.Perturbed(pRoot, random, 1.5);
        var pNext = SpeculativeReference.Distribution(cols, random, 3.0);
        var qNext = SpeculativeReference.Perturbed(pNext, random, 1.0);
        var pLeaf = SpeculativeReference.Distribution(cols, random, 3.0);
        var norm = (float[] x) => MultiDraftReference.Normalise(Doubles(x))!;
        var rootRates = TwoDraftAcceptance(norm(pRoot), norm(qRoot));
        double nextRate = norm(pNext).Zip(norm(qNext), Math.Min).Sum();
        int[] shape = { -1, 0, 0, 1, 2 };
        var target = SpeculativeReference.Tile(new[] { pRoot, pNext, pNext, pLeaf, pLeaf }, batch);
        var draft = SpeculativeReference.Tile(new[] { qRoot, qNext, qNext, qNext, qNext }, batch);
        var parents = Enumerable.Range(0, batch).SelectMany(_ => shape).ToArray();
        var keys = Enumerable.Range(0, batch).Select(b => new RngKey(99, (uint)b)).ToArray();
        long firstTried = 0, firstAccepted = 0, secondTried = 0, secondAccepted = 0, nextTried = 0, nextAccepted = 0;
        var outputs = new[] { new List<int>(), new List<int>(), new List<int>() };
        for (int launch = 0; launch < launches; launch++)
        {
            var tokens = Enumerable.Range(0, batch).SelectMany(_ =>
            {
                var root = DrawDrafts(qRoot, 2, true, random);
                return new[] { 0, root[0], root[1], SpeculativeReference.Sample(qNext, random), SpeculativeReference.Sample(qNext, random) };
            }).ToArray();
            var (accepted, path, emitted) = RunTree(Runtime, target, draft, parents, tokens, batch, nodes, cols, keys, (ulong)launch);
            if (cpu is not null)
            {
                var there = RunTree(cpu, target, draft, parents, tokens, batch, nodes, cols, keys, (ulong)launch);
                Assert.That(accepted, Is.EqualTo(there.Accepted), "the cpu backend's depths");
                Assert.That(path, Is.EqualTo(there.Path), "the cpu backend's paths");
                Assert.That(emitted, Is.EqualTo(there.Emitted), "the cpu backend's tokens");
            }
            for (int b = 0; b < batch; b++)
            {
                int depth = accepted[b];
                firstTried++;
                if (depth >= 1 && path[b * nodes] == 1) firstAccepted++;
                else { secondTried++; if (depth >= 1) secondAccepted++; }
                if (depth >= 1) { nextTried++; if (depth == 2) nextAccepted++; }
                for (int n = 0; n <= depth; n++)
                    outputs[n].Add(emitted[b * nodes + n]);
            }
        }
        Assert.That(new[] { firstAccepted, secondAccepted, nextAccepted, firstTried - firstAccepted - secondAccepted }, Is.All.GreaterThan(0), "every branch of the tree occurs");
        if (IsEmulated)
            return; // the statistics are cpu's, at full size
        foreach (var (hits, tries, rate, what) in new[]
                 {
                     (firstAccepted, firstTried, rootRates[0], "first child"),
                     (secondAccepted, secondTried, rootRates[1], "second child after the first was rejected"),
                     (nextAccepted, nextTried, nextRate, "the accepted child's child"),
                 })
        {
            var result = BinomialTest.Test(hits, tries, rate, what);
            Assert.That(result.PValue, Is.GreaterThan(ChiSquare.Alpha), result.ToString);
        }
        var laws = new[] { norm(pRoot), norm(pNext), norm(pLeaf) };
        for (int n = 0; n < 3; n++)
            ChiSquare.AssertFits(ChiSquare.Histogram(outputs[n], cols), laws[n], $"emitted token at depth {n} on {Backend.ToName()}");
    }

    /// <summary>
    /// End to end on the library's kernels: drafts from <see cref="GumbelTopK"/> over log q (without replacement, in
    /// Gumbel-top-k order), verified by <see cref="RecursiveRejectionVerify"/>: the first draft is accepted at Σ min(p, q)
    /// (binomial) and the tokens follow p (chi-square), α = 1e-6, on cpu; the emulators draw and verify as cpu does for
    /// the same keys (bit for bit) on fewer rows.
    /// </summary>
    [Test]
    public void GumbelTopKDraftsVerifiedByRecursiveRejectionFollowTheTarget()
    {
        int cols = IsEmulated ? 200 : 1000, batch = IsEmulated ? 300 : 8000;
        const int k = 3;
        var random = new System.Random(53);
        var pf = SpeculativeReference.Distribution(cols, random, 3.0);
        var qf = SpeculativeReference.Perturbed(pf, random, 1.5);
        var logQ = Enumerable.Range(0, batch).SelectMany(_ => qf.Select(v => MathF.Log(v))).ToArray();
        var drafts = new int[batch * k];
        GumbelTopK.Run(Runtime, logQ, drafts, new float[batch * k], batch, cols, k, 1f, new RngKey(54), 0);
        var keys = Enumerable.Range(0, batch).Select(b => new RngKey(55, (uint)b)).ToArray();
        var (slots, tokens) = RunMulti(Runtime, false, SpeculativeReference.Tile(new[] { pf }, batch), SpeculativeReference.Tile(new[] { qf }, batch),
            drafts, batch, k, cols, keys, 0);
        Assert.That(slots.Distinct().Count(), Is.EqualTo(k + 1), "every slot accepts, and all can be rejected");
        if (IsEmulated)
        {
            using var cpu = Backends.Create(Backend.Cpu);
            var cpuDrafts = new int[batch * k];
            GumbelTopK.Run(cpu, logQ, cpuDrafts, new float[batch * k], batch, cols, k, 1f, new RngKey(54), 0);
            Assert.That(drafts, Is.EqualTo(cpuDrafts), "the cpu backend's drafts");
            var there = RunMulti(cpu, false, SpeculativeReference.Tile(new[] { pf }, batch), SpeculativeReference.Tile(new[] { qf }, batch), drafts, batch, k, cols, keys, 0);
            Assert.That(slots, Is.EqualTo(there.Slots), "the cpu backend's slots");
            Assert.That(tokens, Is.EqualTo(there.Tokens), "the cpu backend's tokens");
            return; // the statistics are cpu's, at full size
        }
        double[] p = MultiDraftReference.Normalise(Doubles(pf))!, q = MultiDraftReference.Normalise(Doubles(qf))!;
        var first = BinomialTest.Test(slots.LongCount(s => s == 0), batch, p.Zip(q, Math.Min).Sum(), "first draft accepted");
        Assert.That(first.PValue, Is.GreaterThan(ChiSquare.Alpha), first.ToString);
        Assert.That(tokens, Is.All.InRange(0, cols - 1));
        ChiSquare.AssertFits(ChiSquare.Histogram(tokens, cols), p, $"GumbelTopK + RSD tokens on {Backend.ToName()}");
        Assert.That(slots.Count(s => s > 0), Is.GreaterThan(0), "later drafts are accepted too");
    }

    /// <summary>k drafts from q: without replacement (sequentially renormalised) or i.i.d.</summary>
    private static int[] DrawDrafts(float[] q, int k, bool withoutReplacement, System.Random random)
    {
        var weights = (float[])q.Clone();
        var drafts = new int[k];
        for (int i = 0; i < k; i++)
        {
            drafts[i] = SpeculativeReference.Sample(weights, random);
            if (withoutReplacement) weights[drafts[i]] = 0f;
        }
        return drafts;
    }

    /// <summary>A random tree per row: node n's parent uniform in [0, n), siblings' tokens distinct, p and q rows random.</summary>
    private static (float[] Target, float[] Draft, int[] Parents, int[] Tokens) RandomTrees(int batch, int nodes, int cols, int seed)
    {
        var random = new System.Random(seed);
        var target = new List<float>();
        var draft = new List<float>();
        var parents = new List<int>();
        var tokens = new List<int>();
        for (int b = 0; b < batch; b++)
        {
            var rowParents = new int[nodes];
            var rowTokens = new int[nodes];
            rowParents[0] = -1;
            var q = Enumerable.Range(0, nodes).Select(_ => SpeculativeReference.Distribution(cols, random)).ToArray();
            for (int n = 1; n < nodes; n++)
            {
                rowParents[n] = random.Next(Math.Min(n, 3));
                var weights = (float[])q[rowParents[n]].Clone();
                for (int m = 1; m < n; m++)
                    if (rowParents[m] == rowParents[n]) weights[rowTokens[m]] = 0f;
                rowTokens[n] = SpeculativeReference.Sample(weights, random);
            }
            foreach (var row in q)
            {
                target.AddRange(SpeculativeReference.Perturbed(row, random, 0.7));
                draft.AddRange(row);
            }
            parents.AddRange(rowParents);
            tokens.AddRange(rowTokens);
        }
        return (target.ToArray(), draft.ToArray(), parents.ToArray(), tokens.ToArray());
    }

    /// <summary>Same keys and offset, same decisions as the cpu backend, for RSD, K-SEQ and trees; and the host references' decisions for those uniforms.</summary>
    [Test]
    public void SameKeysGiveTheSameDecisionsAsTheCpuBackend()
    {
        int batch = IsEmulated ? 24 : 64, cols = IsEmulated ? 1501 : 8009;
        const int k = 3, nodes = 7;
        var random = new System.Random(41);
        var pRows = Enumerable.Range(0, batch).Select(_ => SpeculativeReference.Distribution(cols, random)).ToArray();
        var qRows = pRows.Select(r => SpeculativeReference.Perturbed(r, random, 1.0)).ToArray();
        var target = pRows.SelectMany(r => r).ToArray();
        var draft = qRows.SelectMany(r => r).ToArray();
        var drafts = qRows.SelectMany(r => DrawDrafts(r, k, true, random)).ToArray();
        var keys = Enumerable.Range(0, batch).Select(b => new RngKey(0xFACEUL + (ulong)(b % 2), (uint)b * 3)).ToArray();
        using var cpu = Backends.Create(Backend.Cpu);
        foreach (bool kSeq in new[] { false, true })
        {
            var here = RunMulti(Runtime, kSeq, target, draft, drafts, batch, k, cols, keys, 9);
            var there = RunMulti(cpu, kSeq, target, draft, drafts, batch, k, cols, keys, 9);
            Assert.That(here.Slots, Is.EqualTo(there.Slots), kSeq ? "K-SEQ slots" : "RSD slots");
            Assert.That(here.Tokens, Is.EqualTo(there.Tokens), kSeq ? "K-SEQ tokens" : "RSD tokens");
            Assert.That(here.Slots, Does.Contain(-1).And.Contain(0).And.Contain(1), "accepts at several slots, and residual draws");
            for (int b = 0; b < batch; b++)
            {
                var u = Enumerable.Range(0, k + 1).Select(c => Variates.Uniform(Rng.Block(keys[b], (uint)c, 9).Low64)).ToArray();
                var x = drafts.Skip(b * k).Take(k).ToArray();
                var host = kSeq ? MultiDraft.KSeq(Doubles(pRows[b]), Doubles(qRows[b]), x, u) : MultiDraft.RecursiveRejection(Doubles(pRows[b]), Doubles(qRows[b]), x, u);
                Assert.That(here.Slots[b], Is.EqualTo(host.Slot), $"row {b}: the host reference's slot");
            }
        }
        var (treeP, treeQ, parents, tokens) = RandomTrees(batch, nodes, cols / 4, 43);
        var treeHere = RunTree(Runtime, treeP, treeQ, parents, tokens, batch, nodes, cols / 4, keys, 2);
        var treeThere = RunTree(cpu, treeP, treeQ, parents, tokens, batch, nodes, cols / 4, keys, 2);
        Assert.That(treeHere.Accepted, Is.EqualTo(treeThere.Accepted), "tree depths");
        Assert.That(treeHere.Path, Is.EqualTo(treeThere.Path), "tree paths");
        Assert.That(treeHere.Emitted, Is.EqualTo(treeThere.Emitted), "tree tokens");
        Assert.That(treeHere.Accepted.Distinct().Count(), Is.GreaterThan(2), "several depths");
    }

    /// <summary>A chain-shaped tree takes chain verification's decisions with the same keys (the counters coincide).</summary>
    [Test]
    public void AChainShapedTreeIsChainVerification()
    {
        const int batch = 20, length = 3, cols = 129;
        var random = new System.Random(61);
        var p = Enumerable.Range(0, batch * (length + 1)).Select(_ => SpeculativeReference.Dyadic(cols, random, 12)).ToArray();
        var q = Enumerable.Range(0, batch * length).Select(i => i % 2 == 0 ? (float[])p[i / length * (length + 1) + i % length].Clone() : SpeculativeReference.Dyadic(cols, random, 12)).ToArray();
        var drafts = Enumerable.Range(0, batch * length).Select(i => SpeculativeReference.Sample(q[i], random)).ToArray();
        var keys = Enumerable.Range(0, batch).Select(b => new RngKey(71, (uint)b)).ToArray();
        var accepted = new int[batch];
        var emitted = new int[batch * (length + 1)];
        ChainVerify.Run(Runtime, p.SelectMany(r => r).ToArray(), q.SelectMany(r => r).ToArray(), drafts, accepted, emitted, batch, length, cols, keys, 1);
        // Tree nodes 0..L: node n + 1 is the child of node n with token x_n; node n's q row is q_n (the last one unused).
        var treeQ = Enumerable.Range(0, batch).SelectMany(b => Enumerable.Range(0, length + 1).SelectMany(n => n < length ? q[b * length + n] : new float[cols])).ToArray();
        var parents = Enumerable.Range(0, batch).SelectMany(_ => Enumerable.Range(-1, length + 1)).ToArray();
        var tokens = Enumerable.Range(0, batch).SelectMany(b => new[] { 0 }.Concat(drafts.Skip(b * length).Take(length))).ToArray();
        var tree = RunTree(Runtime, p.SelectMany(r => r).ToArray(), treeQ, parents, tokens, batch, length + 1, cols, keys, 1);
        Assert.That(tree.Accepted, Is.EqualTo(accepted));
        Assert.That(tree.Emitted, Is.EqualTo(emitted));
        Assert.That(accepted.Distinct().Count(), Is.GreaterThan(1));
    }

    [Test]
    public void BadDataHasItsDocumentedOutcome()
    {
        const int cols = 12, k = 3, batch = 8;
        var random = new System.Random(6);
        var p = Enumerable.Range(0, batch).Select(_ => SpeculativeReference.Distribution(cols, random)).ToArray();
        var q = Enumerable.Range(0, batch).Select(_ => SpeculativeReference.Distribution(cols, random)).ToArray();
        var drafts = Enumerable.Range(0, batch * k).Select(i => (i * 5 + i / k) % cols).ToArray();
        drafts[0 * k + 2] = cols;                                     // row 0: a draft = V → invalid
        drafts[1 * k + 0] = -1;                                       // row 1: a draft −1 → invalid
        drafts[2 * k + 1] = drafts[2 * k];                            // row 2: repeated draft: invalid for RSD, fine for K-SEQ
        q[3][drafts[3 * k]] = 0f; p[3][drafts[3 * k]] = 0.5f;         // row 3: q = 0 < p at the first draft: accepted
        q[4][5] = float.NaN;                                          // row 4: NaN in q → invalid
        p[5][7] = -1f;                                                // row 5: negative p → invalid
        Array.Clear(p[6]);                                            // row 6: p has no mass → invalid
        Array.Copy(p[7], q[7], cols);                                 // row 7: p = q: the first draft is accepted
        var target = p.SelectMany(r => r).ToArray();
        var draft = q.SelectMany(r => r).ToArray();
        var keys = Enumerable.Range(0, batch).Select(b => new RngKey(2, (uint)b)).ToArray();
        foreach (bool kSeq in new[] { false, true })
        {
            for (ulong offset = 0; offset < 3; offset++)
            {
                var (slots, tokens) = RunMulti(Runtime, kSeq, target, draft, drafts, batch, k, cols, keys, offset);
                foreach (int b in kSeq ? new[] { 0, 1, 4, 5, 6 } : new[] { 0, 1, 2, 4, 5, 6 })
                    Assert.That((slots[b], tokens[b]), Is.EqualTo((-1, -1)), $"{(kSeq ? "K-SEQ" : "RSD")} row {b} is invalid");
                Assert.That(slots[3], Is.EqualTo(0), "q = 0 < p accepts");
                Assert.That(tokens[3], Is.EqualTo(drafts[3 * k]));
                Assert.That(slots[7], Is.EqualTo(0), "p = q accepts");
                if (kSeq)
                    Assert.That(tokens[2], Is.InRange(0, cols - 1), "K-SEQ drafts are i.i.d.: repeats are valid");
            }
        }

        // Trees: bad shapes are per-row invalid; rows that verification never visits are not checked.
        const int nodes = 5;
        var (treeP, treeQ, parents, nodeTokens) = RandomTrees(7, nodes, cols, 8);
        parents[0 * nodes + 3] = 3;                                   // row 0: a node is its own parent (a cycle)
        parents[1 * nodes + 2] = 4;                                   // row 1: forward reference
        parents[2 * nodes + 1] = -2;                                  // row 2: out of range
        parents[3 * nodes + 0] = 0;                                   // row 3: the root has a parent
        nodeTokens[4 * nodes + 1] = cols;                             // row 4: a token outside [0, V)
        parents[5 * nodes + 2] = parents[5 * nodes + 1]; nodeTokens[5 * nodes + 2] = nodeTokens[5 * nodes + 1]; // row 5: equal siblings
        for (int v = 0; v < cols; v++) treeQ[(6 * nodes + nodes - 1) * cols + v] = float.NaN; // row 6: NaN in the last node's q row
        parents[6 * nodes + nodes - 1] = nodes - 2;                   //        (a leaf: never read)
        var treeKeys = Enumerable.Range(0, 7).Select(b => new RngKey(4, (uint)b)).ToArray();
        var (accepted, path, emitted) = RunTree(Runtime, treeP, treeQ, parents, nodeTokens, 7, nodes, cols, treeKeys, 0);
        for (int b = 0; b < 6; b++)
        {
            Assert.That(accepted[b], Is.EqualTo(-1), $"tree row {b} is invalid");
            Assert.That(path.Skip(b * nodes).Take(nodes), Is.All.EqualTo(-1));
            Assert.That(emitted.Skip(b * nodes).Take(nodes), Is.All.EqualTo(-1));
        }
        Assert.That(accepted[6], Is.InRange(0, nodes - 1), "a leaf's q row is never read");
        Assert.That(emitted[6 * nodes + accepted[6]], Is.InRange(0, cols - 1));
    }
}
