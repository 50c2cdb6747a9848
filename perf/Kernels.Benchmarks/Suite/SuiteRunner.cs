using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Kernels.Runtime;

namespace Kernels.Benchmarks.Suite;

/// <summary>What to run.</summary>
public sealed record SuiteOptions
{
    /// <summary>Smoke, quick or full.</summary>
    public SuiteMode Mode { get; init; } = SuiteMode.Full;

    /// <summary>Substring or glob (<c>*</c>) matched, case-insensitively, against <c>family/kernel/backend/shape</c>.</summary>
    public string? Filter { get; init; }

    /// <summary>Backends to run; null: cpu, ilgpu-cpu, opencl and cuda (absent ones are recorded as unavailable).</summary>
    public IReadOnlyList<Backend>? Backends { get; init; }

    /// <summary>Where to write the results file; null: do not write.</summary>
    public string? ResultsDirectory { get; init; }

    /// <summary>Progress lines; null: the console.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>
/// Runs every kernel family (every <see cref="KernelFamilyBenchmark"/> subclass, and plain BenchmarkDotNet classes of
/// other families) on every backend: probes the hardware limits, verifies each case against its reference, times it
/// with the accelerator synchronised inside the timed region, and stores one <see cref="BenchRun"/> JSON file.
/// </summary>
public static class SuiteRunner
{
    /// <summary>The default backends.</summary>
    public static readonly Backend[] AllBackends = [Backend.Cpu, Backend.IlgpuCpu, Backend.OpenCL, Backend.Cuda];

    /// <summary>Runs the suite; returns the run and the file written (if any).</summary>
    public static (BenchRun Run, string? Path) Run(SuiteOptions options)
    {
        var log = options.Log ?? Console.WriteLine;
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var matches = Matcher(options.Filter);
        string mode = options.Mode.ToString().ToLowerInvariant();

        int probeMib = options.Mode == SuiteMode.Smoke ? 32 : 256;
        log($"probing hardware limits ({probeMib} MiB streams, FMA chains)...");
        var bandwidth = MemoryBandwidth.Measure(probeMib);
        var fma = options.Mode == SuiteMode.Smoke ? FmaThroughput.Measure(200_000, 1) : FmaThroughput.Measure();
        var limits = new LimitsRecord(Round(bandwidth.ReadOneThread), Round(bandwidth.ReadAllThreads), Round(bandwidth.CopyOneThread),
            Round(bandwidth.CopyAllThreads), bandwidth.Threads, Round(fma.OneThread), Round(fma.AllThreads), fma.VectorBits,
            Round(bandwidth.Limit), probeMib);
        log($"  {bandwidth}");
        log(string.Create(CultureInfo.InvariantCulture, $"  FMA ({fma.VectorBits}-bit): 1 thread {fma.OneThread:F1} GFLOP/s, {bandwidth.Threads} threads {fma.AllThreads:F1} GFLOP/s"));

        var results = new List<ResultRecord>();
        var backends = new List<BackendRecord>();
        var families = DiscoverFamilies();
        var runtimes = new Dictionary<Backend, KernelRuntime?>();
        try
        {
            foreach (var backend in options.Backends ?? AllBackends)
            {
                try
                {
                    var runtime = KernelRuntime.Create(new KernelRuntimeOptions { Backend = backend, OpenClCompatibility = true });
                    runtimes[backend] = runtime;
                    // ILGPU backends are compared with their own memory's copy bandwidth (a GPU's, device to device).
                    double? copy = DeviceCopy.Measure(runtime, backend == Backend.Cuda ? 256 : options.Mode == SuiteMode.Smoke ? 8 : 32);
                    backends.Add(new BackendRecord(backend.ToName(), runtime.DeviceName, "ok", null, copy is { } c ? Significant(c) : null));
                    if (copy is { } measured)
                        log(string.Create(CultureInfo.InvariantCulture, $"  {backend.ToName()} device copy: {measured:F1} GB/s"));
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    runtimes[backend] = null;
                    backends.Add(new BackendRecord(backend.ToName(), "", "unavailable", e.Message.Split('\n')[0]));
                    log($"backend {backend.ToName()}: unavailable ({e.Message.Split('\n')[0]})");
                }
            }

            foreach (var family in families)
                RunFamily(family, options.Mode, runtimes, matches, results, log);
            foreach (var type in BenchmarkDotNetFamily.Discover(families.Select(f => f.Family)))
                results.AddRange(BenchmarkDotNetFamily.Run(type, options.Mode, matches, log));
        }
        finally
        {
            foreach (var runtime in runtimes.Values)
                runtime?.Dispose();
        }

        results = WithRatios(results, families, bandwidth.Limit, backends);
        var (commit, dirty) = Git();
        var run = new BenchRun
        {
            RunId = started.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + (commit is null ? "" : "-" + commit[..7]),
            Date = started,
            Commit = commit,
            Dirty = dirty,
            Mode = mode,
            Machine = Machine(),
            Backends = backends,
            Limits = limits,
            Results = results,
        };
        string? path = null;
        if (options.ResultsDirectory is { } directory)
        {
            Directory.CreateDirectory(directory);
            path = Path.Combine(directory, $"{run.RunId}-{mode}.json");
            run.Write(path);
        }
        int failed = results.Count(r => r.Status != "ok");
        log(string.Create(CultureInfo.InvariantCulture,
            $"{results.Count} results ({failed} failed) in {clock.Elapsed.TotalSeconds:F0} s{(path is null ? "" : "; wrote " + path)}"));
        return (run, path);
    }

