using System;
using System.IO;
using System.Linq;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;

namespace Kernels.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project perf/Kernels.Benchmarks -- [BenchmarkDotNet arguments]</c>; <c>-- --quick</c> or
/// <c>-- --suite</c> for the suite (<see cref="Suite.SuiteRunner"/>, as <c>kernels bench [--quick]</c>); <c>-- --quick-bdn</c>
/// for a one-pass Stopwatch smoke run of the BenchmarkDotNet softmax methods.
/// </summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        if (args.Contains("--quick") || args.Contains("--suite"))
        {
            // The suite (every family x backend, verified, timed, stored as perf/results/*.json): same as `kernels bench`.
            var (run, _) = Suite.SuiteRunner.Run(new Suite.SuiteOptions
            {
                Mode = args.Contains("--quick") ? Suite.SuiteMode.Quick : Suite.SuiteMode.Full,
                ResultsDirectory = Path.Combine(FindPerfDirectory(), "results"),
            });
            return run.Results.Any(r => r.Status != "ok") ? 1 : 0;
        }
        if (args.Contains("--quick-bdn"))
            return QuickRunner.Run(MemoryBandwidth.Current);

        var limits = MemoryBandwidth.Current;
        Console.WriteLine($"// {limits}");

        string perf = FindPerfDirectory();
        var config = CreateConfig(Path.Combine(perf, "BenchmarkDotNet.Artifacts"), limits.Limit);
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config).ToList();

        string results = Path.Combine(perf, "results");
        Directory.CreateDirectory(results);
        foreach (var summary in summaries)
        {
            if (!Directory.Exists(summary.ResultsDirectoryPath)) continue;
            foreach (string file in Directory.EnumerateFiles(summary.ResultsDirectoryPath)
                         .Where(f => f.EndsWith(".json", StringComparison.Ordinal) || f.EndsWith(".md", StringComparison.Ordinal)))
            {
                string target = Path.Combine(results, Path.GetFileName(file));
                File.Copy(file, target, overwrite: true);
                Console.WriteLine($"// copied {target}");
            }
        }
        File.WriteAllText(Path.Combine(results, "memory-bandwidth.txt"), limits + Environment.NewLine);

        bool failed = summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success));
        return failed ? 1 : 0;
    }

    /// <summary>
    /// A short job (3 warm-up and 10 measured iterations, invocation count chosen by the pilot) so that the softmax class
    /// runs in about three minutes on two cores; JSON and GitHub markdown reports; GB/s and % of limit columns.
    /// </summary>
    public static IConfig CreateConfig(string artifactsPath, double limitGBps) =>
        ManualConfig.CreateEmpty()
            .AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(10).WithId("W3xI10"))
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(new BandwidthColumn(percent: false, limitGBps), new BandwidthColumn(percent: true, limitGBps))
            .AddLogger(ConsoleLogger.Default)
            .AddExporter(JsonExporter.Brief, MarkdownExporter.GitHub)
            .WithArtifactsPath(artifactsPath)
            .WithOptions(ConfigOptions.JoinSummary);

    private static string FindPerfDirectory()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Directory.Build.props")) && Directory.Exists(Path.Combine(dir.FullName, "perf")))
                    return Path.Combine(dir.FullName, "perf");
            }
        }
        return Directory.GetCurrentDirectory();
    }
}
