using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Kernels.Runtime;

namespace Kernels.Cli;

/// <summary>
/// The demo's decode step: a batch of requests, each with its own temperature, top-k, top-p, min-p and seed, sampled
/// in one <see cref="DecodeSample"/> launch; every token is checked against the kept set computed by sorting the row
/// in float64, and top-k selection against the sorted row.
/// </summary>
public static class DecodeDemo
{
    private static readonly (float T, int K, float P, float MinP)[] Requests =
    [
        (0.8f, 50, 0.9f, 0f), (1f, 0, 0.95f, 0f), (1f, 0, 1f, 0.1f), (0.7f, 20, 0.8f, 0.05f), (1.2f, 1, 1f, 0f), (1f, 0, 1f, 0f),
    ];

    /// <summary>Runs the decode step on <paramref name="runtime"/>; returns whether every check passed.</summary>
    public static bool Run(KernelRuntime runtime, int rows, int cols, int runs)
    {
        var x = global::Kernels.Benchmarks.Reference.Logits((long)rows * cols, 99, 3.0);
        var s = Enumerable.Range(0, rows).Select(r => Requests[r % Requests.Length]).ToArray();
        using var logits = runtime.Upload<float>(x);
        using var tokens = runtime.Allocate<int>(rows);
        using var status = runtime.Allocate<int>(rows);
        using var temperatures = runtime.Upload(s.Select(v => v.T).ToArray());
        using var topK = runtime.Upload(s.Select(v => v.K).ToArray());
        using var topP = runtime.Upload(s.Select(v => v.P).ToArray());
        using var minP = runtime.Upload(s.Select(v => v.MinP).ToArray());
        using var keys = runtime.Upload(Enumerable.Range(0, rows).Select(r => new RngKey(2024, (uint)r)).ToArray());
        double sampleMs = Median(runs, () => DecodeSample.Launch(runtime, logits, tokens, rows, cols, temperatures, topK, topP, minP, keys, 0, status));
        var drawn = tokens.ToArray();
        var outcomes = status.ToArray();

        const int k = 50;
        using var values = runtime.Allocate<float>(rows * k);
        using var indices = runtime.Allocate<int>(rows * k);
        double topKMs = Median(runs, () => TopK.Launch(runtime, logits, values, indices, rows, cols, k));
        var selected = indices.ToArray();

        int outside = 0, wrongTopK = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * cols, cols);
            var order = global::Kernels.Benchmarks.Reference.Order(row);
            if (outcomes[r] != (int)SampleStatus.Sampled
                || !global::Kernels.Benchmarks.Reference.KeptSet(row, order, s[r].T, s[r].K, s[r].P, s[r].MinP).Contains(drawn[r]))
                outside++;
            if (!selected.Skip(r * k).Take(k).SequenceEqual(order.Take(k)))
                wrongTopK++;
        }
        bool ok = outside == 0 && wrongTopK == 0;
        string gbps(double ms) => ((long)rows * cols * sizeof(float) / (ms * 1e6)).ToString("F1", CultureInfo.InvariantCulture);
        Console.WriteLine($"decode step, {rows} x {cols}, one request per row cycling through (T, k, p, min-p) = " +
            string.Join(" ", Requests.Select(q => $"({q.T}, {q.K}, {q.P}, {q.MinP})")) + ":");
        Table.Write(["KERNEL", "MEDIAN ms", "GB/s (logits read once)", "CHECK"],
        [
            ["DecodeSample", sampleMs.ToString("F3", CultureInfo.InvariantCulture), gbps(sampleMs), outside == 0 ? "ok: every token inside its request's kept set" : $"FAIL: {outside} rows outside"],
            ["TopK (k = 50)", topKMs.ToString("F3", CultureInfo.InvariantCulture), gbps(topKMs), wrongTopK == 0 ? "ok: equal to the sorted row" : $"FAIL: {wrongTopK} rows differ"],
        ]);
        Console.WriteLine($"  tokens of the first rows: {string.Join(", ", drawn.Take(Math.Min(rows, 12)))}");
        Console.WriteLine();
        return ok;
    }

    private static double Median(int runs, Action launch)
    {
        launch(); // compile / warm up
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            launch();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        return times[runs / 2];
    }
}
