using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kernels.Benchmarks.Suite;

/// <summary>One suite run: the file format of <c>perf/results/*.json</c> (schema <see cref="SchemaId"/>, perf/README.md).</summary>
public sealed record BenchRun
{
    /// <summary>The schema identifier every results file carries.</summary>
    public const string SchemaId = "kernels-bench/1";

    /// <summary>Always <see cref="SchemaId"/>.</summary>
    public string Schema { get; init; } = SchemaId;

    /// <summary>Unique id: UTC time stamp and short commit.</summary>
    public required string RunId { get; init; }

    /// <summary>When the run started (UTC, ISO 8601).</summary>
    public required DateTimeOffset Date { get; init; }

    /// <summary><c>git rev-parse HEAD</c>, or null outside a repository.</summary>
    public string? Commit { get; init; }

    /// <summary>Whether the work tree had uncommitted changes.</summary>
    public bool? Dirty { get; init; }

    /// <summary><c>smoke</c>, <c>quick</c> or <c>full</c>.</summary>
    public required string Mode { get; init; }

    /// <summary>The machine.</summary>
    public required MachineRecord Machine { get; init; }

    /// <summary>Every backend asked for, with its device or why it was skipped.</summary>
    public required List<BackendRecord> Backends { get; init; }

    /// <summary>Hardware limits measured at the start of the run.</summary>
    public required LimitsRecord Limits { get; init; }

    /// <summary>One entry per (family, kernel or baseline, backend, shape).</summary>
    public required List<ResultRecord> Results { get; init; }

    /// <summary>Serializer options of the format: camelCase, nulls omitted, enums as strings.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes the run: the header indented, one line per result (small and diff-friendly).</summary>
    public void Write(string path)
    {
        var header = JsonSerializer.Serialize(this with { Results = [] }, new JsonSerializerOptions(JsonOptions) { WriteIndented = true });
        var lines = Results.Select(r => "    " + JsonSerializer.Serialize(r, JsonOptions));
        const string empty = "\"results\": []";
        int at = header.LastIndexOf(empty, StringComparison.Ordinal);
        var text = new StringBuilder()
            .Append(header, 0, at)
            .Append("\"results\": [\n").Append(string.Join(",\n", lines)).Append("\n  ]")
            .Append(header, at + empty.Length, header.Length - at - empty.Length)
            .Append('\n')
            .ToString();
        File.WriteAllText(path, text);
    }

    /// <summary>Reads a results file; null when the file is not of this schema (e.g. a BenchmarkDotNet report).</summary>
    public static BenchRun? TryRead(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var document = JsonDocument.Parse(stream);
            if (!document.RootElement.TryGetProperty("schema", out var schema) || schema.GetString() != SchemaId)
                return null;
            return document.RootElement.Deserialize<BenchRun>(JsonOptions);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>The machine a run measured.</summary>
public sealed record MachineRecord(string Name, string Os, string Cpu, int Cores, string Runtime);

/// <summary>A backend of the run: <c>status</c> is <c>ok</c> or <c>unavailable</c> (then <c>note</c> says why); <c>copyGBps</c> is the measured copy bandwidth of an ILGPU backend's own memory (device to device on a GPU), the limit its kernels are compared with.</summary>
public sealed record BackendRecord(string Name, string Device, string Status, string? Note, [property: JsonPropertyName("copyGBps")] double? CopyGBps = null);

/// <summary>Measured limits, GB/s (10^9 B/s; copy counts read + written bytes) and GFLOP/s.</summary>
public sealed record LimitsRecord(
    double ReadOneThreadGBps, double ReadAllThreadsGBps, double CopyOneThreadGBps, double CopyAllThreadsGBps, int Threads,
    double FmaOneThreadGflops, double FmaAllThreadsGflops, int FmaVectorBits, double BandwidthLimitGBps, int ProbeMebibytes);

/// <summary>One timed (or failed) case.</summary>
/// <param name="Id">Stable benchmark id across runs: <c>family/kernel/backend/shape</c>; history and regressions key on it.</param>
/// <param name="Family">Kernel family (dashboard section).</param>
/// <param name="Kernel">Kernel or baseline name.</param>
/// <param name="Kind"><c>kernel</c> or <c>baseline</c>.</param>
/// <param name="Backend"><c>cpu</c>, <c>ilgpu-cpu</c>, <c>opencl</c>, <c>cuda</c>; baselines: <c>host</c>.</param>
/// <param name="Shape">ROWSxCOLS (or the benchmark's own parameter label).</param>
/// <param name="DataType"><c>fp32</c>, <c>fp16</c>.</param>
/// <param name="Status"><c>ok</c> or <c>failed</c> (then <paramref name="Error"/>; no timings).</param>
/// <param name="Iterations">Timed runs.</param>
/// <param name="MedianMs">Median wall time of one synchronised run, ms.</param>
/// <param name="MinMs">Fastest run, ms.</param>
/// <param name="MaxMs">Slowest run, ms.</param>
/// <param name="Spread">(p75 − p25) / median of the timed runs (interquartile spread).</param>
/// <param name="Bytes">Bytes moved per run (inputs read once + outputs written once); 0 when unknown.</param>
/// <param name="GBps">Bytes / median, 10^9 B/s; null when bytes are unknown.</param>
/// <param name="LimitFraction">GBps / the run's bandwidth limit (limits.bandwidthLimitGBps).</param>
/// <param name="Baseline">The baseline the ratio is against (same family and shape).</param>
/// <param name="BaselineRatio">Median / the baseline's median: below 1 is faster than the baseline.</param>
/// <param name="MaxError">Verification error against the float64 reference.</param>
/// <param name="Error">Why the case failed.</param>
public sealed record ResultRecord(
    string Id, string Family, string Kernel, string Kind, string Backend, string Shape, string DataType, string Status,
    int Iterations, double? MedianMs, double? MinMs, double? MaxMs, double? Spread, long Bytes, [property: JsonPropertyName("gbps")] double? GBps,
    double? LimitFraction, string? Baseline, double? BaselineRatio, double? MaxError, string? Error);
