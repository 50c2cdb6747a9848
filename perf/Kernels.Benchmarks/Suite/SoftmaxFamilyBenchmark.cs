using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Threading.Tasks;
using Kernels.Runtime;

namespace Kernels.Benchmarks.Suite;

/// <summary>
/// The softmax family: every generated kernel with a <see cref="SoftmaxKernel"/> descriptor (found by reflection in the
/// library and in this assembly), on every backend, against TensorPrimitives and plain C# baselines.
/// </summary>
public sealed class SoftmaxFamilyBenchmark : KernelFamilyBenchmark
{
    private const double Scale = 3.0;
    private const int Seed = 1234;
    private const double ProbabilityTolerance = 1e-4;
    private const double LogTolerance = 1e-5;

    /// <inheritdoc/>
    public override string Family => "softmax";

    /// <inheritdoc/>
    public override string PrimaryBaseline => "TensorPrimitives";

    /// <summary>LLM decode batches x vocabularies, and the many-small-rows case.</summary>
    public static readonly string[] FullCpuShapes =
    [
        "1x32000", "1x128000", "1x256000", "16x32000", "16x128000", "16x256000",
        "64x32000", "64x128000", "64x256000", "256x32000", "256x128000", "256x256000", "4096x1024",
    ];

    /// <inheritdoc/>
    public override IReadOnlyList<string> Shapes(Backend backend, SuiteMode mode)
    {
        bool emulator = backend is Backend.IlgpuCpu or Backend.OpenCL;
        return (mode, emulator) switch
        {
            (SuiteMode.Smoke, _) => ["4x1000"],
            (SuiteMode.Quick, false) when backend == Backend.Cpu => ["1x32000", "64x128000", "4096x1024"],
            (SuiteMode.Quick, false) => ["1x32000", "64x128000", "256x256000", "4096x1024"],
            (SuiteMode.Quick, true) => ["1x32000", "16x32000"],
            (SuiteMode.Full, true) => ["1x32000", "16x32000", "64x32000", "1x128000", "256x1024"],
            _ => FullCpuShapes,
        };
    }

    /// <summary>Every type with a static <c>Kernel</c> property of type <see cref="SoftmaxKernel"/>.</summary>
    public static IReadOnlyList<(string Name, Type Type, SoftmaxKernel Kernel)> DiscoverKernels() =>
        new[] { typeof(SoftmaxKernel).Assembly, typeof(SoftmaxFamilyBenchmark).Assembly }
            .SelectMany(a => a.GetTypes())
            .Select(t => (Type: t, Property: t.GetProperty("Kernel", BindingFlags.Public | BindingFlags.Static)))
            .Where(p => p.Property?.PropertyType == typeof(SoftmaxKernel))
            .Select(p => (p.Type.Name, p.Type, (SoftmaxKernel)p.Property!.GetValue(null)!))
            .OrderBy(k => k.Name, StringComparer.Ordinal)
            .ToList();

    /// <summary>A double(double) static method named *Reference on the kernel type: its fused transform, for the reference.</summary>
    private static Func<double, double>? TransformReference(Type type)
    {
        var method = type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .FirstOrDefault(m => m.Name.EndsWith("Reference", StringComparison.Ordinal) && m.ReturnType == typeof(double)
                && m.GetParameters() is [{ ParameterType: var p }] && p == typeof(double));
        return method?.CreateDelegate<Func<double, double>>();
    }

    private sealed record Inputs(int Rows, int Cols, float[] X, float[] Temperatures, float[] Mask);

    private static Inputs MakeInputs(string shape)
    {
        var (rows, cols) = Reference.ParseShape(shape);
        long n = (long)rows * cols;
        var x = Reference.Logits(n, Seed, Scale);
        var temperatures = Enumerable.Range(0, rows).Select(r => 0.5f + 0.25f * (r % 7)).ToArray();
        var mask = new float[n];
        Parallel.For(0, rows, r =>
        {
            for (int c = 0; c < cols; c++)
            {
                int h = (int)((uint)(r * 7919 + c * 104729) % 5u);
                mask[(long)r * cols + c] = h == 0 ? float.NegativeInfinity : h == 1 ? -1.5f : 0f;
            }
        });
        return new Inputs(rows, cols, x, temperatures, mask);
    }

