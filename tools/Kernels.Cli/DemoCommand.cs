using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Reflection;
using Kernels.Runtime;

namespace Kernels.Cli;

/// <summary>
/// <c>kernels demo</c>: runs the library's softmax family on the picked backend, checks every output against a float64
/// reference and reports the error, the median time and the bandwidth.
/// </summary>
public static class DemoCommand
{
    private const double Scale = 3.0;
    private const int Seed = 1234;
    private const double ProbabilityTolerance = 1e-4;
    private const double LogTolerance = 1e-5;

    // Output buffers carry this many extra elements holding a sentinel: a kernel that writes past the end of its output
    // is reported (instead of corrupting the heap of a device that shares host memory, such as PoCL).
    private const int Guard = 1024;
    private const float Sentinel = -12345.5f;

    private sealed record Buffers(KernelBuffer<float> Input, KernelBuffer<float> Output, KernelBuffer<float> Temperatures, KernelBuffer<float> Mask);

    private sealed record DemoKernel(string Name, SoftmaxKernel Kernel, Action<KernelRuntime, Buffers, int, int> Launch);

    private static readonly DemoKernel[] Kernels =
    [
        new("Softmax", Softmax.Kernel, (rt, b, r, c) => Softmax.Launch(rt, b.Input, b.Output, r, c, 1f)),
        new("LogSoftmax", LogSoftmax.Kernel, (rt, b, r, c) => LogSoftmax.Launch(rt, b.Input, b.Output, r, c, 1f)),
        new("LogSumExp", LogSumExp.Kernel, (rt, b, r, c) => LogSumExp.Launch(rt, b.Input, b.Output, r, c, 1f)),
        new("StableMax", StableMax.Kernel, (rt, b, r, c) => StableMax.Launch(rt, b.Input, b.Output, r, c, 1f)),
        new("MaskedSoftmax", MaskedSoftmax.Kernel, (rt, b, r, c) => MaskedSoftmax.Launch(rt, b.Input, b.Output, r, c, b.Temperatures, b.Mask)),
    ];

    /// <summary>Runs the demo; returns 0 when every check passes.</summary>
    public static int Run(DemoOptions options)
    {
        using var runtime = KernelRuntime.Create(); // honours KERNELS_BACKEND and KERNELS_OPENCL_COMPAT
        bool emulator = runtime.Backend is Backend.IlgpuCpu or Backend.OpenCL;
        Console.WriteLine($"backend: {runtime.Backend.ToName()} ({runtime.DeviceName}); {runtime.SelectionReason}");
        if (typeof(Softmax).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled == true)
            Console.WriteLine("note: Kernels.dll is a Debug build, so cpu timings are several times slower than Release (dotnet run -c Release ...).");

        (int Rows, int Cols)[] shapes = options.Rows is null && options.Cols is null
            ? emulator ? [(8, 4099), (33, 1000)] : [(64, 128000), (4096, 1024)]
            : [(options.Rows ?? (emulator ? 8 : 64), options.Cols ?? (emulator ? 4099 : 128000))];
        int runs = options.Runs ?? (emulator ? 3 : 7);
        if (emulator && options.Rows is null && options.Cols is null)
            Console.WriteLine($"{runtime.Backend.ToName()} is an emulator here: small shapes only (use --rows/--cols for others).");
        Console.WriteLine($"logits ~ N(0, {Scale}²), seed {Seed}; time = median of {runs} launches on device buffers (no transfers); " +
            "GB/s = bytes read once + written once / time.");
        Console.WriteLine($"each output buffer has {Guard} guard elements after it; PAST END counts those a kernel overwrote (must be 0).");
        Console.WriteLine($"error: probabilities max relative error where reference > 1e-30 (tolerance {ProbabilityTolerance:0e0}); " +
            $"log outputs max |a-r|/max(|r|,1) (tolerance {LogTolerance:0e0}); 'exact' = zeros/-inf/NaN that must match exactly.");
        Console.WriteLine();

        bool ok = true;
        foreach (var (rows, cols) in shapes)
            ok &= RunShape(runtime, rows, cols, runs);
        ok &= LargeLogits(runtime);
        Console.WriteLine();
        var (decodeRows, decodeCols) = shapes[0];
        ok &= DecodeDemo.Run(runtime, decodeRows, decodeCols, runs);

        Console.WriteLine();
        Console.WriteLine(ok ? "all checks passed" : "SOME CHECKS FAILED");
        return ok ? 0 : Program.Failure;
    }

