using System;
using System.Collections.Generic;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Softmax;

/// <summary>Every softmax-family kernel on every backend present, against the float64 reference.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class SoftmaxTests(Backend backend) : BackendTest(backend)
{
    private static readonly (int Rows, int Cols)[] OddShapes = { (1, 1), (3, 7), (2, 1023), (5, 1029), (1, 128001) };

    public static IEnumerable<TestCaseData> KernelsAndShapes =>
        from name in SoftmaxCase.Names
        from shape in OddShapes
        select new TestCaseData(name, shape.Rows, shape.Cols).SetArgDisplayNames(name, $"{shape.Rows}x{shape.Cols}");

    [TestCaseSource(nameof(KernelsAndShapes))]
    public void MatchesReference(string name, int rows, int cols)
    {
        var problem = new SoftmaxProblem(SoftmaxCase.Get(name), TestData.Logits(rows * cols, seed: rows * 31 + cols), rows, cols, seed: 7);
        Check(problem, problem.Launch(Runtime), name);
    }

    [TestCaseSource(typeof(SoftmaxCase), nameof(SoftmaxCase.Names))]
    public void HostSpanOverloadMatchesReference(string name)
    {
        var problem = new SoftmaxProblem(SoftmaxCase.Get(name), TestData.Logits(4 * 515, seed: 3), 4, 515, seed: 9);
        Check(problem, problem.Run(Runtime), name);
    }

    [TestCase(64, 128000)]
    [TestCase(4096, 1024)]
    public void LlmShapesMatchReference(int rows, int cols)
    {
        if (IsEmulated) rows = Math.Min(rows, 8);
        foreach (var name in new[] { "Softmax", "LogSoftmax", "MaskedSoftmax", "SoftCappedSoftmax" })
        {
            var problem = new SoftmaxProblem(SoftmaxCase.Get(name), TestData.Logits(rows * cols, seed: 11), rows, cols, seed: 5);
            Check(problem, problem.Launch(Runtime), name);
        }
    }

    [TestCase(850.0)]
    [TestCase(-1000.0)]
    public void LogitsNearOneThousandDoNotOverflow(double centre)
    {
        foreach (var name in SoftmaxCase.Names)
        {
            var input = TestData.Uniform(3 * 2000, seed: 21, centre - 150, centre + 150);
            var problem = new SoftmaxProblem(SoftmaxCase.Get(name), input, 3, 2000, seed: 2) { Temperature = 1f };
            var output = problem.Launch(Runtime);
            Assert.That(output.All(float.IsFinite) || problem.Case.Kernel.Output != SoftmaxOutput.Probabilities, name + ": finite");
            Check(problem, output, name);
        }
    }

    [Test]
    public void ProbabilitiesSumToOneAndAreShiftInvariant()
    {
        const int rows = 16, cols = 4099;
        var x = TestData.Logits(rows * cols, seed: 4);
        var shifted = x.Select(v => v + 100f).ToArray();
        var p = new SoftmaxProblem(SoftmaxCase.Get("Softmax"), x, rows, cols, 0) { Temperature = 1f }.Launch(Runtime);
        var q = new SoftmaxProblem(SoftmaxCase.Get("Softmax"), shifted, rows, cols, 0) { Temperature = 1f }.Launch(Runtime);
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int c = 0; c < cols; c++) sum += p[r * cols + c];
            Assert.That(sum, Is.EqualTo(1.0).Within(2e-5), $"row {r} sums to 1");
        }
        // x + 100 rounds each logit by up to ulp(100)/2, so the two agree to that rounding, not bit for bit.
        Compare.Close(q, p.Select(v => (double)v).ToArray(), 2e-5, 1e-30, "shift invariance", cols);
    }

    [Test]
    public void RowsOfAllNegativeInfinityHaveTheDocumentedOutcome()
    {
        const int rows = 3, cols = 37;
        foreach (var name in SoftmaxCase.Names)
        {
            var input = TestData.Logits(rows * cols, seed: 8);
            for (int c = 0; c < cols; c++) input[cols + c] = float.NegativeInfinity;
            var problem = new SoftmaxProblem(SoftmaxCase.Get(name), input, rows, cols, seed: 1);
            if (problem.Mask is { } mask)
                for (int c = 0; c < cols; c++) mask[2 * cols + c] = float.NegativeInfinity; // row 2 masked out entirely
            if (name == "PenalisedLogSoftmax") continue; // its transform clamps at −20, so no row is all −inf
            var output = problem.Launch(Runtime);
            var kernel = problem.Case.Kernel;
            float expected = kernel.Output == SoftmaxOutput.Probabilities ? 0f : float.NegativeInfinity;
            int width = kernel.Output == SoftmaxOutput.LogSumExp ? 1 : cols;
            if (problem.Case.Transform is null) // a transform may map −inf to a finite value (tanh soft-capping does)
                Assert.That(output.Skip(width).Take(width), Is.All.EqualTo(expected), name + ": all −inf row");
            Check(problem, output, name);
        }
    }

    [Test]
    public void RowsHoldingNaNOrPositiveInfinityBecomeNaNAndLeaveOtherRowsAlone()
    {
        const int rows = 4, cols = 19;
        foreach (var name in SoftmaxCase.Names)
        {
            var input = TestData.Logits(rows * cols, seed: 12);
            input[cols + 5] = float.NaN;
            input[2 * cols + 18] = float.PositiveInfinity;
            var problem = new SoftmaxProblem(SoftmaxCase.Get(name), input, rows, cols, seed: 3);
            var output = problem.Launch(Runtime);
            int width = problem.Case.Kernel.Output == SoftmaxOutput.LogSumExp ? 1 : cols;
            if (problem.Case.Transform is null) // a transform may map NaN or +inf to finite values; the reference covers those
                Assert.That(output.Skip(width).Take(2 * width), Is.All.NaN, name + ": poisoned rows");
            Check(problem, output, name);
        }
    }

    /// <summary>
    /// The CPU kernel finds NaN through the row's sum, not element by element: a NaN anywhere (every vector position, the
    /// tail, beside −inf only) must still turn its row, and only its row, into NaN.
    /// </summary>
    [Test]
    public void NaNIsFoundWhereverItSits()
    {
        const int rows = 21, cols = 1029;
        foreach (var name in SoftmaxCase.Names)
        {
            var input = TestData.Logits(rows * cols, seed: 21);
            for (int r = 0; r < 17; r++)
                input[r * cols + r * 61 % cols] = float.NaN; // positions 0..16 mod 16, and the tail
            for (int c = 0; c < cols; c++)
                input[17 * cols + c] = input[18 * cols + c] = float.NegativeInfinity;
            input[17 * cols + 400] = float.NaN;
            input[18 * cols + cols - 1] = float.NaN;
            var problem = new SoftmaxProblem(SoftmaxCase.Get(name), input, rows, cols, seed: 5);
            if (problem.Case.Transform is not null || problem.Case.Kernel.HasMask)
                continue; // a transform may map NaN to a number, a mask may add NaN of its own: the reference checks those
            var output = problem.Launch(Runtime);
            int width = problem.Case.Kernel.Output == SoftmaxOutput.LogSumExp ? 1 : cols;
            Assert.That(output.Take(19 * width), Is.All.NaN, name + ": rows holding NaN");
            Assert.That(output.Skip(19 * width), Is.All.Not.NaN, name + ": clean rows");
            Check(problem, output, name);
        }
    }

    [Test]
    public void InvalidPerRowTemperaturesTurnOnlyTheirRowsIntoNaN()
    {
        const int rows = 4, cols = 33;
        var problem = new SoftmaxProblem(SoftmaxCase.Get("MaskedSoftmax"), TestData.Logits(rows * cols, 5), rows, cols, seed: 4);
        problem.Temperatures![1] = 0f;
        problem.Temperatures[2] = float.NaN;
        var output = problem.Launch(Runtime);
        Assert.That(output.Skip(cols).Take(2 * cols), Is.All.NaN);
        Check(problem, output, "MaskedSoftmax");
    }

    [Test]
    public void SoftmaxRunsInPlace()
    {
        const int rows = 3, cols = 301;
        var x = TestData.Logits(rows * cols, seed: 6);
        var expected = Reference.SoftmaxReference.Compute(x, rows, cols, SoftmaxOutput.Probabilities, temperature: 0.5);
        using var buffer = Runtime.Upload<float>(x);
        Kernels.Softmax.Launch(Runtime, buffer, buffer, rows, cols, temperature: 0.5f);
        Compare.Close(buffer.ToArray(), expected, 1e-5, 1e-37, "in place", cols);
    }

    [Test]
    public void LargeOutputsThroughUnalignedHostSpansMatchReference()
    {
        // 12 MB of output: the cpu kernel writes it with non-temporal stores after peeling to 32-byte alignment.
        const int rows = 3, cols = 1_000_003;
        foreach (var name in new[] { "Softmax", "LogSoftmax" })
        {
            var problem = new SoftmaxProblem(SoftmaxCase.Get(name), TestData.Logits(rows * cols, seed: 13), rows, cols, seed: 1);
            var padded = new float[rows * cols + 1];
            var output = padded.AsSpan(1);
            problem.Case.Kernel.Run(Runtime, problem.Input, output, rows, cols, problem.Temperature);
            Check(problem, output.ToArray(), name);
        }
    }

    private static void Check(SoftmaxProblem problem, float[] actual, string what)
    {
        double rel = problem.RelativeTolerance();
        bool log = problem.Case.Kernel.Output != SoftmaxOutput.Probabilities;
        Compare.Close(actual, problem.Reference(), rel, log ? rel : 1e-37, what,
            problem.Case.Kernel.Output == SoftmaxOutput.LogSumExp ? 0 : problem.Cols);
    }
}
