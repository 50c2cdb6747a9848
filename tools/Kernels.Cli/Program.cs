using System;
using System.Collections.Generic;
using System.Globalization;
using Kernels.Runtime;

namespace Kernels.Cli;

/// <summary>The <c>kernels</c> command: <c>devices</c>, <c>demo</c>, <c>bench</c>, <c>dashboard</c>, <c>--help</c>.</summary>
public static class Program
{
    /// <summary>Exit code for a failed check or an unavailable backend.</summary>
    public const int Failure = 1;

    /// <summary>Exit code for bad command-line usage.</summary>
    public const int Usage = 2;

    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help" or "-?")
        {
            Console.WriteLine(HelpText);
            return args.Length == 0 ? Usage : 0;
        }

        try
        {
            return args[0] switch
            {
                "devices" => DevicesCommand.Run(Rest(args)),
                "demo" => DemoCommand.Run(DemoOptions.Parse(Rest(args))),
                "bench" => BenchCommand.Run(BenchOptions.Parse(Rest(args))),
                "dashboard" => DashboardCommand.Run(Rest(args)),
                _ => throw new UsageException($"unknown command '{args[0]}'."),
            };
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"kernels: {e.Message}");
            Console.Error.WriteLine("Run 'kernels --help' for usage.");
            return Usage;
        }
        catch (BackendUnavailableException e)
        {
            Console.Error.WriteLine($"kernels: {e.Message}");
            return Failure;
        }
    }

    private static string[] Rest(string[] args) => args[1..];

    /// <summary>The help text.</summary>
    public static string HelpText => $"""
        kernels: inspect and exercise the Kernels backends.

        Usage:
          kernels devices
              List the backends and devices present, and which one KernelRuntime.Create() picks and why.
          kernels demo [--rows N] [--cols N] [--runs N]
              Run Softmax, LogSoftmax, LogSumExp, StableMax and MaskedSoftmax on the picked backend, check each
              against a float64 reference (error, exact zeros/-inf, writes past the output) and print the median
              time and GB/s; then softmax of logits near +-1000. Shapes: 64 x 128000 and 4096 x 1024, or
              8 x 4099 and 33 x 1000 on ilgpu-cpu and opencl (emulators on most machines); --rows/--cols pick
              one shape. Exits 1 if any check fails.
          kernels bench [--filter F] [--backend B[,B...]] [--quick] [--results DIR]
              Run the performance suite: every kernel family on every backend (cpu, ilgpu-cpu, opencl, cuda; absent
              ones are recorded as unavailable) at LLM shapes, each verified against a float64 reference before it is
              timed, against in-run baselines, with the memory-bandwidth and FMA limits measured first. Writes one
              JSON file to perf/results/ (schema: perf/README.md). --filter matches family/kernel/backend/shape
              (substring, or a glob with *). --quick: few shapes and iterations (about a minute on 2 cores).
              Exits 1 if any case fails its check.
          kernels dashboard [--results DIR] [--out FILE] [--screenshot PNG]
              Build one self-contained HTML page (default dashboard.html) from the results in DIR (default
              perf/results): per family, % of measured bandwidth and ratio to baseline per backend and shape,
              history across runs with regressions (> 10% slower) flagged, and the kernel catalogue. --screenshot
              also renders it to PNG with headless chromium (/usr/bin/chromium), to check that it renders.
          kernels --help
              This text.

        Environment:
          {BackendNames.EnvironmentVariable}=cpu|ilgpu-cpu|opencl|cuda
              Use this backend instead of the automatic choice (CUDA, then an OpenCL GPU, then cpu);
              exit 1 if it is not present.
          {BackendNames.OpenClCompatibilityVariable}=1
              Allow OpenCL devices without generic address space (PoCL 3.x).

        From the repository: dotnet run [-c Release] --project tools/Kernels.Cli -- <command>
        (use -c Release for meaningful cpu timings).
        """;
}

/// <summary>Bad command-line usage; reported with exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Options of <c>kernels demo</c>.</summary>
public sealed record DemoOptions(int? Rows, int? Cols, int? Runs)
{
    /// <summary>Parses <c>--rows N --cols N --runs N</c> (also <c>--rows=N</c>).</summary>
    public static DemoOptions Parse(IReadOnlyList<string> args)
    {
        int? rows = null, cols = null, runs = null;
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            string? value = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (name.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            switch (name)
            {
                case "--rows": rows = Positive(name, value ?? Next(args, ref i, name)); break;
                case "--cols": cols = Positive(name, value ?? Next(args, ref i, name)); break;
                case "--runs": runs = Positive(name, value ?? Next(args, ref i, name)); break;
                default: throw new UsageException($"demo: unknown option '{args[i]}'.");
            }
        }
        return new DemoOptions(rows, cols, runs);
    }

    private static string Next(IReadOnlyList<string> args, ref int i, string name) =>
        ++i < args.Count ? args[i] : throw new UsageException($"demo: {name} needs a value.");

    private static int Positive(string name, string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value > 0
            ? value
            : throw new UsageException($"demo: {name} must be a positive integer, not '{text}'.");
}
