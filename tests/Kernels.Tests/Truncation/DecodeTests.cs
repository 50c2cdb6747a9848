using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using Kernels.Tests.Sampling;
using Kernels.Tests.Statistics;
using NUnit.Framework;

namespace Kernels.Tests.Truncation;

/// <summary>The decode sampler (top-k, top-p, min-p by pivot rejection) on every backend present.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class DecodeTests(Backend backend) : BackendTest(backend)
{
    /// <summary>One row's settings.</summary>
    public readonly record struct Settings(float Temperature, int K, float P, float MinP)
    {
        public override string ToString() => $"T={Temperature} k={K} p={P} min-p={MinP}";
    }

    private static readonly Settings[] LawCases =
    {
        new(1f, 0, 1f, 0f),       // no truncation: the plain categorical law
        new(0.8f, 7, 1f, 0f),     // top-k
        new(1f, 0, 0.65f, 0f),    // top-p alone (the whole row staged)
        new(1.3f, 0, 1f, 0.05f),  // min-p alone (gathered candidates)
        new(0.8f, 12, 0.9f, 0f),  // joint top-k + top-p
        new(1f, 20, 0.8f, 0.02f), // all three
    };

    [TestCaseSource(nameof(LawCases))]
    public void DrawsFollowTheKeptLaw(Settings s) => AssertLaw(s, TruncationRules.MaxRounds, "pivot rejection");

    [TestCaseSource(nameof(LawCases))]
    public void TheExactCutoffFallbackFollowsTheSameLaw(Settings s) => AssertLaw(s, 0, "fallback");

    private void AssertLaw(Settings s, int rounds, string what)
    {
        var row = TestData.Logits(40, seed: 11, scale: 1.5);
        row[5] = float.NegativeInfinity;
        var kept = TruncationReference.Law(row, s.Temperature, s.K, s.P, s.MinP);
        Assert.That(kept.Margin, Is.GreaterThan(1e-4), "the test row has no decision near a threshold");
        if (IsEmulated)
        {
            // The emulators make the cpu backend's decisions (checked here on 64 rows); the law is tested at full size on cpu.
            const int few = 64;
            var x64 = SamplerReference.Repeat(row, few);
            var settings = Enumerable.Repeat(s, few).ToArray();
            var statuses = new int[few];
            var tokens = Launch(Runtime, x64, few, row.Length, settings, r => new RngKey(777, (uint)r), 0, statuses, rounds);
            using var cpu = Backends.Create(Backend.Cpu);
            Assert.That(tokens, Is.EqualTo(Launch(cpu, x64, few, row.Length, settings, r => new RngKey(777, (uint)r), 0, null, rounds)));
            Assert.That(statuses, Is.All.EqualTo((int)(rounds == 0 ? SampleStatus.Fallback : SampleStatus.Sampled)));
            Assert.That(tokens.Select(t => kept.Law[t]), Is.All.GreaterThan(0));
            return;
        }
        // 400k draws: power ≥ 0.999 against moving 1% of the mass.
        const int rows = 4000, launches = 100;
        var x = SamplerReference.Repeat(row, rows);
        var counts = new long[row.Length];
        var status = new int[rows];
        for (int launch = 0; launch < launches; launch++)
        {
            var tokens = Launch(x, rows, row.Length, s, key: r => new RngKey(777, (uint)r), offset: (ulong)launch, status, rounds);
            foreach (int t in tokens)
                counts[t]++;
            Assert.That(status, Is.All.EqualTo((int)(rounds == 0 ? SampleStatus.Fallback : SampleStatus.Sampled)));
        }
        for (int i = 0; i < row.Length; i++)
        {
            if (kept.Law[i] == 0)
                Assert.That(counts[i], Is.Zero, $"column {i} is outside the kept set");
        }
        var q = kept.Law.ToArray();
        int top = Array.IndexOf(q, q.Max());
        int least = Array.IndexOf(q, q.Where(v => v > 0).Min());
        if (top != least)
        {
            q[top] -= 0.01;
            q[least] += 0.01;
            Assert.That(ChiSquare.Power(kept.Law, q, counts.Sum()), Is.GreaterThan(0.999), "power against moving 1% of the mass");
        }
        ChiSquare.AssertFits(counts, kept.Law, $"{what} {s} on {Backend.ToName()}");
    }

    [Test]
    public void FromProbabilitiesTheKeptLawAndTheCpuDecisions()
    {
        // Unnormalised probabilities (scale 7) with zeros: the law of their top-k 12, min-p 0.02, top-p 0.85.
        var logits = TestData.Logits(40, seed: 12, scale: 1.5);
        var probs = logits.Select((v, i) => i % 9 == 4 ? 0f : 7f * MathF.Exp(v)).ToArray();
        var s = new Settings(1f, 12, 0.85f, 0.02f);
        var kept = TruncationReference.Law(probs.Select(v => v > 0 ? MathF.Log(v) : float.NegativeInfinity).ToArray(), 1.0, s.K, s.P, s.MinP);
        Assert.That(kept.Margin, Is.GreaterThan(1e-4));
        int rows = IsEmulated ? 64 : 4000, launches = IsEmulated ? 1 : 100;
        var x = SamplerReference.Repeat(probs, rows);
        var counts = new long[probs.Length];
        for (int launch = 0; launch < launches; launch++)
        {
            var tokens = LaunchProbabilities(Runtime, x, rows, probs.Length, Enumerable.Repeat(s, rows).ToArray(), (ulong)launch, null);
            foreach (int t in tokens)
                counts[t]++;
            if (IsEmulated)
            {
                using var cpu = Backends.Create(Backend.Cpu);
                Assert.That(tokens, Is.EqualTo(LaunchProbabilities(cpu, x, rows, probs.Length, Enumerable.Repeat(s, rows).ToArray(), (ulong)launch, null)));
            }
        }
        for (int i = 0; i < probs.Length; i++)
        {
            if (kept.Law[i] == 0)
                Assert.That(counts[i], Is.Zero, $"column {i} is outside the kept set");
        }
        if (!IsEmulated)
            ChiSquare.AssertFits(counts, kept.Law, $"from probabilities {s} on {Backend.ToName()}");
    }

    [Test]
    public void ProbabilityRowsWithBadDataHaveTheirStatus()
    {
        const int cols = 17;
        var good = Enumerable.Range(0, cols).Select(i => 0.1f + i % 5).ToArray();
        var rows = new (float[] Row, SampleStatus Status)[]
        {
            (good, SampleStatus.Sampled),
            (good.Select((v, i) => i == 3 ? -0.5f : v).ToArray(), SampleStatus.InvalidData),
            (good.Select((v, i) => i == 8 ? float.NaN : v).ToArray(), SampleStatus.InvalidData),
            (good.Select((v, i) => i == 1 ? float.PositiveInfinity : v).ToArray(), SampleStatus.InvalidData),
            (new float[cols], SampleStatus.Empty),
            (good.Select((v, i) => i == 6 ? 1e30f : 0f).ToArray(), SampleStatus.Sampled),
        };
        var status = new int[rows.Length];
        var tokens = LaunchProbabilities(Runtime, rows.SelectMany(r => r.Row).ToArray(), rows.Length, cols,
            Enumerable.Repeat(new Settings(1f, 0, 0.9f, 0f), rows.Length).ToArray(), 0, status);
        for (int r = 0; r < rows.Length; r++)
            Assert.That((SampleStatus)status[r], Is.EqualTo(rows[r].Status), $"row {r}");
        Assert.That(tokens[0], Is.InRange(0, cols - 1));
        Assert.That(tokens.Skip(1).Take(4), Is.All.EqualTo(-1));
        Assert.That(tokens[5], Is.EqualTo(6), "the only non-zero probability");
    }

    private static int[] LaunchProbabilities(KernelRuntime runtime, float[] x, int rows, int cols, Settings[] s, ulong offset, int[]? status)
    {
        var tokens = new int[rows];
        var statuses = new int[rows];
        DecodeSampleFromProbabilities.Run(runtime, x, tokens, rows, cols, s.Select(v => v.K).ToArray(), s.Select(v => v.P).ToArray(),
            s.Select(v => v.MinP).ToArray(), Enumerable.Range(0, rows).Select(r => new RngKey(4321, (uint)r)).ToArray(), offset, statuses);
        statuses.CopyTo(status ?? new int[rows], 0);
        return tokens;
    }

    [Test]
    public void NoTokenOutsideTheKeptSetOverManySmallRows()
    {
        // Exhaustive over small vocabularies: every row its own settings and key.
        var random = new System.Random(5);
        int rows = IsEmulated ? 24 : 6000, launches = IsEmulated ? 1 : 3;
        int checkedRows = 0;
        // 17 and up reach the CPU pass's vector loop (33 and up with top-k on, and its batched admissions).
        int[] vocabularies = { 2, 3, 5, 8, 13, 17, 33, 100 };
        foreach (int cols in vocabularies)
        {
            var x = TestData.Logits(rows * cols, seed: cols, scale: 2.0);
            var settings = Enumerable.Range(0, rows).Select(_ => new Settings(
                0.5f + (float)random.NextDouble(), random.Next(-1, cols + 2), random.Next(4) == 0 ? 1f : 0.05f + 0.9f * (float)random.NextDouble(),
                random.Next(3) == 0 ? 0f : 0.3f * (float)random.NextDouble())).ToArray();
            for (int launch = 0; launch < launches; launch++)
            {
                var tokens = Launch(x, rows, cols, settings, r => new RngKey(31, (uint)r), (ulong)launch, null, TruncationRules.MaxRounds);
                for (int r = 0; r < rows; r++)
                {
                    var kept = TruncationReference.Law(x.AsSpan(r * cols, cols), settings[r].Temperature, settings[r].K, settings[r].P, settings[r].MinP);
                    if (kept.Margin < 1e-5)
                        continue; // a decision within rounding of its threshold may go either way
                    Assert.That(tokens[r], Is.InRange(0, cols - 1));
                    Assert.That(kept.Law[tokens[r]], Is.GreaterThan(0), $"V={cols} row {r} {settings[r]}: token {tokens[r]} is outside the kept set");
                    checkedRows++;
                }
            }
        }
        Assert.That(checkedRows, Is.GreaterThan(rows * vocabularies.Length * launches * 9 / 10));
    }

    [Test]
    public void TopKTiesGoToTheLowestIndex()
    {
        // Equal logits: top-3 keeps columns 0, 1, 2 only; top-1 of a row with a tied maximum keeps the first.
        const int cols = 50, rows = 64;
        var x = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            x[r * cols + 10] = 2f;
            x[r * cols + 30] = 2f;
        }
        var three = Launch(x, rows, cols, new Settings(1f, 3, 1f, 0f), r => new RngKey(9, (uint)r), 0, null, TruncationRules.MaxRounds);
        Assert.That(three, Is.All.AnyOf(10, 30, 0), "top-3: the two maxima, then column 0 (lowest index among the ties)");
        var one = Launch(x, rows, cols, new Settings(1f, 1, 1f, 0f), r => new RngKey(9, (uint)r), 0, null, TruncationRules.MaxRounds);
        Assert.That(one, Is.All.EqualTo(10));
        var allEqual = new float[rows * cols];
        var four = Launch(allEqual, rows, cols, new Settings(1f, 4, 1f, 0f), r => new RngKey(2, (uint)r), 0, null, TruncationRules.MaxRounds);
        Assert.That(four, Is.All.InRange(0, 3));
        Assert.That(four.Distinct().Count(), Is.EqualTo(4), "all four kept columns are drawn over 64 rows");
        // −0 and +0 are one value: top-1 of (−0, −0, +0, −1, …) keeps column 0 and top-2 columns 0 and 1 on every backend.
        var zeros = Enumerable.Repeat(-1f, rows * cols).ToArray();
        for (int r = 0; r < rows; r++)
            (zeros[r * cols], zeros[r * cols + 1], zeros[r * cols + 2]) = (-0f, -0f, 0f);
        Assert.That(Launch(zeros, rows, cols, new Settings(1f, 1, 1f, 0f), r => new RngKey(4, (uint)r), 0, null, TruncationRules.MaxRounds),
            Is.All.EqualTo(0), "signed zeros: top-1");
        var two = Launch(zeros, rows, cols, new Settings(1f, 2, 1f, 0f), r => new RngKey(4, (uint)r), 0, null, TruncationRules.MaxRounds);
        Assert.That(two, Is.All.AnyOf(0, 1), "signed zeros: top-2");
        Assert.That(two.Distinct().Count(), Is.EqualTo(2), "signed zeros: both kept columns drawn over 64 rows");
    }

    [Test]
    public void SameKeysGiveTheSameTokensAsTheCpuBackend()
    {
        int rows = IsEmulated ? 12 : 64, cols = IsEmulated ? 1001 : 32003;
        var x = SamplerReference.Logits(rows, cols, seed: 21, scale: 2.0);
        var settings = Enumerable.Range(0, rows).Select(r => (r % 6) switch
        {
            0 => new Settings(0.8f, 50, 0.9f, 0f),
            1 => new Settings(1f, 0, 0.95f, 0f),
            2 => new Settings(1.2f, 0, 1f, 0.1f),
            3 => new Settings(0.7f, 0, 1f, 1e-9f),
            4 => new Settings(1f, 1000, 0.5f, 0.01f),
            _ => new Settings(1f, 0, 1f, 0f),
        }).ToArray();
        foreach (int rounds in new[] { TruncationRules.MaxRounds, 0 })
        {
            var status = new int[rows];
            var expectedStatus = new int[rows];
            var tokens = Launch(x, rows, cols, settings, r => new RngKey(0xBEEF, (uint)(r * 3)), 99, status, rounds);
            using var cpu = Backends.Create(Backend.Cpu);
            var expected = Launch(cpu, x, rows, cols, settings, r => new RngKey(0xBEEF, (uint)(r * 3)), 99, expectedStatus, rounds);
            Assert.That(tokens, Is.EqualTo(expected), $"rounds {rounds}: same keys and offset, same tokens");
            Assert.That(status, Is.EqualTo(expectedStatus));
        }
    }

    [Test]
    public void PerRowSettingsAndKeysMakeARowIndependentOfItsBatch()
    {
        const int rows = 6, cols = 700;
        var x = SamplerReference.Logits(rows, cols, seed: 8, scale: 2.0);
        var settings = new[] { new Settings(0.7f, 5, 1f, 0f), new Settings(1f, 0, 0.5f, 0f), new Settings(1.5f, 0, 1f, 0.2f),
            new Settings(1f, 40, 0.9f, 0.05f), new Settings(0.9f, 0, 1f, 0f), new Settings(2f, 2, 0.3f, 0f) };
        Func<int, RngKey> key = r => new RngKey((ulong)(500 + r));
        var tokens = Launch(x, rows, cols, settings, key, 3, null, TruncationRules.MaxRounds);
        foreach (int r in Enumerable.Range(0, rows))
        {
            var alone = Launch(x.AsSpan(r * cols, cols).ToArray(), 1, cols, new[] { settings[r] }, _ => key(r), 3, null, TruncationRules.MaxRounds);
            Assert.That(alone[0], Is.EqualTo(tokens[r]), $"request {r} alone draws what it drew in the batch");
        }
    }

    [Test]
    public void PerRowOffsetsGiveEachRequestItsOwnCounter()
    {
        // ServingDecodeSample: row r draws what DecodeSample draws for it alone at launch offset + offsets[r].
        const int rows = 6, cols = 500;
        var x = SamplerReference.Logits(rows, cols, seed: 19, scale: 0.5);
        var settings = Enumerable.Range(0, rows).Select(r => new Settings(1f, r % 2 == 0 ? 0 : 100, r < 3 ? 1f : 0.9f, 0f)).ToArray();
        var offsets = new ulong[] { 0, 5, 17, 1000, 3, 1UL << 40 };
        var keys = Enumerable.Range(0, rows).Select(r => new RngKey((ulong)(70 + r))).ToArray();
        var tokens = new int[rows];
        ulong next = ServingDecodeSample.Run(Runtime, x, tokens, rows, cols, settings.Select(s => s.Temperature).ToArray(),
            settings.Select(s => s.K).ToArray(), settings.Select(s => s.P).ToArray(), new float[rows], keys, 7, offsets);
        Assert.That(next, Is.EqualTo(8UL));
        int moved = 0;
        for (int r = 0; r < rows; r++)
        {
            var alone = Launch(x.AsSpan(r * cols, cols).ToArray(), 1, cols, new[] { settings[r] }, _ => keys[r], 7 + offsets[r], null, TruncationRules.MaxRounds);
            Assert.That(tokens[r], Is.EqualTo(alone[0]), $"row {r}: offset 7 + {offsets[r]}");
            var shared = Launch(x.AsSpan(r * cols, cols).ToArray(), 1, cols, new[] { settings[r] }, _ => keys[r], 7, null, TruncationRules.MaxRounds);
            if (shared[0] != tokens[r])
                moved++;
        }
        Assert.That(moved, Is.GreaterThan(0), "the per-row offsets change the draws (near-uniform rows)");
        Assert.That(Assert.Throws<ArgumentException>(() => ServingDecodeSample.Run(Runtime, x, tokens, rows, cols, new float[rows], new int[rows],
            new float[rows], new float[rows], keys, 0, new ulong[2]))!.ParamName, Is.EqualTo("offsets"));
    }

    [Test]
    public void AFusedTransformAndScalarSettingsDeclaredByTheUser()
    {
        // PenalisedTopKTopP: penalty on the first columns, scalar temperature, launch key; law against the reference.
        const int cols = 24;
        var row = TestData.Logits(cols, seed: 4, scale: 1.0);
        row[1] = 3f; // the penalty lowers it by 2
        var penalised = row.Select((v, c) => PenalisedTopKTopP.Penalise(v, c)).ToArray();
        const float temperature = 0.9f;
        var kept = TruncationReference.Law(penalised, temperature, 6, 0.85);
        Assert.That(kept.Margin, Is.GreaterThan(1e-4));
        int rows = IsEmulated ? 32 : 4000, launches = IsEmulated ? 2 : 50;
        var x = SamplerReference.Repeat(row, rows);
        var counts = new long[cols];
        using var logits = Runtime.Upload<float>(x);
        using var tokens = Runtime.Allocate<int>(rows);
        using var k = Runtime.Upload(Enumerable.Repeat(6, rows).ToArray());
        using var p = Runtime.Upload(Enumerable.Repeat(0.85f, rows).ToArray());
        ulong offset = 0;
        for (int launch = 0; launch < launches; launch++)
        {
            offset = PenalisedTopKTopP.Launch(Runtime, logits, tokens, rows, cols, temperature, k, p, new RngKey(17), offset);
            foreach (int t in tokens.ToArray())
                counts[t]++;
        }
        Assert.That(offset, Is.EqualTo((ulong)launches));
        for (int c = 0; c < cols; c++)
        {
            if (kept.Law[c] == 0)
                Assert.That(counts[c], Is.Zero, $"column {c} is outside the kept set");
        }
        if (!IsEmulated) // the emulators' decisions are the cpu backend's (SameKeysGiveTheSameTokensAsTheCpuBackend)
            ChiSquare.AssertFits(counts, kept.Law, $"user-declared decode sampler on {Backend.ToName()}");
    }

    [Test]
    public void BadDataAndParametersHaveTheirDocumentedStatus()
    {
        const int cols = 33;
        var good = SamplerReference.Logits(1, cols, seed: 2);
        var cases = new (string What, Action<float[]> Edit, Settings S, SampleStatus Status)[]
        {
            ("fine", _ => { }, new(1f, 5, 0.9f, 0.1f), SampleStatus.Sampled),
            ("NaN logit", x => x[4] = float.NaN, new(1f, 5, 0.9f, 0f), SampleStatus.InvalidData),
            ("+inf logit", x => x[9] = float.PositiveInfinity, new(1f, 0, 1f, 0f), SampleStatus.InvalidData),
            ("all −inf", x => Array.Fill(x, float.NegativeInfinity), new(1f, 3, 0.5f, 0f), SampleStatus.Empty),
            ("temperature 0", _ => { }, new(0f, 0, 1f, 0f), SampleStatus.InvalidParameter),
            ("temperature NaN", _ => { }, new(float.NaN, 0, 1f, 0f), SampleStatus.InvalidParameter),
            ("temperature 1e-39 (log2(e)/T overflows)", _ => { }, new(1e-39f, 0, 1f, 0f), SampleStatus.InvalidParameter),
            ("p = 0", _ => { }, new(1f, 0, 0f, 0f), SampleStatus.InvalidParameter),
            ("p > 1", _ => { }, new(1f, 0, 1.5f, 0f), SampleStatus.InvalidParameter),
            ("p NaN", _ => { }, new(1f, 0, float.NaN, 0f), SampleStatus.InvalidParameter),
            ("min-p < 0", _ => { }, new(1f, 0, 1f, -0.1f), SampleStatus.InvalidParameter),
            ("min-p > 1", _ => { }, new(1f, 0, 1f, 1.5f), SampleStatus.InvalidParameter),
            ("min-p NaN", _ => { }, new(1f, 0, 1f, float.NaN), SampleStatus.InvalidParameter),
            ("k > V: no truncation", _ => { }, new(1f, cols + 5, 1f, 0f), SampleStatus.Sampled),
            ("k < 0: no truncation", _ => { }, new(1f, -3, 1f, 0f), SampleStatus.Sampled),
            ("min-p = 1: the maximum", _ => { }, new(1f, 0, 1f, 1f), SampleStatus.Sampled),
            ("huge logits overflow to +inf", x => x[2] = 3e38f, new(0.01f, 0, 1f, 0f), SampleStatus.InvalidData),
        };
        int rows = cases.Length;
        var x = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            var row = (float[])good.Clone();
            cases[r].Edit(row);
            row.CopyTo(x, r * cols);
        }
        var status = new int[rows];
        var tokens = Launch(x, rows, cols, cases.Select(c => c.S).ToArray(), r => new RngKey(1, (uint)r), 0, status, TruncationRules.MaxRounds);
        for (int r = 0; r < rows; r++)
        {
            Assert.That((SampleStatus)status[r], Is.EqualTo(cases[r].Status), cases[r].What);
            if (cases[r].Status == SampleStatus.Sampled)
                Assert.That(tokens[r], Is.InRange(0, cols - 1).And.Not.EqualTo(3), cases[r].What + " (column 3 is −inf)");
            else
                Assert.That(tokens[r], Is.EqualTo(-1), cases[r].What);
        }
        Assert.That(tokens[15], Is.EqualTo(Array.IndexOf(good, good.Max())), "min-p = 1 keeps only the maximum");
    }

    [Test]
    public void InvalidArgumentsThrowBeforeLaunchingAndLeaveTheOutputUntouched()
    {
        const int rows = 3, cols = 10;
        var x = new float[rows * cols];
        var tokens = new[] { 7, 7, 7 };
        var ones = new[] { 1f, 1f, 1f };
        var ks = new[] { 0, 0, 0 };
        var keys = new RngKey[rows];
        void Run(float[] logits, int[] output, int r, int c, float[] t, int[] k, float[] p, float[] m, RngKey[] kk) =>
            DecodeSample.Run(Runtime, logits, output, r, c, t, k, p, m, kk, 0);
        Assert.That(Assert.Throws<ArgumentException>(() => Run(x, tokens, rows, cols, new[] { 1f }, ks, ones, ones, keys))!.ParamName, Is.EqualTo("temperatures"));
        Assert.That(Assert.Throws<ArgumentException>(() => Run(x, tokens, rows, cols, ones, new[] { 1 }, ones, ones, keys))!.ParamName, Is.EqualTo("topK"));
        Assert.That(Assert.Throws<ArgumentException>(() => Run(x, tokens, rows, cols, ones, ks, new[] { 1f }, ones, keys))!.ParamName, Is.EqualTo("topP"));
        Assert.That(Assert.Throws<ArgumentException>(() => Run(x, tokens, rows, cols, ones, ks, ones, new float[2], keys))!.ParamName, Is.EqualTo("minP"));
        Assert.That(Assert.Throws<ArgumentException>(() => Run(x, tokens, rows, cols, ones, ks, ones, ones, new RngKey[1]))!.ParamName, Is.EqualTo("keys"));
        Assert.That(Assert.Throws<ArgumentException>(() => Run(x, new int[2], rows, cols, ones, ks, ones, ones, keys))!.ParamName, Is.EqualTo("tokens"));
        Assert.That(Assert.Throws<ArgumentException>(() => Run(new float[5], tokens, rows, cols, ones, ks, ones, ones, keys))!.ParamName, Is.EqualTo("logits"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Run(x, tokens, rows, 0, ones, ks, ones, ones, keys))!.ParamName, Is.EqualTo("cols"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Run(x, tokens, -1, cols, ones, ks, ones, ones, keys))!.ParamName, Is.EqualTo("rows"));
        Assert.That(Assert.Throws<ArgumentException>(() => DecodeSample.Run(Runtime, x, tokens, rows, cols, ones, ks, ones, ones, keys, 0, new int[1]))!.ParamName, Is.EqualTo("status"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => PenalisedTopKTopP.Run(Runtime, x, tokens, rows, cols, -1f, ks, ones, default, 0))!.ParamName, Is.EqualTo("temperature"));
        // Per-row values in host spans are arguments too (in device buffers they are data: see the status test).
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Run(x, tokens, rows, cols, new[] { 1f, 0f, 1f }, ks, ones, ones, keys))!.ParamName, Is.EqualTo("temperatures"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Run(x, tokens, rows, cols, new[] { 1f, 1e-39f, 1f }, ks, ones, ones, keys))!.ParamName, Is.EqualTo("temperatures"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Run(x, tokens, rows, cols, ones, ks, new[] { 1f, 1f, 1.5f }, ones, keys))!.ParamName, Is.EqualTo("topP"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Run(x, tokens, rows, cols, ones, ks, ones, new[] { float.NaN, 0f, 0f }, keys))!.ParamName, Is.EqualTo("minP"));
        Assert.That(tokens, Is.All.EqualTo(7), "nothing was written");
    }

    private int[] Launch(float[] x, int rows, int cols, Settings s, Func<int, RngKey> key, ulong offset, int[]? status, int rounds) =>
        Launch(Runtime, x, rows, cols, Enumerable.Repeat(s, rows).ToArray(), key, offset, status, rounds);

    private int[] Launch(float[] x, int rows, int cols, Settings[] s, Func<int, RngKey> key, ulong offset, int[]? status, int rounds) =>
        Launch(Runtime, x, rows, cols, s, key, offset, status, rounds);

    /// <summary>DecodeSample on device buffers with the given rounds; status copied out when asked for.</summary>
    internal static int[] Launch(KernelRuntime runtime, float[] x, int rows, int cols, Settings[] s, Func<int, RngKey> key, ulong offset, int[]? status, int rounds)
    {
        using var logits = runtime.Upload<float>(x);
        using var tokens = runtime.Allocate<int>(rows);
        using var temperatures = runtime.Upload(s.Select(v => v.Temperature).ToArray());
        using var k = runtime.Upload(s.Select(v => v.K).ToArray());
        using var p = runtime.Upload(s.Select(v => v.P).ToArray());
        using var minP = runtime.Upload(s.Select(v => v.MinP).ToArray());
        using var keys = runtime.Upload(Enumerable.Range(0, rows).Select(key).ToArray());
        using var statusBuffer = runtime.Allocate<int>(rows);
        DecodeSample.Kernel.LaunchWithRounds(runtime, logits, tokens, rows, cols, 1f, temperatures, k, p, minP, default, keys, offset, statusBuffer, rounds);
        statusBuffer.CopyTo(status ?? new int[rows]);
        return tokens.ToArray();
    }
}
