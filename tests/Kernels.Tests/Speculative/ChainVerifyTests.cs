using System;
using System.Collections.Generic;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using Kernels.Tests.Statistics;
using NUnit.Framework;

namespace Kernels.Tests.Speculative;

/// <summary>Chain verification on every backend present: decisions, exact law, statistics, cross-backend identity, bad data.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class ChainVerifyTests(Backend backend) : BackendTest(backend)
{
    private static readonly (int Batch, int Length, int Cols)[] Shapes = { (1, 1, 1), (3, 2, 7), (5, 4, 64), (2, 3, 1029), (4, 0, 33), (2, 1, 5000) };

    /// <summary>Random p and q rows [B, L+1, V] and [B, L, V] with drafts drawn from q.</summary>
    private static (float[] Target, float[] Draft, int[] Tokens) Problem(int batch, int length, int cols, int seed, double noise = 1.0)
    {
        var random = new System.Random(seed);
        var target = new List<float>();
        var draft = new List<float>();
        var tokens = new List<int>();
        for (int b = 0; b < batch; b++)
        {
            var p = Enumerable.Range(0, length + 1).Select(_ => SpeculativeReference.Distribution(cols, random)).ToArray();
            foreach (var row in p) target.AddRange(row);
            for (int k = 0; k < length; k++)
            {
                var q = SpeculativeReference.Perturbed(p[k], random, noise);
                draft.AddRange(q);
                tokens.Add(SpeculativeReference.Sample(q, random));
            }
        }
        return (target.ToArray(), draft.ToArray(), tokens.ToArray());
    }

    private (int[] Accepted, int[] Emitted) Launch(float[] target, float[] draft, int[] tokens, int batch, int length, int cols, double[] uniforms)
    {
        using var p = Runtime.Upload<float>(target);
        using var q = Runtime.Upload<float>(draft.Length == 0 ? new float[1] : draft);
        using var x = Runtime.Upload<int>(tokens.Length == 0 ? new int[1] : tokens);
        using var u = Runtime.Upload<double>(uniforms);
        using var accepted = Runtime.Allocate<int>(batch);
        using var emitted = Runtime.Allocate<int>(batch * (length + 1));
        ChainVerify.Kernel.LaunchWithUniforms(Runtime, p, q, x, accepted, emitted, batch, length, cols, u);
        return (accepted.ToArray(), emitted.ToArray());
    }

    private static (int[] Accepted, int[] Emitted) RunKeys(KernelRuntime runtime, float[] target, float[] draft, int[] tokens, int batch, int length, int cols, RngKey[] keys, ulong offset)
    {
        var accepted = new int[batch];
        var emitted = new int[batch * (length + 1)];
        Assert.That(ChainVerify.Run(runtime, target, draft, tokens, accepted, emitted, batch, length, cols, keys, offset), Is.EqualTo(offset + 1));
        return (accepted, emitted);
    }

    [TestCaseSource(nameof(Shapes))]
    public void InjectedUniformsGiveTheReferenceDecisions((int Batch, int Length, int Cols) shape)
    {
        var (batch, length, cols) = shape;
        var (target, draft, tokens) = Problem(batch, length, cols, seed: batch * 31 + length * 7 + cols);
        var uniforms = new System.Random(cols + 1).GetItems(Enumerable.Range(1, 999).Select(i => i / 1000.0).ToArray(), batch * (length + 1));
        var (accepted, emitted) = Launch(target, draft, tokens, batch, length, cols, uniforms);
        for (int b = 0; b < batch; b++)
        {
            var expected = SpeculativeReference.Verify(target, draft, tokens, b, length, cols, uniforms.AsSpan(b * (length + 1), length + 1).ToArray());
            Assert.That(accepted[b], Is.EqualTo(expected.Accepted), $"row {b}: accepted");
            var row = emitted.AsSpan(b * (length + 1), length + 1).ToArray();
            Assert.That(row.Take(expected.Accepted), Is.EqualTo(expected.Emitted.Take(expected.Accepted)), $"row {b}: accepted drafts");
            Assert.That(row.Skip(expected.Accepted + 1), Is.All.EqualTo(-1), $"row {b}: padding");
            Assert.That(row[expected.Accepted], Is.InRange(0, cols - 1), $"row {b}: extra token");
            if (expected.Margin > 1e-9)
                Assert.That(row[expected.Accepted], Is.EqualTo(expected.Emitted[expected.Accepted]), $"row {b}: extra token");
        }
    }

    /// <summary>
    /// Exact enumeration (fp64, dyadic p and q so that residuals are exact): every draft tuple × every branch of the accept
    /// tests × every token of the final draw is one row, launched with uniforms inside that branch. The kernel's outputs,
    /// weighted by the branch probabilities, give its output law, which must be the target's: each emitted token follows
    /// its p_k given the tokens before it, and P(A ≥ n) = Π_{k&lt;n} Σ min(p_k, q_k). Then the thresholds themselves:
    /// uniforms just inside each edge of every branch's interval (an accept test's min(1, p/q), a final draw's cumulative
    /// masses; <see cref="UniformBox"/>) take that branch's decisions, so a biased accept rule or residual sampler fails.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void ExactEnumerationGivesTheTargetLaw(int seed)
    {
        int cols = IsEmulated ? 5 : 8, length = IsEmulated ? 2 : 3;
        var random = new System.Random(seed);
        var p = Enumerable.Range(0, length + 1).Select(_ => SpeculativeReference.Dyadic(cols, random)).ToArray();
        var q = Enumerable.Range(0, length).Select(_ => SpeculativeReference.Dyadic(cols, random)).ToArray();
        if (seed == 3)
            q[0] = (float[])p[0].Clone(); // p = q: acceptance 1 at position 0

        var rows = new List<(int[] Tokens, UniformBox Box, double Weight, int Accepted, int Final)>();
        foreach (var x in Tuples(length, cols))
        {
            double tuple = 1;
            for (int k = 0; k < length; k++) tuple *= q[k][x[k]];
            if (tuple == 0) continue;
            double reach = tuple;
            var u = UniformBox.Full(length + 1);
            for (int j = 0; j <= length && reach > 0; j++)
            {
                double a = j < length ? Math.Min(1.0, (double)p[j][x[j]] / q[j][x[j]]) : 1.0;
                double path = j < length ? reach * (1 - a) : reach;
                if (path > 0)
                {
                    var pathU = j < length ? u.With(j, a, 1) : u; // reject draft j
                    var weights = Enumerable.Range(0, cols).Select(v => j < length ? (double)Math.Max(0f, p[j][v] - q[j][v]) : p[j][v]).ToArray();
                    double total = weights.Sum(), running = 0;
                    for (int v = 0; v < cols; v++)
                    {
                        if (weights[v] <= 0) continue;
                        var final = pathU.With(length, running / total, (running + weights[v]) / total);
                        running += weights[v];
                        rows.Add((x, final, path * weights[v] / total, j, v));
                    }
                }
                if (j < length)
                {
                    u = u.With(j, 0, a); // accept draft j and go on
                    reach *= a;
                }
            }
        }

        int batch = rows.Count;
        var target = SpeculativeReference.Tile(p, batch);
        var draft = SpeculativeReference.Tile(q, batch);
        var (accepted, emitted) = Launch(target, draft, rows.SelectMany(r => r.Tokens).ToArray(), batch, length, cols, rows.SelectMany(r => r.Box.Mid).ToArray());

        // The kernel follows every branch; its law, P(A ≥ n, e_≤n = y) per prefix y, is a probability law.
        var reachedWith = new Dictionary<string, double>();
        double totalWeight = 0;
        for (int i = 0; i < batch; i++)
        {
            Assert.That(accepted[i], Is.EqualTo(rows[i].Accepted), $"branch {i}");
            Assert.That(emitted[i * (length + 1) + rows[i].Accepted], Is.EqualTo(rows[i].Final), $"branch {i}");
            var sequence = emitted.Skip(i * (length + 1)).Take(accepted[i] + 1).ToArray();
            for (int n = 0; n < sequence.Length; n++)
            {
                string key = ExactLaw.Key(sequence.Take(n + 1));
                reachedWith[key] = reachedWith.GetValueOrDefault(key) + rows[i].Weight;
            }
            totalWeight += rows[i].Weight;
        }
        Assert.That(totalWeight, Is.EqualTo(1.0).Within(1e-12));

        // P(A ≥ n, e_<n = y, e_n = v) = P(A ≥ n, e_<n = y)·p_n(v) for every n, prefix y and v, where
        // P(A ≥ n, e_<n = y) = Σ_v P(A ≥ n, e_≤n = y·v) and P(A ≥ n) = Π_{k<n} Σ min(p_k, q_k).
        for (int n = 0; n <= length; n++)
        {
            double reached = 0;
            foreach (var prefix in Tuples(n, cols))
            {
                var with = Enumerable.Range(0, cols).Select(v => reachedWith.GetValueOrDefault(ExactLaw.Key(prefix.Append(v)))).ToArray();
                double mass = with.Sum();
                reached += mass;
                for (int v = 0; v < cols; v++)
                    Assert.That(with[v], Is.EqualTo(mass * p[n][v]).Within(1e-12), $"position {n}, prefix [{string.Join(",", prefix)}], token {v}");
            }
            double beta = 1;
            for (int k = 0; k < n; k++) beta *= SpeculativeReference.ExpectedAcceptance(p[k], q[k]);
            Assert.That(reached, Is.EqualTo(beta).Within(1e-12), $"P(A ≥ {n}) = Π β_k");
        }

        // The edges of every branch's uniforms take the branch's decisions (dyadic rows: the kernel's sums are exact).
        var (probes, owner) = UniformBox.Probes(rows.Select(r => r.Box).ToList(), IsEmulated ? Math.Min(batch, 300) : int.MaxValue);
        var (probeAccepted, probeEmitted) = Launch(SpeculativeReference.Tile(p, owner.Length), SpeculativeReference.Tile(q, owner.Length),
            owner.SelectMany(i => rows[i].Tokens).ToArray(), owner.Length, length, cols, probes);
        Assert.That(owner.Distinct().Count(), Is.GreaterThan(batch / (IsEmulated ? 6 : 3)), "branches are probed at their edges (not those whose every interval is [0, 1))");
        for (int j = 0; j < owner.Length; j++)
        {
            var row = rows[owner[j]];
            var u = probes.AsSpan(j * (length + 1), length + 1).ToArray();
            Assert.That(probeAccepted[j], Is.EqualTo(row.Accepted), $"probe {j} of branch {owner[j]}: accepted, uniforms [{string.Join(", ", u)}]");
            Assert.That(probeEmitted[j * (length + 1) + row.Accepted], Is.EqualTo(row.Final), $"probe {j} of branch {owner[j]}: final token, uniforms [{string.Join(", ", u)}]");
        }
    }

    private static IEnumerable<int[]> Tuples(int length, int cols)
    {
        if (length == 0)
        {
            yield return Array.Empty<int>();
            yield break;
        }
        foreach (var head in Tuples(length - 1, cols))
            for (int v = 0; v < cols; v++)
                yield return head.Append(v).ToArray();
    }

    /// <summary>
    /// V = 1000, random p and q: the per-position acceptance rate is Σ min(p, q) (exact binomial) and each emitted token
    /// follows its p_k (chi-square), α = 1e-6, on cpu; the emulators take the same decisions as cpu for the same keys on
    /// fewer launches (bit for bit), which carries cpu's statistics over to them.
    /// </summary>
    [Test]
    public void AcceptanceRateAndOutputLawMatchTheTarget()
    {
        using var cpu = IsEmulated ? Backends.Create(Backend.Cpu) : null;
        const int cols = 1000, length = 3;
        int batch = IsEmulated ? 100 : 1000, launches = IsEmulated ? 2 : 20;
        var random = new System.Random(2024);
        var p = Enumerable.Range(0, length + 1).Select(_ => SpeculativeReference.Distribution(cols, random, 3.0)).ToArray();
        var q = Enumerable.Range(0, length).Select(k => SpeculativeReference.Perturbed(p[k], random, 1.0 + k)).ToArray();
        var beta = Enumerable.Range(0, length).Select(k => SpeculativeReference.ExpectedAcceptance(p[k], q[k])).ToArray();
        var target = SpeculativeReference.Tile(p, batch);
        var draft = SpeculativeReference.Tile(q, batch);
        var keys = Enumerable.Range(0, batch).Select(b => new RngKey(77, (uint)b)).ToArray();
        var reached = new long[length + 1];
        var acceptedAt = new long[length];
        var outputs = Enumerable.Range(0, length + 1).Select(_ => new List<int>()).ToArray();
        var firstDrafts = new List<int>();
        for (int launch = 0; launch < launches; launch++)
        {
            var tokens = Enumerable.Range(0, batch * length).Select(i => SpeculativeReference.Sample(q[i % length], random)).ToArray();
            var (accepted, emitted) = RunKeys(Runtime, target, draft, tokens, batch, length, cols, keys, (ulong)launch);
            if (cpu is not null)
            {
                var there = RunKeys(cpu, target, draft, tokens, batch, length, cols, keys, (ulong)launch);
                Assert.That(accepted, Is.EqualTo(there.Accepted), $"launch {launch}: the cpu backend's accepted counts");
                Assert.That(emitted, Is.EqualTo(there.Emitted), $"launch {launch}: the cpu backend's tokens");
            }
            for (int b = 0; b < batch; b++)
            {
                firstDrafts.Add(tokens[b * length]);
                for (int n = 0; n <= accepted[b]; n++)
                {
                    reached[n]++;
                    outputs[n].Add(emitted[b * (length + 1) + n]);
                    if (n < accepted[b]) acceptedAt[n]++;
                }
            }
        }
        Assert.That(reached[length], Is.GreaterThan(batch * launches / 20), "every position is reached");
        if (IsEmulated)
            return; // the statistics are cpu's, at full size
        for (int k = 0; k < length; k++)
        {
            var result = BinomialTest.Test(acceptedAt[k], reached[k], beta[k], $"acceptance at position {k}");
            Assert.That(result.PValue, Is.GreaterThan(ChiSquare.Alpha), result.ToString);
        }
        for (int n = 0; n <= length; n++)
        {
            if (reached[n] < 20) continue;
            ChiSquare.AssertFits(ChiSquare.Histogram(outputs[n], cols), p[n].Select(v => (double)v).ToArray(), $"emitted token {n} on {Backend.ToName()}");
        }
        // The test can fail: the drafts themselves (accept everything) do not follow p_0.
        var control = ChiSquare.GoodnessOfFit(ChiSquare.Histogram(firstDrafts, cols), p[0].Select(v => (double)v).ToArray());
        Assert.That(control.PValue, Is.LessThan(ChiSquare.Alpha), control.ToString);
    }

    [Test]
    public void SameKeysGiveTheSameDecisionsAsTheCpuBackend()
    {
        int batch = IsEmulated ? 24 : 96, cols = IsEmulated ? 3001 : 32003;
        const int length = 4;
        var (target, draft, tokens) = Problem(batch, length, cols, seed: 9, noise: 0.5);
        var keys = Enumerable.Range(0, batch).Select(b => new RngKey(0xBEEFUL + (ulong)(b % 3), (uint)b * 5)).ToArray();
        var (accepted, emitted) = RunKeys(Runtime, target, draft, tokens, batch, length, cols, keys, 7);
        using var cpu = Backends.Create(Backend.Cpu);
        var expected = RunKeys(cpu, target, draft, tokens, batch, length, cols, keys, 7);
        Assert.That(accepted, Is.EqualTo(expected.Accepted), "same keys and offset, same accepted counts");
        Assert.That(emitted, Is.EqualTo(expected.Emitted), "same keys and offset, same tokens");
        Assert.That(accepted.Distinct().Count(), Is.EqualTo(length + 1), "every accepted count 0..L occurs: residual draws at every position and bonus draws");
        // And the decisions are the reference's for the uniforms the keys give.
        for (int b = 0; b < batch; b++)
        {
            var u = Enumerable.Range(0, length + 1).Select(k => Variates.Uniform(Rng.Block(keys[b], (uint)k, 7).Low64)).ToArray();
            var reference = SpeculativeReference.Verify(target, draft, tokens, b, length, cols, u);
            Assert.That(accepted[b], Is.EqualTo(reference.Accepted), $"row {b}");
            if (reference.Margin > 1e-9)
                Assert.That(emitted.Skip(b * (length + 1)).Take(length + 1), Is.EqualTo(reference.Emitted), $"row {b}");
        }
    }

    [Test]
    public void PerRowKeysMakeARowIndependentOfItsPlaceAndTheOffsetAdvances()
    {
        const int batch = 6, length = 3, cols = 300;
        var (target, draft, tokens) = Problem(batch, length, cols, seed: 4);
        var keys = Enumerable.Range(0, batch).Select(b => new RngKey((ulong)(500 + b))).ToArray();
        var (accepted, emitted) = RunKeys(Runtime, target, draft, tokens, batch, length, cols, keys, 3);
        var order = new[] { 4, 2, 0, 5, 1, 3 };
        int pRow = (length + 1) * cols, qRow = length * cols;
        var (shuffledAccepted, shuffledEmitted) = RunKeys(Runtime,
            order.SelectMany(b => target.Skip(b * pRow).Take(pRow)).ToArray(),
            order.SelectMany(b => draft.Skip(b * qRow).Take(qRow)).ToArray(),
            order.SelectMany(b => tokens.Skip(b * length).Take(length)).ToArray(),
            batch, length, cols, order.Select(b => keys[b]).ToArray(), 3);
        for (int i = 0; i < batch; i++)
        {
            Assert.That(shuffledAccepted[i], Is.EqualTo(accepted[order[i]]), $"request {order[i]}");
            Assert.That(shuffledEmitted.Skip(i * (length + 1)).Take(length + 1), Is.EqualTo(emitted.Skip(order[i] * (length + 1)).Take(length + 1)));
        }

        // One key per launch: row b uses stream Stream + b, and Launch agrees with Run.
        var key = new RngKey(11, 40);
        using var p = Runtime.Upload<float>(target);
        using var q = Runtime.Upload<float>(draft);
        using var x = Runtime.Upload<int>(tokens);
        using var acceptedBuffer = Runtime.Allocate<int>(batch);
        using var emittedBuffer = Runtime.Allocate<int>(batch * (length + 1));
        Assert.That(ChainVerifyBatch.Launch(Runtime, p, q, x, acceptedBuffer, emittedBuffer, batch, length, cols, key, 3), Is.EqualTo(4UL));
        var run = new int[batch];
        ChainVerifyBatch.Run(Runtime, target, draft, tokens, run, new int[batch * (length + 1)], batch, length, cols, key, 3);
        Assert.That(acceptedBuffer.ToArray(), Is.EqualTo(run));
        var streams = Enumerable.Range(0, batch).Select(b => Rng.RowKey(key, b)).ToArray();
        Assert.That(RunKeys(Runtime, target, draft, tokens, batch, length, cols, streams, 3).Accepted, Is.EqualTo(run));
    }

    [Test]
    public void NoDraftsDrawsTheBonusTokenFromTheTarget()
    {
        const int batch = 3, cols = 50;
        var random = new System.Random(12);
        var target = Enumerable.Range(0, batch).SelectMany(_ => SpeculativeReference.Distribution(cols, random)).ToArray();
        var keys = Enumerable.Range(0, batch).Select(b => new RngKey(9, (uint)b)).ToArray();
        var (accepted, emitted) = RunKeys(Runtime, target, Array.Empty<float>(), Array.Empty<int>(), batch, 0, cols, keys, 0);
        Assert.That(accepted, Is.All.EqualTo(0));
        for (int b = 0; b < batch; b++)
        {
            var u = new[] { Variates.Uniform(Rng.Block(keys[b], 0, 0).Low64) };
            var expected = SpeculativeReference.Verify(target, Array.Empty<float>(), Array.Empty<int>(), b, 0, cols, u);
            if (expected.Margin > 1e-9)
                Assert.That(emitted[b], Is.EqualTo(expected.Emitted[0]), $"row {b}");
        }
    }

    [Test]
    public void BadDataHasItsDocumentedOutcome()
    {
        const int length = 2, cols = 16, batch = 9;
        var random = new System.Random(5);
        var p = Enumerable.Range(0, batch * (length + 1)).Select(_ => SpeculativeReference.Distribution(cols, random)).ToArray();
        var q = Enumerable.Range(0, batch * length).Select(_ => SpeculativeReference.Distribution(cols, random)).ToArray();
        var tokens = Enumerable.Range(0, batch * length).Select(i => i % cols).ToArray();
        float[] P(int b, int k) => p[b * (length + 1) + k];
        float[] Q(int b, int k) => q[b * length + k];

        tokens[0 * length + 1] = cols;                              // row 0: draft token = V → invalid
        tokens[1 * length + 0] = -1;                                // row 1: draft token −1 → invalid
        for (int k = 0; k < length; k++) { Q(2, k)[tokens[2 * length + k]] = 0f; P(2, k)[tokens[2 * length + k]] = 0.5f; } // row 2: q = 0 < p: accepted
        Q(3, 0)[tokens[3 * length]] = 0f; P(3, 0)[tokens[3 * length]] = 0f;                 // row 3: q = p = 0: rejected at 0
        P(4, 0)[tokens[4 * length]] = float.NaN;                    // row 4: NaN read by the accept test → invalid
        P(5, 0)[tokens[5 * length]] = 0f; Q(5, 0)[(tokens[5 * length] + 3) % cols] = float.NaN; // row 5: rejected, NaN in the residual row → invalid
        for (int v = 0; v < cols; v++) P(6, 0)[v] = Q(6, 0)[v] / 2; // row 6: p ≤ q: residual mass 0 → fallback to p_0
        P(6, 0)[tokens[6 * length]] = 0f;                           //        and the draft is surely rejected
        P(7, 0)[tokens[7 * length]] = 0f; P(7, 1)[3] = float.NaN;   // row 7: rejected at 0; NaN in p_1, which is never read
        for (int k = 0; k < length; k++) Array.Copy(P(8, k), Q(8, k), cols); // row 8: p = q: all accepted...
        Array.Clear(P(8, length));                                   //        and the bonus row has no mass → invalid

        var target = p.SelectMany(r => r).ToArray();
        var draft = q.SelectMany(r => r).ToArray();
        var keys = Enumerable.Range(0, batch).Select(b => new RngKey(3, (uint)b)).ToArray();
        for (ulong offset = 0; offset < 4; offset++)
        {
            var (accepted, emitted) = RunKeys(Runtime, target, draft, tokens, batch, length, cols, keys, offset);
            int[] Row(int b) => emitted.Skip(b * (length + 1)).Take(length + 1).ToArray();
            foreach (int b in new[] { 0, 1, 4, 5, 8 })
            {
                Assert.That(accepted[b], Is.EqualTo(-1), $"row {b} is invalid");
                Assert.That(Row(b), Is.All.EqualTo(-1), $"row {b} emits nothing");
            }
            Assert.That(accepted[2], Is.EqualTo(length), "q = 0 < p accepts");
            Assert.That(Row(2).Take(length), Is.EqualTo(tokens.Skip(2 * length).Take(length)));
            Assert.That(P(2, length)[Row(2)[length]], Is.GreaterThan(0f), "bonus token from p_L");
            Assert.That(accepted[3], Is.EqualTo(0), "q = p = 0 rejects");
            Assert.That(Math.Max(0f, P(3, 0)[Row(3)[0]] - Q(3, 0)[Row(3)[0]]), Is.GreaterThan(0f), "correction from the residual");
            Assert.That(accepted[6], Is.EqualTo(0));
            Assert.That(P(6, 0)[Row(6)[0]], Is.GreaterThan(0f), "residual mass 0: drawn from p_0");
            Assert.That(accepted[7], Is.EqualTo(0), "values never read are not checked");
            Assert.That(Row(7)[0], Is.InRange(0, cols - 1));
            for (int b = 0; b < batch; b++)
                Assert.That(Row(b), Is.All.InRange(-1, cols - 1), $"row {b}: no token outside [−1, V)");
        }
    }
}
