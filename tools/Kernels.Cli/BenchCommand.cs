using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Kernels.Benchmarks.Suite;
using Kernels.Runtime;

namespace Kernels.Cli;

/// <summary>Options of <c>kernels bench</c>.</summary>
public sealed record BenchOptions(string? Filter, IReadOnlyList<Backend>? Backends, bool Quick, string? Results)
{
    /// <summary>Parses <c>[--filter F] [--backend B[,B]] [--quick] [--results DIR]</c>.</summary>
    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        string? filter = null, results = null;
        List<Backend>? backends = null;
        bool quick = false;
        for (int i = 0; i < args.Count; i++)
        {
            var (name, value) = Arguments.Split(args[i]);
            switch (name)
            {
                case "--quick": quick = true; break;
                case "--filter": filter = value ?? Arguments.Next(args, ref i, "bench", name); break;
                case "--results": results = value ?? Arguments.Next(args, ref i, "bench", name); break;
                case "--backend":
                    backends ??= [];
                    foreach (string item in (value ?? Arguments.Next(args, ref i, "bench", name)).Split(',', StringSplitOptions.RemoveEmptyEntries))
                        backends.Add(BackendNames.TryParse(item, out var b) ? b
                            : throw new UsageException($"bench: unknown backend '{item}' (cpu, ilgpu-cpu, opencl, cuda)."));
                    break;
                default: throw new UsageException($"bench: unknown option '{args[i]}'.");
            }
        }
        return new BenchOptions(filter, backends, quick, results);
    }
}

/// <summary><c>kernels bench</c>: runs the performance suite and stores one JSON file under perf/results/.</summary>
public static class BenchCommand
{
    /// <summary>Runs the suite; exit code 1 when any case failed verification or could not run.</summary>
    public static int Run(BenchOptions options)
    {
        string results = options.Results ?? DefaultResultsDirectory();
        Console.WriteLine($"kernels bench: {(options.Quick ? "quick" : "full")} run, filter '{options.Filter ?? "*"}', " +
            $"backends {(options.Backends is null ? "all" : string.Join(",", options.Backends.Select(b => b.ToName())))}; results -> {results}");
        var (run, _) = SuiteRunner.Run(new SuiteOptions
        {
            Mode = options.Quick ? SuiteMode.Quick : SuiteMode.Full,
            Filter = options.Filter,
            Backends = options.Backends,
            ResultsDirectory = results,
        });
        var failed = run.Results.Where(r => r.Status != "ok").ToList();
        foreach (var f in failed)
            Console.WriteLine($"FAILED {f.Id}: {f.Error}");
        if (run.Results.Count == 0)
            Console.WriteLine("no benchmark matched the filter.");
        return failed.Count == 0 ? 0 : Program.Failure;
    }

    /// <summary><c>perf/results</c> of the repository around the working directory, else <c>./perf/results</c>.</summary>
    public static string DefaultResultsDirectory() =>
        Path.Combine(SuiteRunner.RepositoryRoot() ?? Directory.GetCurrentDirectory(), "perf", "results");
}

/// <summary><c>kernels dashboard</c>: builds the HTML page from the stored results.</summary>
public static class DashboardCommand
{
    /// <summary>Parses <c>[--results DIR] [--out FILE] [--screenshot PNG]</c> and builds the page (and its screenshot).</summary>
    public static int Run(IReadOnlyList<string> args)
    {
        string? results = null, output = null, screenshot = null;
        for (int i = 0; i < args.Count; i++)
        {
            var (name, value) = Arguments.Split(args[i]);
            switch (name)
            {
                case "--results": results = value ?? Arguments.Next(args, ref i, "dashboard", name); break;
                case "--out": output = value ?? Arguments.Next(args, ref i, "dashboard", name); break;
                case "--screenshot": screenshot = value ?? Arguments.Next(args, ref i, "dashboard", name); break;
                default: throw new UsageException($"dashboard: unknown option '{args[i]}'.");
            }
        }
        results ??= BenchCommand.DefaultResultsDirectory();
        output ??= "dashboard.html";
        int runs = Dashboard.DashboardBuilder.Build(results, output);
        Console.WriteLine($"wrote {Path.GetFullPath(output)} from {runs} run(s) in {results}");
        if (screenshot is not null)
        {
            if (!File.Exists(Dashboard.Screenshot.DefaultChromium))
            {
                Console.Error.WriteLine($"kernels: --screenshot needs {Dashboard.Screenshot.DefaultChromium} (apt-get install -y chromium).");
                return Program.Failure;
            }
            Dashboard.Screenshot.Take(output, screenshot);
            Console.WriteLine($"wrote {Path.GetFullPath(screenshot)} (headless chromium)");
        }
        return 0;
    }
}

/// <summary>Shared option parsing: <c>--name value</c> or <c>--name=value</c>.</summary>
public static class Arguments
{
    /// <summary>Splits <c>--name=value</c>.</summary>
    public static (string Name, string? Value) Split(string argument)
    {
        int eq = argument.IndexOf('=', StringComparison.Ordinal);
        return argument.StartsWith("--", StringComparison.Ordinal) && eq > 0 ? (argument[..eq], argument[(eq + 1)..]) : (argument, null);
    }

    /// <summary>The value after option <paramref name="name"/>.</summary>
    public static string Next(IReadOnlyList<string> args, ref int i, string command, string name) =>
        ++i < args.Count ? args[i] : throw new UsageException($"{command}: {name} needs a value.");
}