    private static bool RunShape(KernelRuntime runtime, int rows, int cols, int runs)
    {
        int n = checked(rows * cols);
        var x = global::Kernels.Benchmarks.Reference.Logits(n, Seed, Scale);
        var temperatures = Enumerable.Range(0, rows).Select(r => 0.5f + 0.25f * (r % 7)).ToArray(); // 0.5 … 2.0
        var mask = MakeMask(rows, cols);

        using var buffers = new DisposableBuffers(runtime, x, temperatures, mask, n);
        var table = new List<string[]>();
        bool ok = true;
        foreach (var kernel in Kernels)
        {
            var output = kernel.Kernel.Output;
            bool stable = kernel.Kernel.Activation == SoftmaxActivation.StableMax;
            double[] expected = kernel.Kernel.HasMask
                ? global::Kernels.Benchmarks.Reference.Compute(x, rows, cols, output, stable, r => temperatures[r], mask)
                : global::Kernels.Benchmarks.Reference.Compute(x, rows, cols, output, stable, _ => 1.0);

            var poison = new float[expected.Length + Guard];
            Array.Fill(poison, float.NaN, 0, expected.Length); // a kernel that writes nothing cannot pass
            Array.Fill(poison, Sentinel, expected.Length, Guard);
            buffers.Value.Output.CopyFrom(poison);

            long first = Stopwatch.GetTimestamp();
            kernel.Launch(runtime, buffers.Value, rows, cols);
            double firstMs = Stopwatch.GetElapsedTime(first).TotalMilliseconds;
            var actual = new float[expected.Length + Guard];
            buffers.Value.Output.CopyTo(actual);
            var comparison = global::Kernels.Benchmarks.Reference.Compare(actual, expected, output);
            int pastEnd = PastEnd(actual, expected.Length);
            double tolerance = output == SoftmaxOutput.Probabilities ? ProbabilityTolerance : LogTolerance;
            bool pass = comparison.MaxError <= tolerance && comparison.Mismatches == 0 && pastEnd == 0;
            ok &= pass;

            var times = new double[runs];
            for (int i = 0; i < runs; i++)
            {
                long start = Stopwatch.GetTimestamp();
                kernel.Launch(runtime, buffers.Value, rows, cols);
                times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            Array.Sort(times);
            double median = times[runs / 2];
            long bytes = ((long)n + expected.Length) * sizeof(float) + (kernel.Kernel.HasMask ? ((long)n + rows) * sizeof(float) : 0);

            table.Add(
            [
                kernel.Name,
                $"{rows} x {cols}",
                comparison.MaxError.ToString("E2", CultureInfo.InvariantCulture),
                comparison.Mismatches.ToString(CultureInfo.InvariantCulture),
                pastEnd.ToString(CultureInfo.InvariantCulture),
                pass ? "ok" : "FAIL",
                firstMs.ToString("F2", CultureInfo.InvariantCulture),
                median.ToString("F3", CultureInfo.InvariantCulture),
                Rate(bytes / (median * 1e6)),
            ]);
        }
        Table.Write(["KERNEL", "SHAPE", "MAX ERR", "EXACT MISMATCH", "PAST END", "CHECK", "FIRST ms", "MEDIAN ms", "GB/s"], table);
        Console.WriteLine($"  MaskedSoftmax: per-row T in 0.5..2, mask with 20% -inf and 20% -1.5 entries{(rows > 1 ? ", last row fully masked (must be all 0)" : "")}.");
        Console.WriteLine();
        return ok;
    }

    // 20% of entries −inf, 20% an additive −1.5, the rest 0; the last row (when there are several) is fully masked.
    private static float[] MakeMask(int rows, int cols)
    {
        var mask = new float[(long)rows * cols];
        for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
        {
            int h = (int)((uint)(r * 7919 + c * 104729) % 5u);
            mask[(long)r * cols + c] = rows > 1 && r == rows - 1 ? float.NegativeInfinity
                : h == 0 ? float.NegativeInfinity
                : h == 1 ? -1.5f
                : 0f;
        }
        return mask;
    }

    // Logits near ±1000: e^1000 overflows float (and double), so a kernel that does not subtract the row maximum
    // (or track the exponent separately) returns inf/inf = NaN or 0/0 = NaN here.
    private static bool LargeLogits(KernelRuntime runtime)
    {
        const int rows = 2, cols = 6;
        float[] x = [1000f, 1001f, 1002f, 1003f, 999f, 998f, -1000f, -1001f, -1002f, -1003f, -999f, -998f];
        using var input = runtime.Upload<float>(x);
        using var output = runtime.Upload<float>(Enumerable.Repeat(Sentinel, rows * cols + Guard).ToArray());
        using var lseOutput = runtime.Upload<float>(Enumerable.Repeat(Sentinel, rows + Guard).ToArray());
        Softmax.Launch(runtime, input, output, rows, cols, 1f);
        LogSumExp.Launch(runtime, input, lseOutput, rows, cols, 1f);
        var probabilities = output.ToArray();
        var logSumExp = lseOutput.ToArray();
        int pastEnd = PastEnd(probabilities, rows * cols) + PastEnd(logSumExp, rows);
        var expected = global::Kernels.Benchmarks.Reference.Compute(x, rows, cols, SoftmaxOutput.Probabilities, false, _ => 1.0);
        var expectedLse = global::Kernels.Benchmarks.Reference.Compute(x, rows, cols, SoftmaxOutput.LogSumExp, false, _ => 1.0);
        var p = global::Kernels.Benchmarks.Reference.Compare(probabilities, expected, SoftmaxOutput.Probabilities);
        var l = global::Kernels.Benchmarks.Reference.Compare(logSumExp, expectedLse, SoftmaxOutput.LogSumExp);
        bool ok = p.MaxError <= ProbabilityTolerance && p.Mismatches == 0 && l.MaxError <= LogTolerance && l.Mismatches == 0 && pastEnd == 0;

        static string Row(IEnumerable<double> values) => string.Join(", ", values.Select(v => v.ToString("F5", CultureInfo.InvariantCulture)));
        Console.WriteLine("large logits (e^1000 overflows; naive exp(x)/sum exp(x) gives NaN):");
        for (int r = 0; r < rows; r++)
        {
            Console.WriteLine($"  x        = [{Row(x.Skip(r * cols).Take(cols).Select(v => (double)v))}]");
            Console.WriteLine($"  softmax  = [{Row(probabilities.Skip(r * cols).Take(cols).Select(v => (double)v))}]");
            Console.WriteLine($"  expected = [{Row(expected.Skip(r * cols).Take(cols))}]");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  logsumexp = {logSumExp[r]:F4} (expected {expectedLse[r]:F4})"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  max err softmax {p.MaxError:E2}, logsumexp {l.MaxError:E2}, exact mismatches {p.Mismatches + l.Mismatches}, written past end {pastEnd}: {(ok ? "ok" : "FAIL")}"));
        return ok;
    }

    private static int PastEnd(float[] data, int length) => data.Skip(length).Count(v => v != Sentinel);

    private static string Rate(double gbps) =>
        gbps.ToString(gbps < 1 ? "F3" : "F1", CultureInfo.InvariantCulture);

    private sealed class DisposableBuffers : IDisposable
    {
        public DisposableBuffers(KernelRuntime runtime, float[] x, float[] temperatures, float[] mask, int n)
        {
            Value = new Buffers(runtime.Upload<float>(x), runtime.Allocate<float>(n + Guard), runtime.Upload<float>(temperatures), runtime.Upload<float>(mask));
        }

        public Buffers Value { get; }

        public void Dispose()
        {
            Value.Input.Dispose();
            Value.Output.Dispose();
            Value.Temperatures.Dispose();
            Value.Mask.Dispose();
        }
    }
}