    /// <inheritdoc/>
    public override PreparedCases PrepareKernels(KernelRuntime runtime, string shape, Func<string, bool> include)
    {
        var inputs = MakeInputs(shape);
        int rows = inputs.Rows, cols = inputs.Cols;
        long n = (long)rows * cols;
        var input = runtime.Upload<float>(inputs.X);
        var output = runtime.Allocate<float>(n);
        var temperatures = runtime.Upload<float>(inputs.Temperatures);
        var mask = runtime.Upload<float>(inputs.Mask);
        var cases = new List<BenchCase>();
        var poison = new float[n];
        Array.Fill(poison, float.NaN);
        var actual = new float[n];

        foreach (var (name, type, kernel) in DiscoverKernels())
        {
            if (!include(name)) continue;
            bool perRow = kernel.Temperature == TemperatureMode.PerRow;
            void Run() => kernel.Launch(runtime, input, output, rows, cols, 1f, perRow ? temperatures : null, kernel.HasMask ? mask : null);
            long outLength = kernel.OutputLength(rows, cols);
            long bytes = (n + outLength) * sizeof(float) + (kernel.HasMask ? n * sizeof(float) : 0) + (perRow ? rows * sizeof(float) : 0);
            try
            {
                var expected = ReferenceSoftmax(inputs, kernel.Output, kernel.Activation == SoftmaxActivation.StableMax,
                    perRow, kernel.HasMask, TransformReference(type));
                output.CopyFrom(poison); // a kernel that writes nothing cannot pass
                Run();
                output.CopyTo(actual);
                var (error, mismatches) = Reference.Compare(actual.AsSpan(0, (int)outLength), expected, kernel.Output);
                double tolerance = kernel.Output == SoftmaxOutput.Probabilities ? ProbabilityTolerance : LogTolerance;
                string? failure = error <= tolerance && mismatches == 0 ? null
                    : $"verification failed: max error {error:E2} (tolerance {tolerance:E0}), {mismatches} exact mismatches";
                cases.Add(new BenchCase(name, CaseKind.Kernel, Run, bytes, 0, error, failure));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                cases.Add(new BenchCase(name, CaseKind.Kernel, Run, bytes, 0, double.NaN, $"{e.GetType().Name}: {FirstLine(e.Message)}"));
            }
        }
        return new PreparedCases(cases, () =>
        {
            input.Dispose();
            output.Dispose();
            temperatures.Dispose();
            mask.Dispose();
        });
    }

    /// <inheritdoc/>
    public override PreparedCases PrepareBaselines(string shape)
    {
        var inputs = MakeInputs(shape);
        int rows = inputs.Rows, cols = inputs.Cols;
        var x = inputs.X;
        var y = new float[x.Length];
        var expected = ReferenceSoftmax(inputs, SoftmaxOutput.Probabilities, stableMax: false, perRow: false, masked: false, null);
        long bytes = 2L * x.Length * sizeof(float);

        // Rows spread over the cores; a single row is one call (nobody would start Parallel.For for it).
        void TensorPrimitivesSoftmax()
        {
            if (rows == 1)
                System.Numerics.Tensors.TensorPrimitives.SoftMax(x.AsSpan(0, cols), y.AsSpan(0, cols));
            else
                Parallel.For(0, rows, row =>
                    System.Numerics.Tensors.TensorPrimitives.SoftMax(x.AsSpan(row * cols, cols), y.AsSpan(row * cols, cols)));
        }

        void TensorPrimitivesOneThread()
        {
            for (int row = 0; row < rows; row++)
                System.Numerics.Tensors.TensorPrimitives.SoftMax(x.AsSpan(row * cols, cols), y.AsSpan(row * cols, cols));
        }

        void PlainCSharp() => Parallel.For(0, rows, row =>
        {
            var input = x.AsSpan(row * cols, cols);
            var output = y.AsSpan(row * cols, cols);
            float max = float.NegativeInfinity;
            for (int i = 0; i < input.Length; i++) max = MathF.Max(max, input[i]);
            float sum = 0;
            for (int i = 0; i < input.Length; i++)
            {
                float e = MathF.Exp(input[i] - max);
                output[i] = e;
                sum += e;
            }
            float inverse = 1f / sum;
            for (int i = 0; i < output.Length; i++) output[i] *= inverse;
        });

        var cases = new List<BenchCase>();
        foreach (var (name, run) in new (string, Action)[]
                 {
                     ("TensorPrimitives", TensorPrimitivesSoftmax), ("TensorPrimitivesOneThread", TensorPrimitivesOneThread), ("PlainCSharp", PlainCSharp),
                 })
        {
            Array.Fill(y, float.NaN);
            run();
            var (error, mismatches) = Reference.Compare(y, expected, SoftmaxOutput.Probabilities);
            // Plain float sums drift by ~1e-4 relative over 256k terms: baselines get a looser bound than kernels.
            string? failure = error <= 1e-3 && mismatches == 0 ? null : $"verification failed: max error {error:E2}";
            cases.Add(new BenchCase(name, CaseKind.Baseline, run, bytes, 0, error, failure));
        }
        return new PreparedCases(cases);
    }

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();

    private static double[] ReferenceSoftmax(Inputs inputs, SoftmaxOutput output, bool stableMax, bool perRow, bool masked,
        Func<double, double>? transform) =>
        Reference.Compute(inputs.X, inputs.Rows, inputs.Cols, output, stableMax,
            perRow ? row => inputs.Temperatures[row] : _ => 1.0, masked ? inputs.Mask : null, transform);
}
