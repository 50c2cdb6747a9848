using System;
using System.Collections.Generic;
using System.Linq;
using Kernels.Runtime;

namespace Kernels.Cli;

/// <summary><c>kernels devices</c>: what is present, and what automatic (or <c>KERNELS_BACKEND</c>) selection picks.</summary>
public static class DevicesCommand
{
    /// <summary>Runs the command.</summary>
    public static int Run(string[] args)
    {
        if (args.Length > 0)
            throw new UsageException($"devices takes no arguments (got '{args[0]}').");

        var found = KernelRuntime.Discover();
        var rows = found.Select(f => new[]
        {
            f.Backend.ToName(),
            f.DeviceName,
            f.AutoSelectable ? "yes" : "no",
            f.Note,
        }).ToList();
        Table.Write(new[] { "BACKEND", "DEVICE", "AUTO", "NOTE" }, rows);
        Console.WriteLine();

        string? env = Environment.GetEnvironmentVariable(BackendNames.EnvironmentVariable);
        Console.WriteLine(string.IsNullOrWhiteSpace(env)
            ? $"{BackendNames.EnvironmentVariable} is not set."
            : $"{BackendNames.EnvironmentVariable}={env}");
        using var runtime = KernelRuntime.Create(); // BackendUnavailableException → message and exit 1 in Program
        Console.WriteLine($"KernelRuntime.Create() picks: {runtime.Backend.ToName()} ({runtime.DeviceName})");
        Console.WriteLine($"  reason: {runtime.SelectionReason}");
        if (runtime.IsIlgpu)
            Console.WriteLine($"  group size: {runtime.GroupSize}");
        return 0;
    }
}

/// <summary>Left-aligned plain-text tables.</summary>
public static class Table
{
    /// <summary>Writes <paramref name="header"/> and <paramref name="rows"/> with columns padded to their widest cell.</summary>
    public static void Write(IReadOnlyList<string> header, IReadOnlyList<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        Console.WriteLine(Line(header, widths));
        foreach (var row in rows)
            Console.WriteLine(Line(row, widths));
    }

    private static string Line(IReadOnlyList<string> cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c.PadRight(widths[i]))).TrimEnd();
}
