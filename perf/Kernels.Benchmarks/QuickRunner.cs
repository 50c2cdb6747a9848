using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace Kernels.Benchmarks;

/// <summary>
/// <c>--quick</c>: runs every [Benchmark] method of <see cref="SoftmaxBenchmarks"/> for each shape with a plain
/// Stopwatch loop (after the same verification as the real run) and prints the median. A smoke check, not a measurement
/// to quote: no process isolation, no statistics.
/// </summary>
public static class QuickRunner
{
    private const int Runs = 9;
    private static readonly TimeSpan WarmUp = TimeSpan.FromMilliseconds(300);

    /// <summary>Runs the quick pass; returns the process exit code.</summary>
    public static int Run(MemoryBandwidthResult limits)
    {
        var shapes = typeof(SoftmaxBenchmarks).GetProperty(nameof(SoftmaxBenchmarks.Shape))!
            .GetCustomAttribute<ParamsAttribute>()!.Values.Cast<string>().ToArray();
        var methods = typeof(SoftmaxBenchmarks).GetMethods()
            .Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null).ToArray();

        Console.WriteLine($"{"Shape",-10} {"Method",-26} {"Median ms",10} {"GB/s",8} {"% limit",8} {"Ratio",6}");
        foreach (string shape in shapes)
        {
            var benchmarks = new SoftmaxBenchmarks { Shape = shape };
            benchmarks.Setup();
            try
            {
                double? baseline = null;
                foreach (var method in methods)
                {
                    var action = method.CreateDelegate<Action>(benchmarks);
                    double ms = MedianMilliseconds(action);
                    bool isBaseline = method.GetCustomAttribute<BenchmarkAttribute>()!.Baseline;
                    if (isBaseline) baseline = ms;
                    double gbps = SoftmaxBenchmarks.BytesMoved(shape) / (ms * 1e6);
                    string ratio = baseline is { } b ? (ms / b).ToString("F2", CultureInfo.InvariantCulture) : "?";
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{shape,-10} {method.Name,-26} {ms,10:F2} {gbps,8:F1} {100 * gbps / limits.Limit,7:F0}% {ratio,6}"));
                }
            }
            finally
            {
                benchmarks.Cleanup();
            }
        }
        return 0;
    }

    private static double MedianMilliseconds(Action action)
    {
        var warm = Stopwatch.StartNew();
        do action(); while (warm.Elapsed < WarmUp);
        var times = new List<double>(Runs);
        for (int i = 0; i < Runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        times.Sort();
        return times[Runs / 2];
    }
}
