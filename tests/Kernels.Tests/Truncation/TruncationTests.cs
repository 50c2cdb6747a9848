using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using Kernels.Tests.Sampling;
using NUnit.Framework;

namespace Kernels.Tests.Truncation;

/// <summary>
/// The truncation kernels (renormalised probabilities and masked logits under top-k, top-p, min-p) on every backend
/// present, against the float64 reference of the kept set.
/// </summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class TruncationTests(Backend backend) : BackendTest(backend)
{
    private static readonly int[] Widths = { 1, 2, 5, 13, 100, 1001 };

    [Test]
    public void RenormalisedProbabilitiesEqualTheReferenceOverRandomSettings()
    {
        var random = new System.Random(17);
        int rows = IsEmulated ? 16 : 400, checkedRows = 0, total = 0;
        foreach (int cols in IsEmulated ? Widths : Widths.Append(32003))
        {
            var x = TestData.Logits(rows * cols, seed: cols + 3, scale: 2.5);
            var s = RandomSettings(random, rows, cols);
            var (output, status) = Truncate(TruncatedProbabilities.Kernel, x, rows, cols, s);
            for (int r = 0; r < rows; r++, total++)
            {
                Assert.That((SampleStatus)status[r], Is.EqualTo(SampleStatus.Sampled));
                var kept = TruncationReference.Law(x.AsSpan(r * cols, cols), s[r].Temperature, s[r].K, s[r].P, s[r].MinP);
                if (kept.Margin < 1e-5)
                    continue; // a decision within rounding of its threshold may go either way
                AssertRow(output.AsSpan(r * cols, cols), kept.Law, $"V={cols} row {r} {s[r]}");
                checkedRows++;
            }
        }
        Assert.That(checkedRows, Is.GreaterThan(total * 9 / 10), "most rows are far from a threshold");
    }

    [Test]
    public void ALongRowWithTopPAloneFindsTheExactCutoff()
    {
        // Top-p over a whole staged row (no top-k, no min-p): the cutoff among thousands of kept columns.
        int rows = IsEmulated ? 2 : 8, cols = IsEmulated ? 4099 : 128000;
        var x = TestData.Logits(rows * cols, seed: 90, scale: 0.7);
        var s = Enumerable.Range(0, rows).Select(r => new DecodeTests.Settings(1f, 0, 0.3f + 0.08f * r, 0f)).ToArray();
        var (output, _) = Truncate(TruncatedProbabilities.Kernel, x, rows, cols, s);
        for (int r = 0; r < rows; r++)
        {
            var kept = TruncationReference.Law(x.AsSpan(r * cols, cols), 1.0, 0, s[r].P);
            // The fixed data keeps every cutoff clear of rounding; if a change of data breaks that, fail (not skip).
            Assert.That(kept.Margin, Is.GreaterThan(1e-7), $"row {r}: the fixed data puts the cutoff within rounding");
            AssertRow(output.AsSpan(r * cols, cols), kept.Law, $"row {r} p={s[r].P}");
            Assert.That(kept.Law.Count(v => v > 0), Is.GreaterThan(cols / 10), "the kept set is large");
        }
    }

    [Test]
    public void FromProbabilitiesTheRenormalisedKeptSet()
    {
        // Unnormalised probabilities with zeros; the reference sees them as logits log p at T = 1.
        var random = new System.Random(3);
        int rows = IsEmulated ? 12 : 300, cols = 257;
        var probs = TestData.Uniform(rows * cols, seed: 4, 0.0, 2.0);
        for (int i = 0; i < probs.Length; i += 7)
            probs[i] = 0f;
        var s = RandomSettings(random, rows, cols);
        var (output, status) = Truncate(RenormalizeProbabilities.Kernel, probs, rows, cols, s);
        for (int r = 0; r < rows; r++)
        {
            var logs = probs.AsSpan(r * cols, cols).ToArray().Select(p => MathF.Log(p)).ToArray();
            var kept = TruncationReference.Law(logs, 1.0, s[r].K, s[r].P, s[r].MinP);
            Assert.That((SampleStatus)status[r], Is.EqualTo(SampleStatus.Sampled));
            if (kept.Margin > 1e-5)
                AssertRow(output.AsSpan(r * cols, cols), kept.Law, $"row {r} {s[r]}");
        }
    }

    [Test]
    public void MaskedLogitsKeepTheTemperedValuesInsideTheKeptSet()
    {
        var random = new System.Random(8);
        int rows = IsEmulated ? 12 : 200, cols = 333;
        var x = TestData.Logits(rows * cols, seed: 12, scale: 2.0);
        var s = RandomSettings(random, rows, cols);
        var (masked, status) = Truncate(MaskLogits.Kernel, x, rows, cols, s);
        var (probs, _) = Truncate(TruncatedProbabilities.Kernel, x, rows, cols, s);
        for (int r = 0; r < rows; r++)
        {
            Assert.That((SampleStatus)status[r], Is.EqualTo(SampleStatus.Sampled));
            for (int c = 0; c < cols; c++)
            {
                int i = r * cols + c;
                if (probs[i] > 0f)
                    Assert.That(masked[i], Is.EqualTo(x[i] / s[r].Temperature), $"row {r} column {c} is kept: x/T");
                else
                    Assert.That(masked[i], Is.EqualTo(float.NegativeInfinity), $"row {r} column {c} is outside");
            }
        }
    }

    [Test]
    public void TiesGoToTheLowestIndex()
    {
        const int cols = 12;
        var equal = new float[cols];
        var (three, _) = Truncate(TruncatedProbabilities.Kernel, equal, 1, cols, new[] { new DecodeTests.Settings(1f, 3, 1f, 0f) });
        Assert.That(three, Is.EqualTo(Enumerable.Range(0, cols).Select(c => c < 3 ? 1f / 3 : 0f).ToArray()).Within(1e-7f));
        // Top-p 0.5 of four equal columns: the smallest prefix in the order with half the mass is columns 0 and 1.
        var four = new float[] { 1f, float.NegativeInfinity, 1f, 1f, 1f };
        var (half, _) = Truncate(TruncatedProbabilities.Kernel, four, 1, four.Length, new[] { new DecodeTests.Settings(1f, 0, 0.5f, 0f) });
        Assert.That(half, Is.EqualTo(new[] { 0.5f, 0f, 0.5f, 0f, 0f }).Within(1e-7f));
    }

    [Test]
    public void TheEmulatorsKeepTheCpuBackendsSetAndValues()
    {
        if (!IsEmulated)
            Assert.Ignore("the cpu backend is the reference here");
        var random = new System.Random(44);
        const int rows = 24, cols = 2049;
        var x = TestData.Logits(rows * cols, seed: 5, scale: 2.0);
        var s = RandomSettings(random, rows, cols);
        var (output, status) = Truncate(TruncatedProbabilities.Kernel, x, rows, cols, s);
        using var cpu = Backends.Create(Backend.Cpu);
        var (expected, expectedStatus) = Truncate(cpu, TruncatedProbabilities.Kernel, x, rows, cols, s);
        Assert.That(status, Is.EqualTo(expectedStatus));
        Assert.That(output.Select(v => v > 0f), Is.EqualTo(expected.Select(v => v > 0f)), "the same kept sets");
        Assert.That(output, Is.EqualTo(expected).Within(2e-6f));
    }

    [Test]
    public void BadRowsHaveTheirDocumentedOutput()
    {
        const int cols = 9;
        var good = SamplerReference.Logits(1, cols, seed: 6);
        var cases = new (string What, Action<float[]> Edit, DecodeTests.Settings S, SampleStatus Status, float Probability, float Mask)[]
        {
            ("NaN logit", x => x[4] = float.NaN, new(1f, 3, 0.9f, 0f), SampleStatus.InvalidData, float.NaN, float.NaN),
            ("+inf logit", x => x[1] = float.PositiveInfinity, new(1f, 0, 1f, 0f), SampleStatus.InvalidData, float.NaN, float.NaN),
            ("all −inf", x => Array.Fill(x, float.NegativeInfinity), new(1f, 3, 0.5f, 0f), SampleStatus.Empty, 0f, float.NegativeInfinity),
            ("temperature 0", _ => { }, new(0f, 0, 1f, 0f), SampleStatus.InvalidParameter, float.NaN, float.NaN),
            ("p = 0", _ => { }, new(1f, 0, 0f, 0f), SampleStatus.InvalidParameter, float.NaN, float.NaN),
            ("min-p NaN", _ => { }, new(1f, 0, 1f, float.NaN), SampleStatus.InvalidParameter, float.NaN, float.NaN),
        };
        int rows = cases.Length;
        var x = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            var row = (float[])good.Clone();
            cases[r].Edit(row);
            row.CopyTo(x, r * cols);
        }
        var s = cases.Select(c => c.S).ToArray();
        var (probs, status) = Truncate(TruncatedProbabilities.Kernel, x, rows, cols, s);
        var (masked, maskedStatus) = Truncate(MaskLogits.Kernel, x, rows, cols, s);
        for (int r = 0; r < rows; r++)
        {
            Assert.That((SampleStatus)status[r], Is.EqualTo(cases[r].Status), cases[r].What);
            Assert.That((SampleStatus)maskedStatus[r], Is.EqualTo(cases[r].Status), cases[r].What);
            Assert.That(probs.AsSpan(r * cols, cols).ToArray(), Is.All.EqualTo(cases[r].Probability), cases[r].What);
            Assert.That(masked.AsSpan(r * cols, cols).ToArray(), Is.All.EqualTo(cases[r].Mask), cases[r].What);
        }
    }

    [Test]
    public unsafe void ACutAboveTheTotalByRoundingKeepsAllOfS()
    {
        // p·T_S can exceed the float64 running sum by rounding: the cutoff is then the last element of S in the order,
        // so the kept set is all of S (host code shared by every CPU truncation path).
        var w = new float[] { 3f, 1f, 2f, float.NegativeInfinity, 2f, 1f, 1f, 3f };
        var e = w.Select(v => float.IsNegativeInfinity(v) ? 0f : MathF.Exp(v)).ToArray();
        double total = e.Sum(v => (double)v);
        fixed (float* pw = w, pe = e)
        {
            double kept = StagedDraw.KeptSet(pw, pe, new Kernels.Cpu.DenseColumns(), w.Length, total * (1 + 1e-12), out float pivotW, out int pivotCol);
            Assert.That(kept, Is.EqualTo(total).Within(1e-12 * total), "all of S is kept");
            Assert.That((pivotW, pivotCol), Is.EqualTo((1f, 7)), "the pivot is just after the last element of S in the order (w 1, column 6)");
        }
    }

    [Test]
    public void InvalidArgumentsThrowBeforeLaunchingAndLeaveTheOutputUntouched()
    {
        const int rows = 2, cols = 6;
        var x = new float[rows * cols];
        var output = Enumerable.Repeat(7f, rows * cols).ToArray();
        var ones = new[] { 1f, 1f };
        var ks = new[] { 0, 0 };
        void Run(float[] logits, float[] y, float[] t, float[] p) => TruncatedProbabilities.Run(Runtime, logits, y, rows, cols, t, ks, p, new float[rows]);
        Assert.That(Assert.Throws<ArgumentException>(() => Run(x, new float[3], ones, ones))!.ParamName, Is.EqualTo("output"));
        Assert.That(Assert.Throws<ArgumentException>(() => Run(new float[3], output, ones, ones))!.ParamName, Is.EqualTo("logits"));
        Assert.That(Assert.Throws<ArgumentException>(() => Run(x, output, new[] { 1f }, ones))!.ParamName, Is.EqualTo("temperatures"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Run(x, output, ones, new[] { 1f, 2f }))!.ParamName, Is.EqualTo("topP"));
        Assert.That(Assert.Throws<ArgumentException>(() => TruncatedProbabilities.Run(Runtime, output, output.AsSpan(1), 1, cols, ones, ks, ones, ones))!.ParamName, Is.EqualTo("output"));
        using var buffer = Runtime.Upload(x);
        using var t = Runtime.Upload(ones);
        using var k = Runtime.Upload(ks);
        Assert.That(Assert.Throws<ArgumentException>(() => TruncatedProbabilities.Launch(Runtime, buffer, buffer, rows, cols, t, k, t, t))!.ParamName, Is.EqualTo("output"));
        Assert.That(output, Is.All.EqualTo(7f), "nothing was written");
    }

    private static DecodeTests.Settings[] RandomSettings(System.Random random, int rows, int cols) =>
        Enumerable.Range(0, rows).Select(_ => new DecodeTests.Settings(
            0.5f + (float)random.NextDouble(), random.Next(3) == 0 ? 0 : random.Next(-1, Math.Min(cols, 1024) + 2),
            random.Next(4) == 0 ? 1f : 0.05f + 0.9f * (float)random.NextDouble(),
            random.Next(3) == 0 ? 0f : 0.3f * (float)random.NextDouble())).ToArray();

    private static void AssertRow(ReadOnlySpan<float> actual, double[] law, string what)
    {
        for (int c = 0; c < law.Length; c++)
        {
            if (law[c] == 0)
                Assert.That(actual[c], Is.Zero, $"{what}: column {c} is outside the kept set");
            else
                Assert.That(actual[c], Is.EqualTo(law[c]).Within(1e-5 * law[c] + 1e-9), $"{what}: column {c}");
        }
    }

    private (float[] Output, int[] Status) Truncate(TruncationKernel kernel, float[] x, int rows, int cols, DecodeTests.Settings[] s) =>
        Truncate(Runtime, kernel, x, rows, cols, s);

    /// <summary>A library truncation kernel on device buffers, every stage per row (a kernel without a stage ignores it).</summary>
    private static (float[] Output, int[] Status) Truncate(KernelRuntime runtime, TruncationKernel kernel, float[] x, int rows, int cols, DecodeTests.Settings[] s)
    {
        using var logits = runtime.Upload<float>(x);
        using var output = runtime.Allocate<float>(x.Length);
        using var temperatures = runtime.Upload(s.Select(v => v.Temperature).ToArray());
        using var k = runtime.Upload(s.Select(v => v.K).ToArray());
        using var p = runtime.Upload(s.Select(v => v.P).ToArray());
        using var minP = runtime.Upload(s.Select(v => v.MinP).ToArray());
        using var status = runtime.Allocate<int>(rows);
        kernel.Launch(runtime, logits, output, rows, cols, 1f, temperatures, k, p, minP, status);
        return (output.ToArray(), status.ToArray());
    }
}