    /// <summary>Every concrete <see cref="KernelFamilyBenchmark"/> in this assembly.</summary>
    public static IReadOnlyList<KernelFamilyBenchmark> DiscoverFamilies() =>
        typeof(SuiteRunner).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(KernelFamilyBenchmark)) && !t.IsAbstract && t.GetConstructor(Type.EmptyTypes) is not null)
            .Select(t => (KernelFamilyBenchmark)Activator.CreateInstance(t)!)
            .OrderBy(f => f.Family, StringComparer.Ordinal)
            .ToList();

    private static void RunFamily(KernelFamilyBenchmark family, SuiteMode mode, Dictionary<Backend, KernelRuntime?> runtimes,
        Func<string, bool> matches, List<ResultRecord> results, Action<string> log)
    {
        var baselineShapes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (backend, runtime) in runtimes)
        {
            if (runtime is null) continue;
            foreach (string shape in family.Shapes(backend, mode))
            {
                string name = backend.ToName();
                bool Include(string kernel) => matches($"{family.Family}/{kernel}/{name}/{shape}");
                PreparedCases prepared;
                try
                {
                    prepared = family.PrepareKernels(runtime, shape, Include);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    log($"{family.Family}/{name}/{shape}: preparation failed: {e.Message.Split('\n')[0]}");
                    results.Add(Failed(family, "*", CaseKind.Kernel, name, shape, e.Message));
                    continue;
                }
                using (prepared)
                {
                    if (prepared.Cases.Count == 0) continue;
                    foreach (var c in prepared.Cases)
                        results.Add(Measure(family, c, name, shape, mode, log));
                }
                if (baselineShapes.Add(shape))
                {
                    using var baselines = family.PrepareBaselines(shape);
                    foreach (var c in baselines.Cases)
                        results.Add(Measure(family, c, "host", shape, mode, log));
                }
            }
        }
    }

    private static ResultRecord Failed(KernelFamilyBenchmark family, string kernel, CaseKind kind, string backend, string shape, string error) =>
        new($"{family.Family}/{kernel}/{backend}/{shape}", family.Family, kernel, kind == CaseKind.Kernel ? "kernel" : "baseline",
            backend, shape, family.DataType, "failed", 0, null, null, null, null, 0, null, null, null, null, null, error.Split('\n')[0]);

    private static ResultRecord Measure(KernelFamilyBenchmark family, BenchCase c, string backend, string shape, SuiteMode mode, Action<string> log)
    {
        string id = $"{family.Family}/{c.Name}/{backend}/{shape}";
        if (c.Error is not null)
        {
            log($"  {id,-50} FAILED: {c.Error}");
            return Failed(family, c.Name, c.Kind, backend, shape, c.Error) with { MaxError = Finite(c.MaxError) };
        }
        double[] times;
        try
        {
            times = Time(c.Run, mode);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log($"  {id,-50} FAILED while timing: {e.Message.Split('\n')[0]}");
            return Failed(family, c.Name, c.Kind, backend, shape, e.Message) with { MaxError = Finite(c.MaxError) };
        }
        var stats = Statistics.Of(times);
        double? gbps = c.Bytes > 0 ? c.Bytes / (stats.Median * 1e6) : null;
        log(string.Create(CultureInfo.InvariantCulture,
            $"  {id,-50} {stats.Median,10:F3} ms ±{100 * stats.Spread,4:F0}%  {(gbps is { } g ? g.ToString(g < 1 ? "F3" : "F1", CultureInfo.InvariantCulture) + " GB/s" : ""),12}  err {c.MaxError:E1}"));
        return new ResultRecord(id, family.Family, c.Name, c.Kind == CaseKind.Kernel ? "kernel" : "baseline", backend, shape, family.DataType,
            "ok", times.Length, Significant(stats.Median), Significant(stats.Min), Significant(stats.Max), Round(stats.Spread, 3), c.Bytes,
            gbps is { } v ? Significant(v) : null, null, null, null, Finite(c.MaxError) is { } error ? Significant(error, 3) : null, null);
    }

    /// <summary>Timed runs of <paramref name="run"/> after a warm-up; the verification run already compiled it.</summary>
    public static double[] Time(Action run, SuiteMode mode)
    {
        var (warm, minRuns, maxRuns, budget) = mode switch
        {
            SuiteMode.Smoke => (TimeSpan.Zero, 2, 3, TimeSpan.FromMilliseconds(20)),
            SuiteMode.Quick => (TimeSpan.FromMilliseconds(100), 3, 15, TimeSpan.FromMilliseconds(400)),
            _ => (TimeSpan.FromMilliseconds(500), 10, 200, TimeSpan.FromSeconds(3)),
        };
        var warmClock = Stopwatch.StartNew();
        do run(); while (warmClock.Elapsed < warm);
        var times = new List<double>();
        var clock = Stopwatch.StartNew();
        while (times.Count < minRuns || (times.Count < maxRuns && clock.Elapsed < budget))
        {
            long start = Stopwatch.GetTimestamp();
            run();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        return times.ToArray();
    }

    private static List<ResultRecord> WithRatios(List<ResultRecord> results, IReadOnlyList<KernelFamilyBenchmark> families, double limit,
        IReadOnlyList<BackendRecord> backends)
    {
        var limits = backends.Where(b => b.CopyGBps is > 0).ToDictionary(b => b.Name, b => b.CopyGBps!.Value);
        var primary = families.ToDictionary(f => f.Family, f => f.PrimaryBaseline);
        var baselines = results.Where(r => r.Kind == "baseline" && r.MedianMs is not null)
            .GroupBy(r => (r.Family, r.Kernel, r.Shape)).ToDictionary(g => g.Key, g => g.First().MedianMs!.Value);
        return results.Select(r =>
        {
            string? baseline = primary.TryGetValue(r.Family, out var b) ? b
                : results.FirstOrDefault(x => x.Family == r.Family && x.Kind == "baseline")?.Kernel;
            double? ratio = baseline is not null && r.MedianMs is { } m && baselines.TryGetValue((r.Family, baseline, r.Shape), out double bm)
                ? Significant(m / bm) : null;
            return r with
            {
                LimitFraction = r.GBps is { } g ? Significant(g / limits.GetValueOrDefault(r.Backend, limit)) : null,
                Baseline = ratio is null ? null : baseline,
                BaselineRatio = ratio,
            };
        }).ToList();
    }

    /// <summary>A filter as a predicate: null matches everything; <c>*</c> is a wildcard; otherwise a substring.</summary>
    public static Func<string, bool> Matcher(string? filter)
    {
        if (string.IsNullOrWhiteSpace(filter)) return _ => true;
        if (!filter.Contains('*', StringComparison.Ordinal))
            return id => id.Contains(filter, StringComparison.OrdinalIgnoreCase);
        var regex = new Regex("^" + Regex.Escape(filter).Replace("\\*", ".*", StringComparison.Ordinal) + "$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        return regex.IsMatch;
    }

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    /// <summary>Rounds to <paramref name="digits"/> significant digits (keeps the file small without losing tiny values).</summary>
    public static double Significant(double value, int digits = 5)
    {
        if (value == 0 || !double.IsFinite(value)) return value;
        int scale = digits - 1 - (int)Math.Floor(Math.Log10(Math.Abs(value)));
        return scale is >= 0 and <= 15 ? Math.Round(value, scale, MidpointRounding.AwayFromZero) : double.Parse(value.ToString("G" + digits, CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    private static double Round(double value, int digits = 2) => Math.Round(value, digits, MidpointRounding.AwayFromZero);

    private static MachineRecord Machine()
    {
        string cpu = RuntimeInformation.ProcessArchitecture.ToString();
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
                    ?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }
        return new MachineRecord(Environment.MachineName, RuntimeInformation.OSDescription, cpu, Environment.ProcessorCount,
            RuntimeInformation.FrameworkDescription);
    }

    private static (string? Commit, bool? Dirty) Git()
    {
        string? head = RunGit("rev-parse HEAD");
        if (head is null || head.Length < 7) return (null, null);
        string? status = RunGit("status --porcelain --untracked-files=no");
        return (head, status is null ? null : status.Length > 0);
    }

    private static string? RunGit(string arguments)
    {
        try
        {
            var start = new ProcessStartInfo("git", arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = RepositoryRoot() ?? Directory.GetCurrentDirectory(),
            };
            using var process = Process.Start(start)!;
            string output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit(10_000);
            return process.ExitCode == 0 ? output : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            return null;
        }
    }

    /// <summary>The repository root (the folder with Directory.Build.props and perf/), from the working directory or the binaries.</summary>
    public static string? RepositoryRoot()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Directory.Build.props")) && Directory.Exists(Path.Combine(dir.FullName, "perf")))
                    return dir.FullName;
            }
        }
        return null;
    }
}

/// <summary>Median, extremes and interquartile spread of timings.</summary>
public readonly record struct Statistics(double Median, double Min, double Max, double Spread)
{
    /// <summary>Computes the statistics of <paramref name="times"/> (at least one value).</summary>
    public static Statistics Of(IReadOnlyList<double> times)
    {
        var sorted = times.OrderBy(t => t).ToArray();
        double Quantile(double q)
        {
            double position = q * (sorted.Length - 1);
            int low = (int)Math.Floor(position);
            int high = Math.Min(low + 1, sorted.Length - 1);
            return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
        }
        double median = Quantile(0.5);
        return new Statistics(median, sorted[0], sorted[^1], median > 0 ? (Quantile(0.75) - Quantile(0.25)) / median : 0);
    }
}
