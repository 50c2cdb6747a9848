using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Intrinsics;
using Kernels.Runtime;
using Microsoft.CodeAnalysis;
using NUnit.Framework;

namespace Kernels.Generators.Tests;

/// <summary>
/// User-declared fused kernels compiled with the generator into an in-memory assembly, loaded, and run on the cpu and
/// ilgpu-cpu backends against a float64 reference; and the translated vector transforms against their scalar source.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class CompileAndRunTests
{
    private const string Source = """
        using System;
        using Kernels;

        namespace User;

        /// <summary>Gemma-style logit soft-capping fused into a tempered softmax.</summary>
        [SoftmaxKernel(SoftmaxOutput.Probabilities, Temperature = TemperatureMode.Scalar, Transform = nameof(SoftCap))]
        public static partial class Capped
        {
            static float SoftCap(float x) => 30f * MathF.Tanh(x / 30f);
        }

        /// <summary>A column-dependent transform (a repetition penalty on a few tokens).</summary>
        [SoftmaxKernel(SoftmaxOutput.Probabilities, Temperature = TemperatureMode.Scalar, Transform = nameof(Penalty))]
        public static partial class Penalised
        {
            static float Penalty(float x, int column) => column == 3 ? x - 2f : column < 5 ? x * 0.5f + column : Math.Max(x, -4f);
        }

        /// <summary>Outside the vectorisable subset: the cpu kernel applies it element by element.</summary>
        [SoftmaxKernel(SoftmaxOutput.Probabilities, Temperature = TemperatureMode.Scalar, Transform = nameof(Clip))]
        public static partial class Clipped
        {
            static float Clip(float x, int column)
            {
                if (x > Limit(column))
                    return Limit(column);
                return x;
            }

            static float Limit(int column) => 2f + (column & 7);
        }

        /// <summary>Per-row temperatures and a mask with a column transform, log-probabilities out.</summary>
        [SoftmaxKernel(SoftmaxOutput.LogProbabilities, Temperature = TemperatureMode.PerRow, Mask = true, Transform = nameof(Shift))]
        public static partial class MaskedShift
        {
            static float Shift(float x, int column) => x + 0.01f * column;
        }

        // Transforms compared lane by lane with their vector translation.
        [SoftmaxKernel(Transform = nameof(F))] public static partial class T0 { static float F(float x) => 30f * MathF.Tanh(x / 30f); }
        [SoftmaxKernel(Transform = nameof(F))] public static partial class T1 { static float F(float x, int column) => column == 3 ? x - 2f : x; }
        [SoftmaxKernel(Transform = nameof(F))] public static partial class T2 { static float F(float x, int column) => x > 0f && column != 0 || !(x < -1f) ? x : -x * (float)column; }
        [SoftmaxKernel(Transform = nameof(F))] public static partial class T3 { static float F(float x, int column) { float s = x * 0.5f; int k = column + 1; return Math.Min(s, 8f) + k; } }
        [SoftmaxKernel(Transform = nameof(F))] public static partial class T4 { static float F(float x) => MathF.Sqrt(MathF.Abs(x)) + MathF.Log(1f + MathF.Abs(x)) - MathF.Exp(-MathF.Abs(x)); }
        [SoftmaxKernel(Transform = nameof(F))] public static partial class T5 { static float F(float x, int column) => x + (column * 3 - 7) * 0.25f; }
        [SoftmaxKernel(Transform = nameof(F))] public static partial class T6 { static float F(float x) => (float)(int)x; }
        [SoftmaxKernel(Transform = nameof(F))] public static partial class T7 { static float F(float x) => x != x ? 0f : x; }
        [SoftmaxKernel(Transform = nameof(F))] public static partial class T8 { static float F(float x, int column) => (float)(column > 2 ? column : -column) * x; }
        [SoftmaxKernel(Transform = nameof(F))] public static partial class T9 { static float F(float x, int column) => Math.Max(column, 2) * x + Math.Abs(-column) - Math.Min(column, 4); }
        [SoftmaxKernel(Transform = nameof(F))] public static partial class T10 { static float F(float x) => (float)(x * 0.1 + Math.Exp(x * 0.01)); }
        [SoftmaxKernel(Transform = nameof(F))] public static partial class T11 { static float F(float x) { const float c = 1.5f; bool big = x >= c; return big ? c : -x; } }
        [SoftmaxKernel(Transform = nameof(F))] public static partial class T12 { static float F(float x, int column) => x <= -column ? float.NegativeInfinity : x / 3f; }
        [SoftmaxKernel(Transform = nameof(F))] public static partial class T13 { static float F(float x, int column) => -(x - column) * +2f; }
        """;

    private static readonly int TransformCount = 14;

    private Assembly _assembly = null!;
    private readonly Dictionary<Backend, KernelRuntime> _runtimes = new();

    [OneTimeSetUp]
    public void CompileAndLoad()
    {
        var run = GeneratorHarness.Run(Source);
        Assert.That(run.Exception, Is.Null);
        // Clipped is outside the subset (KRN1005, info); nothing else is reported.
        Assert.That(run.Diagnostics.Select(d => d.Id), Is.EqualTo(new[] { "KRN1005" }), () => string.Join("\n", run.Diagnostics));
        Assert.That(run.Result.GeneratedTrees, Has.Length.EqualTo(4 + TransformCount));

        using var image = new MemoryStream();
        var emitted = run.Output.Emit(image);
        Assert.That(emitted.Success, () => string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        // A real assembly (not a collectible or reflection-only one): ILGPU reads the kernels' IL by reflection.
        _assembly = Assembly.Load(image.ToArray());
        _runtimes[Backend.Cpu] = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        _runtimes[Backend.IlgpuCpu] = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.IlgpuCpu });
    }

    [OneTimeTearDown]
    public void DisposeRuntimes()
    {
        foreach (var runtime in _runtimes.Values)
            runtime.Dispose();
    }

    private Type Kernel(string name) => _assembly.GetType("User." + name, throwOnError: true)!;

    // ---- float64 references ---------------------------------------------------------------------------------------

    private static double SoftCap(double x) => 30.0 * Math.Tanh(x / 30.0);

    private static double Penalty(double x, int column) => column == 3 ? x - 2.0 : column < 5 ? x * 0.5 + column : Math.Max(x, -4.0);

    private static double Clip(double x, int column) => Math.Min(x, 2.0 + (column & 7));

    /// <summary>Row softmax of z = f(x, column) / T, max-subtracted, in double.</summary>
    private static double[] Reference(float[] input, int rows, int cols, Func<double, int, double> f, Func<int, double> temperature,
        float[]? mask = null, bool log = false)
    {
        var result = new double[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            var z = new double[cols];
            for (int c = 0; c < cols; c++)
                z[c] = f(input[r * cols + c], c) / temperature(r) + (mask is null ? 0.0 : mask[r * cols + c]);
            double max = z.Max();
            double sum = z.Sum(v => Math.Exp(v - max));
            for (int c = 0; c < cols; c++)
                result[r * cols + c] = log ? z[c] - max - Math.Log(sum) : Math.Exp(z[c] - max) / sum;
        }
        return result;
    }

    private static float[] Logits(int count, int seed)
    {
        var random = new System.Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++)
            values[i] = (float)(random.NextDouble() * 24.0 - 12.0);
        // A few large logits, where the soft cap saturates.
        for (int i = 0; i < count; i += 97)
            values[i] = i % 2 == 0 ? 90f : -75f;
        return values;
    }

    private static void AssertClose(float[] actual, double[] expected, double relative, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < expected.Length; i++)
        {
            double tolerance = relative * Math.Abs(expected[i]) + 1e-30;
            if (double.IsNegativeInfinity(expected[i]))
                Assert.That(actual[i], Is.EqualTo(float.NegativeInfinity), $"{what}: element {i}");
            else
                Assert.That(Math.Abs(actual[i] - expected[i]), Is.LessThanOrEqualTo(tolerance),
                    $"{what}: element {i}: {actual[i]:R} vs {expected[i]:R}");
        }
    }

    // ---- Launch (buffers, via reflection) and Run (spans, via a delegate) -----------------------------------------

    private delegate void RunScalar(KernelRuntime runtime, ReadOnlySpan<float> input, Span<float> output, int rows, int cols, float temperature);

    private float[] Launch(Backend backend, string kernel, float[] input, int rows, int cols, float temperature)
    {
        var runtime = _runtimes[backend];
        var launch = Kernel(kernel).GetMethod("Launch", BindingFlags.Public | BindingFlags.Static)!;
        using var inputBuffer = runtime.Upload<float>(input);
        using var outputBuffer = runtime.Allocate<float>(rows * cols);
        launch.Invoke(null, new object[] { runtime, inputBuffer, outputBuffer, rows, cols, temperature });
        return outputBuffer.ToArray();
    }

    private float[] Run(Backend backend, string kernel, float[] input, int rows, int cols, float temperature)
    {
        var run = Kernel(kernel).GetMethod("Run", BindingFlags.Public | BindingFlags.Static)!.CreateDelegate<RunScalar>();
        var output = new float[rows * cols];
        run(_runtimes[backend], input, output, rows, cols, temperature);
        return output;
    }

    private static readonly object[] Cases =
    {
        new object[] { Backend.Cpu, 3, 7 },
        new object[] { Backend.Cpu, 2, 1029 },
        new object[] { Backend.IlgpuCpu, 3, 7 },
        new object[] { Backend.IlgpuCpu, 2, 1029 },
    };

    [TestCaseSource(nameof(Cases))]
    public void SoftCappedSoftmax(Backend backend, int rows, int cols)
    {
        var input = Logits(rows * cols, seed: rows * 31 + cols);
        const float temperature = 1.3f;
        var expected = Reference(input, rows, cols, (x, _) => SoftCap(x), _ => temperature);
        AssertClose(Launch(backend, "Capped", input, rows, cols, temperature), expected, 1e-5, "Launch");
        AssertClose(Run(backend, "Capped", input, rows, cols, temperature), expected, 1e-5, "Run");
    }

    [TestCaseSource(nameof(Cases))]
    public void ColumnDependentTransform(Backend backend, int rows, int cols)
    {
        var input = Logits(rows * cols, seed: rows * 17 + cols);
        const float temperature = 2.5f;
        var expected = Reference(input, rows, cols, Penalty, _ => temperature);
        AssertClose(Launch(backend, "Penalised", input, rows, cols, temperature), expected, 1e-5, "Launch");
        AssertClose(Run(backend, "Penalised", input, rows, cols, temperature), expected, 1e-5, "Run");
    }

    [TestCaseSource(nameof(Cases))]
    public void ElementByElementFallback(Backend backend, int rows, int cols)
    {
        var input = Logits(rows * cols, seed: rows * 7 + cols);
        const float temperature = 0.8f;
        var expected = Reference(input, rows, cols, Clip, _ => temperature);
        AssertClose(Launch(backend, "Clipped", input, rows, cols, temperature), expected, 1e-5, "Launch");
    }

    [TestCaseSource(nameof(Cases))]
    public void PerRowTemperaturesAndMask(Backend backend, int rows, int cols)
    {
        var runtime = _runtimes[backend];
        var input = Logits(rows * cols, seed: rows * 5 + cols);
        var temperatures = Enumerable.Range(0, rows).Select(r => 0.5f + r).ToArray();
        var mask = new float[rows * cols];
        for (int i = 0; i < mask.Length; i++)
            mask[i] = i % 5 == 1 ? float.NegativeInfinity : (i % 3) * 0.25f;
        var expected = Reference(input, rows, cols, (x, c) => x + 0.01 * c, r => temperatures[r], mask, log: true);

        using var inputBuffer = runtime.Upload<float>(input);
        using var outputBuffer = runtime.Allocate<float>(rows * cols);
        using var temperatureBuffer = runtime.Upload<float>(temperatures);
        using var maskBuffer = runtime.Upload<float>(mask);
        Kernel("MaskedShift").GetMethod("Launch")!.Invoke(null, new object[] { runtime, inputBuffer, outputBuffer, rows, cols, temperatureBuffer, maskBuffer });
        // Log-probabilities: an absolute error on values near 0 is what float can give.
        var actual = outputBuffer.ToArray();
        for (int i = 0; i < expected.Length; i++)
        {
            if (double.IsNegativeInfinity(expected[i]))
                Assert.That(actual[i], Is.EqualTo(float.NegativeInfinity), $"element {i}");
            else
                Assert.That(actual[i], Is.EqualTo(expected[i]).Within(1e-5 * Math.Max(1.0, Math.Abs(expected[i]))), $"element {i}");
        }
    }

    [Test]
    public void LaunchValidatesItsArguments()
    {
        var runtime = _runtimes[Backend.Cpu];
        using var input = runtime.Upload<float>(new float[6]);
        using var output = runtime.Allocate<float>(5);
        var launch = Kernel("Capped").GetMethod("Launch")!;
        var thrown = Assert.Throws<TargetInvocationException>(() => launch.Invoke(null, new object[] { runtime, input, output, 2, 3, 1f }));
        Assert.That(thrown!.InnerException, Is.InstanceOf<ArgumentException>());
    }

    // ---- the vector translation computes the scalar function, lane for lane -------------------------------------

    private static IEnumerable<(float[] X, int[] Columns)> Lanes()
    {
        var special = new[] { 0f, -0f, 1f, -1f, 1.5f, -1.5f, 2.7f, -2.7f, 3f, -3f, 7.99f, 8f, -100f, 100f, 1e-20f, -1e-20f, 29f, 60f, -60f, 0.3f, float.NaN, 1e6f, -1e6f, 0.5f };
        var random = new System.Random(12345);
        var values = special.Concat(Enumerable.Range(0, 200).Select(_ => (float)(random.NextDouble() * 40 - 20))).ToArray();
        for (int start = 0; start + 8 <= values.Length; start += 8)
        {
            var columns = Enumerable.Range(start % 24 - 4, 8).ToArray();
            yield return (values[start..(start + 8)], columns);
        }
    }

    [Test]
    public void VectorTransformsMatchTheirScalarForm([Range(0, 13)] int index)
    {
        var type = Kernel($"T{index}").GetNestedType("GeneratedTransform")!;
        object transform = Activator.CreateInstance(type)!;
        var scalar = type.GetMethod("Apply", new[] { typeof(float), typeof(int) })!;
        var vector = type.GetMethod("Apply", new[] { typeof(Vector256<float>), typeof(Vector256<int>) })!;
        foreach (var (x, columns) in Lanes())
        {
            var result = (Vector256<float>)vector.Invoke(transform, new object[] { Vector256.Create(x), Vector256.Create(columns) })!;
            for (int lane = 0; lane < 8; lane++)
            {
                float expected = (float)scalar.Invoke(transform, new object[] { x[lane], columns[lane] })!;
                float actual = result.GetElement(lane);
                string what = $"T{index}: x = {x[lane]:R}, column = {columns[lane]}";
                if (float.IsNaN(expected))
                    Assert.That(actual, Is.NaN, what);
                else if (float.IsInfinity(expected))
                    Assert.That(actual, Is.EqualTo(expected), what);
                else
                    Assert.That(actual, Is.EqualTo(expected).Within(2e-6 * Math.Max(1.0, Math.Abs(expected))), what);
            }
        }
    }

    /// <summary>
    /// The sixteen-lane form (the softmax's AVX-512 pass) against the eight-lane form on each half: the same bits on
    /// AVX-512 hardware, where both run the same instructions; Clipped is outside the subset and runs as two halves.
    /// </summary>
    [Test]
    public void WideTransformsMatchTheirEightLaneForm([Values("T0", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12", "T13", "Clipped")] string kernel)
    {
        var type = Kernel(kernel).GetNestedType("GeneratedTransform")!;
        object transform = Activator.CreateInstance(type)!;
        var narrow = type.GetMethod("Apply", new[] { typeof(Vector256<float>), typeof(Vector256<int>) })!;
        var wide = type.GetMethod("Apply", new[] { typeof(Vector512<float>), typeof(Vector512<int>) })!;
        var groups = Lanes().ToArray();
        for (int g = 0; g + 1 < groups.Length; g += 2)
        {
            var (x0, c0) = groups[g];
            var (x1, c1) = groups[g + 1];
            var result = (Vector512<float>)wide.Invoke(transform, new object[]
            {
                Vector512.Create(Vector256.Create(x0), Vector256.Create(x1)), Vector512.Create(Vector256.Create(c0), Vector256.Create(c1)),
            })!;
            var lo = (Vector256<float>)narrow.Invoke(transform, new object[] { Vector256.Create(x0), Vector256.Create(c0) })!;
            var hi = (Vector256<float>)narrow.Invoke(transform, new object[] { Vector256.Create(x1), Vector256.Create(c1) })!;
            for (int lane = 0; lane < 16; lane++)
            {
                float expected = lane < 8 ? lo.GetElement(lane) : hi.GetElement(lane - 8);
                float actual = result.GetElement(lane);
                string what = $"{kernel}: x = {(lane < 8 ? x0[lane] : x1[lane - 8]):R}";
                if (System.Runtime.Intrinsics.X86.Avx512F.VL.IsSupported || float.IsNaN(expected))
                    Assert.That(BitConverter.SingleToInt32Bits(actual), Is.EqualTo(BitConverter.SingleToInt32Bits(expected)), what);
                else
                    Assert.That(actual, Is.EqualTo(expected).Within(2e-6 * Math.Max(1.0, Math.Abs(expected))), what);
            }
        }
    }
}
