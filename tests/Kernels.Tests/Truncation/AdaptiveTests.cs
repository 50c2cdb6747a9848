using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using Kernels.Tests.Sampling;
using Kernels.Tests.Statistics;
using NUnit.Framework;

namespace Kernels.Tests.Truncation;

/// <summary>The Top-H and Mirostat samplers (<see cref="AdaptiveSampler"/>) on every backend present.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class AdaptiveTests(Backend backend) : BackendTest(backend)
{
    /// <summary>One launch's outputs.</summary>
    public readonly record struct Result(int[] Tokens, int[] Kept, int[] Status);

    private static RngKey[] Keys(int rows, ulong seed) => Enumerable.Range(0, rows).Select(r => new RngKey(seed, (uint)(3 * r))).ToArray();

    private static double Uniform(RngKey key, ulong offset) => SamplerReference.Uniform(key, 0, offset);

    // Device buffers: per-row values in them are data (a per-row status), not arguments as in host spans.
    internal static Result TopH(KernelRuntime runtime, float[] x, int rows, int cols, float[] temperatures, float[] alpha, RngKey[] keys, ulong offset, int topN)
    {
        using var logits = runtime.Upload(x);
        using var t = runtime.Upload(temperatures);
        using var a = runtime.Upload(alpha);
        using var k = runtime.Upload(keys);
        using var tokens = runtime.Allocate<int>(rows);
        using var status = runtime.Allocate<int>(rows);
        using var kept = runtime.Allocate<int>(rows);
        ulong next = TopHSample.Launch(runtime, logits, tokens, rows, cols, t, a, k, offset, topN, status, kept);
        Assert.That(next, Is.EqualTo(offset + 1));
        return new Result(tokens.ToArray(), kept.ToArray(), status.ToArray());
    }

    internal static Result Mirostat(KernelRuntime runtime, float[] x, int rows, int cols, float[] temperatures, float[] tau, float[] eta, float[] mu, RngKey[] keys, ulong offset)
    {
        using var logits = runtime.Upload(x);
        using var t = runtime.Upload(temperatures);
        using var tauBuffer = runtime.Upload(tau);
        using var etaBuffer = runtime.Upload(eta);
        using var muBuffer = runtime.Upload(mu);
        using var k = runtime.Upload(keys);
        using var tokens = runtime.Allocate<int>(rows);
        using var status = runtime.Allocate<int>(rows);
        using var kept = runtime.Allocate<int>(rows);
        MirostatSample.Launch(runtime, logits, tokens, rows, cols, t, tauBuffer, etaBuffer, muBuffer, k, offset, status, kept);
        muBuffer.CopyTo(mu);
        return new Result(tokens.ToArray(), kept.ToArray(), status.ToArray());
    }

    [Test]
    public void TopHKeepsTheReferenceSetAndDrawsTheReferenceToken()
    {
        int rows = IsEmulated ? 24 : 400;
        const int cols = 257;
        var random = new System.Random(3);
        var x = new float[rows * cols];
        for (int r = 0; r < rows; r++)
            TestData.Logits(cols, seed: 100 + r, scale: 0.5 + 3.0 * random.NextDouble()).CopyTo(x, r * cols);
        var temperatures = Enumerable.Range(0, rows).Select(_ => 0.6f + (float)random.NextDouble()).ToArray();
        var alpha = Enumerable.Range(0, rows).Select(_ => 0.05f + 0.9f * (float)random.NextDouble()).ToArray();
        var keys = Keys(rows, 41);
        int compared = 0, truncated = 0;
        foreach (int topN in new[] { AdaptiveRules.DefaultTopN, 7 })
        {
            var result = TopH(Runtime, x, rows, cols, temperatures, alpha, keys, 5, topN);
            Assert.That(result.Status, Is.All.EqualTo((int)SampleStatus.Sampled));
            for (int r = 0; r < rows; r++)
            {
                var row = x.AsSpan(r * cols, cols);
                var d = AdaptiveReference.TopH(row, temperatures[r], alpha[r], topN);
                var draw = AdaptiveReference.Draw(row, temperatures[r], d, Uniform(keys[r], 5));
                if (d.Margin < 1e-5 || draw.Margin < 1e-6)
                    continue; // within rounding of a boundary
                Assert.That(result.Kept[r], Is.EqualTo(d.Kept), $"n={topN} row {r} α={alpha[r]}: kept count");
                Assert.That(result.Tokens[r], Is.EqualTo(draw.Token), $"n={topN} row {r}: token for the same uniform");
                compared++;
                if (d.Kept > 1 && d.Kept < topN)
                    truncated++;
            }
        }
        Assert.That(compared, Is.GreaterThan(2 * rows * 9 / 10));
        Assert.That(truncated, Is.GreaterThan(rows / 2), "most rows are cut strictly inside the top n");
    }

    [Test]
    public void TopHNormalizedKeepsTheReferenceSetAndDrawsTheReferenceToken()
    {
        int rows = IsEmulated ? 16 : 300;
        const int cols = 263;
        var random = new System.Random(13);
        var x = new float[rows * cols];
        for (int r = 0; r < rows; r++)
            TestData.Logits(cols, seed: 300 + r, scale: 0.5 + 3.0 * random.NextDouble()).CopyTo(x, r * cols);
        x[5] = float.NegativeInfinity; // a zero probability in row 0
        var temperatures = Enumerable.Range(0, rows).Select(_ => 0.6f + (float)random.NextDouble()).ToArray();
        var alpha = Enumerable.Range(0, rows).Select(_ => 0.05f + 0.9f * (float)random.NextDouble()).ToArray();
        var keys = Keys(rows, 17);
        var result = new Result(new int[rows], new int[rows], new int[rows]);
        TopHNormalizedSample.Run(Runtime, x, result.Tokens, rows, cols, temperatures, alpha, keys, 2, 100, result.Status, result.Kept);
        Assert.That(result.Status, Is.All.EqualTo((int)SampleStatus.Sampled));
        int compared = 0, differ = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * cols, cols);
            var d = AdaptiveReference.TopHNormalized(row, temperatures[r], alpha[r], 100);
            var draw = AdaptiveReference.Draw(row, temperatures[r], d, Uniform(keys[r], 2));
            if (d.Margin < 1e-5 || draw.Margin < 1e-6)
                continue; // within rounding of a boundary
            Assert.That(result.Kept[r], Is.EqualTo(d.Kept), $"row {r} α={alpha[r]}: kept count");
            Assert.That(result.Tokens[r], Is.EqualTo(draw.Token), $"row {r}: token for the same uniform");
            compared++;
            if (d.Kept != AdaptiveReference.TopH(row, temperatures[r], alpha[r], 100).Kept)
                differ++;
        }
        Assert.That(compared, Is.GreaterThan(rows * 9 / 10));
        Assert.That(differ, Is.GreaterThan(rows / 4), "the normalised rule is not the reference code's rule");
    }

    [Test]
    public void DrawsFollowTheReferenceLawOfTheKeptSet()
    {
        if (IsEmulated)
            Assert.Ignore("400k draws: run on cpu; the emulators make the same decisions (SameKeysGiveTheSameTokensAsTheCpuBackend).");
        const int cols = 60, rows = 4000, launches = 100;
        var row = TestData.Logits(cols, seed: 13, scale: 1.5);
        row[7] = float.NegativeInfinity;
        var zipf = AdaptiveReference.Zipf(cols, 1.4, seed: 5);
        const float mu = 4f;
        var topH = AdaptiveReference.TopH(row, 1.0, 0.5, 100);
        var mirostat = AdaptiveReference.Mirostat(zipf, 1.0, mu, out _);
        Assert.That(topH.Kept, Is.InRange(3, cols - 2), "Top-H cuts inside the row");
        Assert.That(mirostat.Kept, Is.InRange(3, cols - 2), "Mirostat cuts inside the row");
        Assert.That(Math.Min(topH.Margin, mirostat.Margin), Is.GreaterThan(1e-4));
        foreach (var (name, logits, decision) in new[] { ("Top-H", row, topH), ("Mirostat", zipf, mirostat) })
        {
            var x = SamplerReference.Repeat(logits, rows);
            var ones = Enumerable.Repeat(1f, rows).ToArray();
            var counts = new long[cols];
            var tokens = new int[rows];
            for (int launch = 0; launch < launches; launch++)
            {
                var keys = Keys(rows, (ulong)(1000 + launch));
                if (name == "Top-H")
                    TopHSample.Run(Runtime, x, tokens, rows, cols, ones, Enumerable.Repeat(0.5f, rows).ToArray(), keys, (ulong)launch);
                else // η = 0: μ and so k stay put
                    MirostatSample.Run(Runtime, x, tokens, rows, cols, ones, ones, new float[rows], Enumerable.Repeat(mu, rows).ToArray(), keys, (ulong)launch);
                foreach (int t in tokens)
                    counts[t]++;
            }
            var e = logits.Select(v => Math.Exp(v - logits.Max())).ToArray();
            var law = new double[cols];
            foreach (int i in decision.Order.Take(decision.Kept))
                law[i] = e[i];
            double kept = law.Sum();
            for (int i = 0; i < cols; i++)
            {
                law[i] /= kept;
                if (law[i] == 0)
                    Assert.That(counts[i], Is.Zero, $"{name}: column {i} is outside the kept set");
            }
            ChiSquare.AssertFits(counts, law, $"{name} on {Backend.ToName()}");
        }
    }

    [Test]
    public void AUserDeclarationWithAScalarTemperatureALaunchKeyAndATransform()
    {
        // PenalisedTopH: the reference sees the penalised row at the scalar temperature; row r draws from stream r.
        const int rows = 16, cols = 90;
        const float temperature = 0.85f;
        var x = TestData.Logits(rows * cols, seed: 71, scale: 2.0);
        for (int r = 0; r < rows; r++)
            x[r * cols + r % PenalisedTopH.PenalisedColumns] = 4f; // a maximum the penalty pulls down
        var alpha = Enumerable.Range(0, rows).Select(r => 0.2f + 0.05f * r).ToArray();
        var key = new RngKey(0xABC);
        var tokens = new int[rows];
        var kept = new int[rows];
        ulong next = PenalisedTopH.Run(Runtime, x, tokens, rows, cols, temperature, alpha, key, 3, topN: 40, kept: kept);
        Assert.That(next, Is.EqualTo(4UL));
        int compared = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * cols, cols).ToArray().Select((v, c) => PenalisedTopH.Penalise(v, c)).ToArray();
            var d = AdaptiveReference.TopH(row, temperature, alpha[r], 40);
            var draw = AdaptiveReference.Draw(row, temperature, d, Uniform(Rng.RowKey(key, r), 3));
            if (d.Margin < 1e-5 || draw.Margin < 1e-6)
                continue;
            Assert.That((kept[r], tokens[r]), Is.EqualTo((d.Kept, draw.Token)), $"row {r}");
            compared++;
        }
        Assert.That(compared, Is.GreaterThan(rows * 3 / 4));
    }

    [Test]
    public void TopHAtItsEdgesIsDefined()
    {
        // α = 0 keeps the top column, α = 1 keeps all n (the reference code's IndexError), n > V keeps at most V,
        // zero probabilities (−inf logits inside the top n, underflowing e) give a defined count and no NaN.
        const int cols = 130;
        var good = TestData.Logits(cols, seed: 9, scale: 2.0);
        var sparse = Enumerable.Repeat(float.NegativeInfinity, cols).ToArray();
        sparse[17] = 1f;
        sparse[90] = 0.5f;
        sparse[3] = 0.2f;
        var steep = Enumerable.Range(0, cols).Select(c => -40f * c).ToArray(); // e underflows after a few columns
        var cases = new (string What, float[] Row, float Alpha, int TopN, int Kept)[]
        {
            ("α = 0", good, 0f, 100, 1),
            ("α = 1", good, 1f, 100, 100),
            ("α = 1, n > V", good, 1f, 3000, cols),
            ("−inf inside the top n, α = 1", sparse, 1f, 100, 100),
            ("−inf inside the top n, α = 0.5", sparse, 0.5f, 100, -1),
            ("underflowing e, α = 1", steep, 1f, 100, 100),
            ("underflowing e, α = 0.9", steep, 0.9f, 100, -1),
        };
        foreach (var c in cases)
        {
            var r = TopH(Runtime, c.Row, 1, cols, new[] { 1f }, new[] { c.Alpha }, Keys(1, 8), 0, c.TopN);
            Assert.That((SampleStatus)r.Status[0], Is.EqualTo(SampleStatus.Sampled), c.What);
            var d = AdaptiveReference.TopH(c.Row, 1.0, c.Alpha, c.TopN);
            Assert.That(r.Kept[0], Is.EqualTo(c.Kept >= 0 ? c.Kept : d.Kept), c.What);
            Assert.That(d.Order.Take(r.Kept[0]), Has.Member(r.Tokens[0]), c.What + ": token inside the kept set");
            Assert.That(float.IsFinite(c.Row[r.Tokens[0]]), Is.True, c.What + ": never a zero-probability column");
        }
    }

    [Test]
    public void RowsOfOneToThreeColumnsAreDrawnFromTheirColumns()
    {
        // V = 1 makes Mirostat's N^−ε̂ = 1 (no truncation) and leaves no ratio to fit; V ≤ n for Top-H.
        foreach (int cols in new[] { 1, 2, 3 })
        {
            const int rows = 8;
            var x = TestData.Logits(rows * cols, seed: cols, scale: 2.0);
            var ones = Enumerable.Repeat(1f, rows).ToArray();
            var alpha = Enumerable.Range(0, rows).Select(r => r / 7f).ToArray();
            var topH = TopH(Runtime, x, rows, cols, ones, alpha, Keys(rows, 4), 0, 100);
            var mu = Enumerable.Range(0, rows).Select(r => r - 3f).ToArray();
            var mirostat = Mirostat(Runtime, x, rows, cols, ones, Enumerable.Repeat(3f, rows).ToArray(), ones, mu, Keys(rows, 5), 0);
            foreach (var result in new[] { topH, mirostat })
            {
                Assert.That(result.Status, Is.All.EqualTo((int)SampleStatus.Sampled), $"V={cols}");
                Assert.That(result.Tokens, Is.All.InRange(0, cols - 1), $"V={cols}");
                Assert.That(result.Kept, Is.All.InRange(1, cols), $"V={cols}");
            }
            Assert.That(mu.All(float.IsFinite), Is.True, $"V={cols}: μ stays finite");
        }
    }

    [Test]
    public void TopHKeepsMoreAsAlphaGrows()
    {
        const int cols = 200, rows = 11;
        var row = TestData.Logits(cols, seed: 77, scale: 1.5);
        var x = SamplerReference.Repeat(row, rows);
        var alpha = Enumerable.Range(0, rows).Select(i => i / 10f).ToArray();
        var r = TopH(Runtime, x, rows, cols, Enumerable.Repeat(1f, rows).ToArray(), alpha, Keys(rows, 2), 0, 100);
        Assert.That(r.Kept, Is.Ordered);
        Assert.That(r.Kept[0], Is.EqualTo(1));
        Assert.That(r.Kept[^1], Is.EqualTo(100));
    }

    [Test]
    public void MirostatMatchesTheReferenceStepByStep()
    {
        // Zipf-like rows with noise; each step the reference takes the kernel's μ before the step, the same uniform,
        // and must give the same k, token and next μ. One row has k above the 3001 ranked columns.
        int rows = IsEmulated ? 3 : 12, steps = IsEmulated ? 3 : 25;
        int cols = IsEmulated ? 300 : 2000;
        var random = new System.Random(12);
        var x = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            var zipf = AdaptiveReference.Zipf(cols, 1.05 + 0.5 * random.NextDouble(), seed: r);
            var noise = TestData.Logits(cols, seed: 50 + r, scale: 0.05);
            for (int c = 0; c < cols; c++)
                x[r * cols + c] = zipf[c] + noise[c];
        }
        var temperatures = Enumerable.Range(0, rows).Select(_ => 0.8f + 0.4f * (float)random.NextDouble()).ToArray();
        var tau = Enumerable.Range(0, rows).Select(_ => 2f + 2f * (float)random.NextDouble()).ToArray();
        var eta = Enumerable.Range(0, rows).Select(_ => 0.2f + (float)random.NextDouble()).ToArray();
        var mu = tau.Select(t => 2 * t).ToArray();
        var keys = Keys(rows, 66);
        int compared = 0;
        for (int step = 0; step < steps; step++)
        {
            var before = mu.ToArray();
            var result = Mirostat(Runtime, x, rows, cols, temperatures, tau, eta, mu, keys, (ulong)step);
            Assert.That(result.Status, Is.All.EqualTo((int)SampleStatus.Sampled));
            for (int r = 0; r < rows; r++)
            {
                var row = x.AsSpan(r * cols, cols);
                var d = AdaptiveReference.Mirostat(row, temperatures[r], before[r], out _);
                var draw = AdaptiveReference.Draw(row, temperatures[r], d, Uniform(keys[r], (ulong)step));
                if (d.Margin < 1e-3 || draw.Margin < 1e-6)
                    continue;
                Assert.That(result.Kept[r], Is.EqualTo(d.Kept), $"step {step} row {r}: k");
                Assert.That(result.Tokens[r], Is.EqualTo(draw.Token), $"step {step} row {r}: token");
                double next = before[r] - eta[r] * (AdaptiveReference.Surprise(row, temperatures[r], draw.Token) - tau[r]);
                Assert.That(mu[r], Is.EqualTo(next).Within(1e-5 + 1e-6 * Math.Abs(next)), $"step {step} row {r}: μ");
                compared++;
            }
        }
        Assert.That(compared, Is.GreaterThan(rows * steps * 8 / 10));
    }

    [Test]
    public void MirostatTakesItsKFromTheWholeRowAboveTheRankedColumns()
    {
        // Zipf(1.2) over 4000 columns with μ = 16.1: k ≈ 3500 > 3001 ranked, so the k-th column is searched over the row.
        const int cols = 4000;
        var row = AdaptiveReference.Zipf(cols, 1.2, seed: 4);
        var d = AdaptiveReference.Mirostat(row, 1.0, 16.1, out double s);
        Assert.That(d.Kept, Is.InRange(AdaptiveRules.MaxRanked + 1, cols - 1), "the case exercises k above the ranked columns");
        Assert.That(s, Is.EqualTo(1.2).Within(1e-6), "an exact Zipf row gives its exponent");
        var mu = new[] { 16.1f };
        var keys = Keys(1, 90);
        var r = Mirostat(Runtime, row, 1, cols, new[] { 1f }, new[] { 3f }, new[] { 0.5f }, mu, keys, 7);
        Assert.That(r.Kept[0], Is.EqualTo(d.Kept));
        var draw = AdaptiveReference.Draw(row, 1.0, d, Uniform(keys[0], 7));
        Assert.That(r.Tokens[0], Is.EqualTo(draw.Token));
    }

    [Test]
    public void MirostatInClosedLoopConvergesToTheTargetSurprise()
    {
        if (IsEmulated)
            Assert.Ignore("A long closed loop: run on cpu; the emulators' decisions are checked step by step above.");
        const int cols = 3000, steps = 3000, warmup = 300;
        var laws = new (double S, float Tau)[] { (1.1, 3f), (1.3, 3f), (1.5, 2.2f), (2.0, 1.2f), (1.1, 5f) };
        int rows = laws.Length;
        var x = new float[rows * cols];
        for (int r = 0; r < rows; r++)
            AdaptiveReference.Zipf(cols, laws[r].S, seed: 20 + r).CopyTo(x, r * cols);
        var tau = laws.Select(l => l.Tau).ToArray();
        var eta = Enumerable.Repeat(1f, rows).ToArray();
        var mu = tau.Select(t => 2 * t).ToArray();
        var ones = Enumerable.Repeat(1f, rows).ToArray();
        var keys = Keys(rows, 123);
        var surprise = new double[rows];
        var tokens = new int[rows];
        for (int step = 0; step < steps; step++)
        {
            MirostatSample.Run(Runtime, x, tokens, rows, cols, ones, tau, eta, mu, keys, (ulong)step);
            if (step < warmup)
                continue;
            for (int r = 0; r < rows; r++)
                surprise[r] += AdaptiveReference.Surprise(x.AsSpan(r * cols, cols), 1.0, tokens[r]);
        }
        for (int r = 0; r < rows; r++)
        {
            double mean = surprise[r] / (steps - warmup);
            Assert.That(mean, Is.EqualTo(tau[r]).Within(0.05), $"Zipf({laws[r].S}), τ = {tau[r]}: mean surprise");
            Assert.That(Math.Abs(mu[r]), Is.LessThan(40), "μ stays bounded");
        }
    }

    [Test]
    public void SameKeysGiveTheSameTokensAsTheCpuBackend()
    {
        int rows = IsEmulated ? 6 : 32;
        const int cols = 1001;
        var x = SamplerReference.Logits(rows, cols, seed: 31, scale: 2.0);
        var temperatures = Enumerable.Range(0, rows).Select(r => 0.7f + 0.1f * (r % 5)).ToArray();
        var alpha = Enumerable.Range(0, rows).Select(r => 0.1f + 0.15f * (r % 6)).ToArray();
        var keys = Keys(rows, 0xC0FFEE);
        using var cpu = Backends.Create(Backend.Cpu);
        Assert.That(TopH(Runtime, x, rows, cols, temperatures, alpha, keys, 9, 100),
            Is.EqualTo(TopH(cpu, x, rows, cols, temperatures, alpha, keys, 9, 100)).Using<Result>(Same), "Top-H");
        var tau = Enumerable.Range(0, rows).Select(r => 2f + 0.5f * (r % 4)).ToArray();
        var eta = Enumerable.Repeat(0.5f, rows).ToArray();
        var mu = tau.Select(t => 2 * t).ToArray();
        var muCpu = mu.ToArray();
        for (int step = 0; step < 2; step++)
        {
            Assert.That(Mirostat(Runtime, x, rows, cols, temperatures, tau, eta, mu, keys, (ulong)step),
                Is.EqualTo(Mirostat(cpu, x, rows, cols, temperatures, tau, eta, muCpu, keys, (ulong)step)).Using<Result>(Same), $"Mirostat step {step}");
            Assert.That(mu, Is.EqualTo(muCpu).Within(1e-5), "μ");
        }
    }

    private static bool Same(Result a, Result b) =>
        a.Tokens.SequenceEqual(b.Tokens) && a.Kept.SequenceEqual(b.Kept) && a.Status.SequenceEqual(b.Status);

    [Test]
    public void BadDataAndParametersHaveTheirDocumentedStatus()
    {
        const int cols = 40;
        var good = SamplerReference.Logits(1, cols, seed: 6);
        var cases = new (string What, Action<float[]> Edit, float T, float Alpha, float Tau, float Eta, float Mu, SampleStatus Status)[]
        {
            ("fine", _ => { }, 1f, 0.4f, 3f, 1f, 6f, SampleStatus.Sampled),
            ("NaN logit", x => x[4] = float.NaN, 1f, 0.4f, 3f, 1f, 6f, SampleStatus.InvalidData),
            ("+inf logit", x => x[9] = float.PositiveInfinity, 1f, 0.4f, 3f, 1f, 6f, SampleStatus.InvalidData),
            ("all −inf", x => Array.Fill(x, float.NegativeInfinity), 1f, 0.4f, 3f, 1f, 6f, SampleStatus.Empty),
            ("temperature 0", _ => { }, 0f, 0.4f, 3f, 1f, 6f, SampleStatus.InvalidParameter),
            ("temperature NaN", _ => { }, float.NaN, 0.4f, 3f, 1f, 6f, SampleStatus.InvalidParameter),
            ("α < 0 / τ < 0", _ => { }, 1f, -0.1f, -1f, 1f, 6f, SampleStatus.InvalidParameter),
            ("α > 1 / η < 0", _ => { }, 1f, 1.5f, 3f, -1f, 6f, SampleStatus.InvalidParameter),
            ("α NaN / μ NaN", _ => { }, 1f, float.NaN, 3f, 1f, float.NaN, SampleStatus.InvalidParameter),
            ("α NaN / μ +inf", _ => { }, 1f, float.NaN, 3f, 1f, float.PositiveInfinity, SampleStatus.InvalidParameter),
            ("α NaN / τ NaN", _ => { }, 1f, float.NaN, float.NaN, 1f, 6f, SampleStatus.InvalidParameter),
            ("α NaN / η +inf", _ => { }, 1f, float.NaN, 3f, float.PositiveInfinity, 6f, SampleStatus.InvalidParameter),
        };
        int rows = cases.Length;
        var x = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            var row = (float[])good.Clone();
            cases[r].Edit(row);
            row.CopyTo(x, r * cols);
        }
        var temperatures = cases.Select(c => c.T).ToArray();
        var keys = Keys(rows, 1);
        var topH = TopH(Runtime, x, rows, cols, temperatures, cases.Select(c => c.Alpha).ToArray(), keys, 0, 100);
        var mu = cases.Select(c => c.Mu).ToArray();
        var mirostat = Mirostat(Runtime, x, rows, cols, temperatures, cases.Select(c => c.Tau).ToArray(), cases.Select(c => c.Eta).ToArray(), mu, keys, 0);
        for (int r = 0; r < rows; r++)
        {
            foreach (var (name, result) in new[] { ("Top-H", topH), ("Mirostat", mirostat) })
            {
                Assert.That((SampleStatus)result.Status[r], Is.EqualTo(cases[r].Status), $"{name}: {cases[r].What}");
                if (cases[r].Status == SampleStatus.Sampled)
                    Assert.That(result.Tokens[r], Is.InRange(0, cols - 1).And.Not.EqualTo(3), $"{name}: {cases[r].What} (column 3 is −inf)");
                else
                    Assert.That((result.Tokens[r], result.Kept[r]), Is.EqualTo((-1, 0)), $"{name}: {cases[r].What}");
            }
            if (cases[r].Status != SampleStatus.Sampled)
                Assert.That(mu[r], Is.EqualTo(cases[r].Mu), $"{cases[r].What}: μ untouched");
        }
        Assert.That(float.IsFinite(mu[0]) && mu[0] != 6f, Is.True, "the fine row's μ was updated");
    }

    [Test]
    public void InvalidArgumentsThrowBeforeLaunchingAndLeaveTheOutputUntouched()
    {
        const int rows = 3, cols = 10;
        var x = new float[rows * cols];
        var tokens = new[] { 7, 7, 7 };
        var ones = new[] { 1f, 1f, 1f };
        var mu = new[] { 6f, 6f, 6f };
        var keys = new RngKey[rows];
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => TopHSample.Run(Runtime, x, tokens, rows, cols, ones, ones, keys, 0, topN: 0))!.ParamName, Is.EqualTo("topN"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => TopHSample.Run(Runtime, x, tokens, rows, cols, ones, ones, keys, 0, topN: AdaptiveRules.MaxTopN + 1))!.ParamName, Is.EqualTo("topN"));
        Assert.That(Assert.Throws<ArgumentException>(() => TopHSample.Run(Runtime, x, tokens, rows, cols, ones, new[] { 1f }, keys, 0))!.ParamName, Is.EqualTo("alpha"));
        Assert.That(Assert.Throws<ArgumentException>(() => TopHSample.Run(Runtime, x, tokens, rows, cols, ones, ones, keys, 0, kept: new int[1]))!.ParamName, Is.EqualTo("kept"));
        Assert.That(Assert.Throws<ArgumentException>(() => MirostatSample.Run(Runtime, x, tokens, rows, cols, ones, ones, ones, new float[2], keys, 0))!.ParamName, Is.EqualTo("mu"));
        Assert.That(Assert.Throws<ArgumentException>(() => MirostatSample.Run(Runtime, x, tokens, rows, cols, ones, new float[1], ones, mu, keys, 0))!.ParamName, Is.EqualTo("tau"));
        Assert.That(Assert.Throws<ArgumentException>(() => MirostatSample.Run(Runtime, x, tokens, rows, cols, ones, ones, ones, mu, new RngKey[1], 0))!.ParamName, Is.EqualTo("keys"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => MirostatSample.Run(Runtime, x, tokens, rows, 0, ones, ones, ones, mu, keys, 0))!.ParamName, Is.EqualTo("cols"));
        // Per-row values in host spans are arguments too (in device buffers they are data: a per-row status).
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => TopHSample.Run(Runtime, x, tokens, rows, cols, ones, new[] { 1f, 1.5f, 1f }, keys, 0))!.ParamName, Is.EqualTo("alpha"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => TopHSample.Run(Runtime, x, tokens, rows, cols, new[] { 1f, 0f, 1f }, ones, keys, 0))!.ParamName, Is.EqualTo("temperatures"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => MirostatSample.Run(Runtime, x, tokens, rows, cols, ones, ones, new[] { 1f, 1f, -1f }, mu, keys, 0))!.ParamName, Is.EqualTo("eta"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => MirostatSample.Run(Runtime, x, tokens, rows, cols, ones, new[] { float.NaN, 1f, 1f }, ones, mu, keys, 0))!.ParamName, Is.EqualTo("tau"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => MirostatSample.Run(Runtime, x, tokens, rows, cols, ones, ones, ones, new[] { 6f, float.PositiveInfinity, 6f }, keys, 0))!.ParamName, Is.EqualTo("mu"));
        Assert.That(tokens, Is.All.EqualTo(7), "nothing was written");
        Assert.That(mu, Is.All.EqualTo(6f), "μ untouched");
    }
}
