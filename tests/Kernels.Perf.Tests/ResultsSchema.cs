using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Kernels.Perf.Tests;

/// <summary>
/// The results file schema of perf/README.md ("kernels-bench/1"), checked on the JSON text itself (not through the
/// C# types that wrote it): required fields, their JSON types, and the relations between them.
/// </summary>
public static class ResultsSchema
{
    /// <summary>Every violation found in <paramref name="json"/>; empty when the file is valid.</summary>
    public static IReadOnlyList<string> Validate(string json)
    {
        var errors = new List<string>();
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) return ["root is not an object"];

        Require(root, "schema", JsonValueKind.String, "", errors);
        if (root.TryGetProperty("schema", out var schema) && schema.ValueKind == JsonValueKind.String && schema.GetString() != "kernels-bench/1")
            errors.Add($"schema is '{schema.GetString()}', not 'kernels-bench/1'");
        Require(root, "runId", JsonValueKind.String, "", errors);
        if (Require(root, "date", JsonValueKind.String, "", errors) is { } date && !DateTimeOffset.TryParse(date.GetString(), out _))
            errors.Add("date is not ISO 8601");
        Optional(root, "commit", JsonValueKind.String, "", errors);
        if (Require(root, "mode", JsonValueKind.String, "", errors) is { } mode && mode.GetString() is not ("smoke" or "quick" or "full"))
            errors.Add("mode is not smoke|quick|full");

        if (Require(root, "machine", JsonValueKind.Object, "", errors) is { } machine)
        {
            foreach (string name in new[] { "name", "os", "cpu", "runtime" }) Require(machine, name, JsonValueKind.String, "machine.", errors);
            Require(machine, "cores", JsonValueKind.Number, "machine.", errors);
        }
        if (Require(root, "backends", JsonValueKind.Array, "", errors) is { } backends)
        {
            int i = 0;
            foreach (var backend in backends.EnumerateArray())
            {
                string at = $"backends[{i++}].";
                Require(backend, "name", JsonValueKind.String, at, errors);
                Require(backend, "device", JsonValueKind.String, at, errors);
                if (Require(backend, "status", JsonValueKind.String, at, errors) is { } s && s.GetString() is not ("ok" or "unavailable"))
                    errors.Add(at + "status is not ok|unavailable");
                if (backend.TryGetProperty("copyGBps", out var copy) && copy.ValueKind is not (JsonValueKind.Number or JsonValueKind.Null))
                    errors.Add(at + "copyGBps is not a number");
            }
        }
        if (Require(root, "limits", JsonValueKind.Object, "", errors) is { } limits)
        {
            foreach (string name in new[] { "readOneThreadGBps", "readAllThreadsGBps", "copyOneThreadGBps", "copyAllThreadsGBps", "threads",
                         "fmaOneThreadGflops", "fmaAllThreadsGflops", "fmaVectorBits", "bandwidthLimitGBps", "probeMebibytes" })
                if (Require(limits, name, JsonValueKind.Number, "limits.", errors) is { } v && !(v.GetDouble() > 0))
                    errors.Add($"limits.{name} is not positive");
        }
        if (Require(root, "results", JsonValueKind.Array, "", errors) is { } results)
        {
            int i = 0;
            foreach (var r in results.EnumerateArray())
            {
                string at = $"results[{i++}].";
                foreach (string name in new[] { "id", "family", "kernel", "kind", "backend", "shape", "dataType", "status" })
                    Require(r, name, JsonValueKind.String, at, errors);
                Require(r, "iterations", JsonValueKind.Number, at, errors);
                Require(r, "bytes", JsonValueKind.Number, at, errors);
                foreach (string name in new[] { "medianMs", "minMs", "maxMs", "spread", "gbps", "limitFraction", "baselineRatio", "maxError" })
                    Optional(r, name, JsonValueKind.Number, at, errors);
                Optional(r, "baseline", JsonValueKind.String, at, errors);
                Optional(r, "error", JsonValueKind.String, at, errors);
                string? status = r.TryGetProperty("status", out var st) ? st.GetString() : null;
                string? kind = r.TryGetProperty("kind", out var k) ? k.GetString() : null;
                if (kind is not ("kernel" or "baseline")) errors.Add(at + "kind is not kernel|baseline");
                if (status == "ok")
                {
                    foreach (string name in new[] { "medianMs", "minMs", "maxMs", "spread" })
                        if (!r.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Number) errors.Add($"{at}{name} missing on an ok result");
                    if (r.TryGetProperty("iterations", out var it) && it.ValueKind == JsonValueKind.Number && it.GetInt32() < 1)
                        errors.Add(at + "ok result with no iterations");
                    if (r.TryGetProperty("minMs", out var mn) && r.TryGetProperty("medianMs", out var md) && r.TryGetProperty("maxMs", out var mx)
                        && mn.ValueKind == JsonValueKind.Number && md.ValueKind == JsonValueKind.Number && mx.ValueKind == JsonValueKind.Number
                        && !(mn.GetDouble() <= md.GetDouble() && md.GetDouble() <= mx.GetDouble()))
                        errors.Add(at + "not min <= median <= max");
                }
                else if (status == "failed")
                {
                    if (!r.TryGetProperty("error", out _)) errors.Add(at + "failed result without error");
                }
                else
                    errors.Add(at + "status is not ok|failed");
            }
        }
        return errors;
    }

    private static JsonElement? Require(JsonElement parent, string name, JsonValueKind kind, string at, List<string> errors)
    {
        if (!parent.TryGetProperty(name, out var value))
        {
            errors.Add($"{at}{name} is missing");
            return null;
        }
        if (value.ValueKind != kind)
        {
            errors.Add($"{at}{name} is {value.ValueKind}, not {kind}");
            return null;
        }
        return value;
    }

    private static void Optional(JsonElement parent, string name, JsonValueKind kind, string at, List<string> errors)
    {
        if (parent.TryGetProperty(name, out var value) && value.ValueKind != kind && value.ValueKind != JsonValueKind.Null)
            errors.Add($"{at}{name} is {value.ValueKind}, not {kind}");
    }
}
