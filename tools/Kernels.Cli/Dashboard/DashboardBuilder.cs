using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using Kernels.Benchmarks.Suite;

namespace Kernels.Cli.Dashboard;

/// <summary>
/// <c>kernels dashboard</c>: turns every results file (<see cref="BenchRun"/>) in a folder into one self-contained HTML
/// page: per family, throughput against the measured roofline and the ratio to the baseline for each backend (latest
/// run), history across runs with regressions flagged, the latest numbers as a table; then the kernel catalogue.
/// </summary>
public static class DashboardBuilder
{
    /// <summary>A benchmark that got more than this much slower than in the previous run of the same id is flagged.</summary>
    public const double RegressionThreshold = 0.10;

    /// <summary>Reads the runs in <paramref name="resultsDirectory"/>, oldest first (files of other formats are skipped).</summary>
    public static IReadOnlyList<BenchRun> LoadRuns(string resultsDirectory) =>
        Directory.Exists(resultsDirectory)
            ? Directory.EnumerateFiles(resultsDirectory, "*.json").Select(BenchRun.TryRead).OfType<BenchRun>()
                .OrderBy(r => r.Date).ThenBy(r => r.RunId, StringComparer.Ordinal).ToList()
            : [];

    /// <summary>Writes the page; returns the number of runs it shows.</summary>
    public static int Build(string resultsDirectory, string outputPath)
    {
        var runs = LoadRuns(resultsDirectory);
        string html = Render(runs, KernelCatalogue.Build());
        string? directory = Path.GetDirectoryName(Path.GetFullPath(outputPath));
        if (directory is not null) Directory.CreateDirectory(directory);
        File.WriteAllText(outputPath, html);
        return runs.Count;
    }

    /// <summary>A result's change against the previous run that has the same benchmark id.</summary>
    public sealed record Change(ResultRecord Current, ResultRecord? Previous, double? Slowdown, bool Regressed);

    /// <summary>Compares each ok result of <paramref name="runIndex"/> with the latest earlier run holding the same id.</summary>
    public static IReadOnlyList<Change> Changes(IReadOnlyList<BenchRun> runs, int runIndex) =>
        runs[runIndex].Results.Select(r =>
        {
            ResultRecord? previous = null;
            for (int i = runIndex - 1; i >= 0 && previous is null; i--)
                previous = runs[i].Results.FirstOrDefault(p => p.Id == r.Id && p.MedianMs is not null);
            // The fastest run is the least disturbed by other work on a shared machine; a slowdown counts only when it
            // exceeds both the threshold and this run's own interquartile spread.
            double? slowdown = Fastest(r) is { } m && previous is not null && Fastest(previous) is { } pm && pm > 0 ? m / pm - 1 : null;
            return new Change(r, previous, slowdown, slowdown > Math.Max(RegressionThreshold, r.Spread ?? 0));
        }).ToList();

    private static double? Fastest(ResultRecord r) => r.MinMs ?? r.MedianMs;

    private static string E(string? text) => WebUtility.HtmlEncode(text ?? "");

    private static string F(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "–";

    private static string RunLabel(BenchRun run) =>
        run.Date.UtcDateTime.ToString("MM-dd HH:mm", CultureInfo.InvariantCulture) + (run.Commit is { Length: >= 7 } c ? " " + c[..7] : "");

    /// <summary>Renders the page.</summary>
    public static string Render(IReadOnlyList<BenchRun> runs, IReadOnlyList<CatalogueEntry> catalogue)
    {
        var html = new StringBuilder();
        html.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Kernels performance dashboard</title>
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:20px 28px;color:#222;max-width:1320px}
            h1{margin:0 0 4px}h2{border-bottom:2px solid #444;padding-bottom:3px;margin-top:34px}h3{margin:18px 0 6px}
            table{border-collapse:collapse;font-size:12.5px;margin:6px 0 12px}td,th{border:1px solid #ccc;padding:2px 7px;text-align:right}
            th{background:#f0f0f0}td.l,th.l{text-align:left}.bad{background:#ffd6d6;font-weight:600}.ok{color:#2a7a2a}.fail{color:#b00;font-weight:600}
            .grid{display:grid;grid-template-columns:repeat(2,640px);gap:10px 24px}.grid svg{border:1px solid #ddd}
            .note{color:#555;font-size:13px;max-width:1260px}code{background:#f4f4f4;padding:0 3px}
            </style></head><body>
            <h1>Kernels performance dashboard</h1>
            """);
        if (runs.Count == 0)
        {
            html.Append("<p>No results yet: run <code>kernels bench --quick</code> first.</p>");
            AppendCatalogue(html, catalogue, null);
            return html.Append("</body></html>\n").ToString();
        }

        var latest = runs[^1];
        var latestChanges = Changes(runs, runs.Count - 1);
        var l = latest.Limits;
        html.Append(CultureInfo.InvariantCulture, $"""
            <p class="note">Latest run <b>{E(latest.RunId)}</b> ({E(latest.Mode)}) on <b>{E(latest.Machine.Cpu)}</b>, {latest.Machine.Cores} cores,
            {E(latest.Machine.Os)}, {E(latest.Machine.Runtime)}; commit <code>{E(latest.Commit ?? "unknown")}</code>{(latest.Dirty == true ? " (uncommitted changes)" : "")};
            {latest.Date.UtcDateTime:yyyy-MM-dd HH:mm} UTC. {runs.Count} run(s) in the history. Backends:
            {string.Join(", ", latest.Backends.Select(b => b.Status == "ok" ? $"<b>{E(b.Name)}</b> ({E(b.Device)})" : $"{E(b.Name)}: {E(b.Status)}"))}.</p>
            <table><tr><th class="l">measured limit</th><th>1 thread</th><th>{l.Threads} threads</th></tr>
            <tr><td class="l">streaming read, GB/s</td><td>{l.ReadOneThreadGBps:F1}</td><td>{l.ReadAllThreadsGBps:F1}</td></tr>
            <tr><td class="l">streaming copy (read+write), GB/s</td><td>{l.CopyOneThreadGBps:F1}</td><td><b>{l.CopyAllThreadsGBps:F1}</b> = roofline (100%)</td></tr>
            <tr><td class="l">FMA ({l.FmaVectorBits}-bit), GFLOP/s</td><td>{l.FmaOneThreadGflops:F1}</td><td>{l.FmaAllThreadsGflops:F1}</td></tr></table>
            <p class="note">GB/s = bytes a kernel must move (inputs read once + outputs written once) / median time of one synchronised run.
            % of limit = GB/s / the all-thread copy bandwidth measured in the same run. Ratio = median / the baseline's median at the
            same shape (below 1 = faster than the baseline; baselines run on the host). Emulating backends (ilgpu-cpu, PoCL OpenCL)
            run small shapes only. Regressions: fastest run more than {RegressionThreshold:P0} (and more than its interquartile spread) slower than in the previous run of the same
            benchmark (timings on a shared 2-core VM are noisy: check the spread).</p>
            """);

        var regressions = latestChanges.Where(c => c.Regressed).ToList();
        html.Append(CultureInfo.InvariantCulture, $"<p><b>{regressions.Count}</b> regression(s) flagged in the latest run; " +
            $"<b>{latest.Results.Count(r => r.Status != "ok")}</b> failed case(s).</p>");

        var families = latest.Results.Select(r => r.Family).Distinct().OrderBy(f => f, StringComparer.Ordinal).ToList();
        var unbenchmarked = catalogue.Select(c => c.Family).Distinct().Where(f => !families.Contains(f)).ToList();
        html.Append("<p class=\"note\">Families: ")
            .AppendJoin(", ", families.Select(f => $"<a href=\"#family-{E(f)}\">{E(f)}</a>"))
            .Append(unbenchmarked.Count == 0 ? "" : $". Catalogue families with no results of that name: {E(string.Join(", ", unbenchmarked))} (their kernels may be benchmarked under another family name; see the catalogue)")
            .Append(".</p>\n");
        foreach (string family in families)
            AppendFamily(html, family, runs, latestChanges);

        AppendRuns(html, runs);
        AppendCatalogue(html, catalogue, latest);
        return html.Append("</body></html>\n").ToString();
    }

    private static void AppendFamily(StringBuilder html, string family, IReadOnlyList<BenchRun> runs, IReadOnlyList<Change> latestChanges)
    {
        var latest = runs[^1];
        var results = latest.Results.Where(r => r.Family == family).ToList();
        html.Append(CultureInfo.InvariantCulture, $"<h2 id=\"family-{E(family)}\">{E(family)}</h2>\n");
        if (results.Count == 0)
        {
            html.Append("<p class=\"note\">No benchmark results for this family in the latest run.</p>");
            return;
        }
        var baselines = results.Where(r => r.Kind == "baseline" && r.Status == "ok").ToList();
        var backends = results.Where(r => r.Kind == "kernel").Select(r => r.Backend).Distinct().ToList();
        string baselineName = results.Select(r => r.Baseline).FirstOrDefault(b => b is not null) ?? "baseline";

        html.Append("<div class=\"grid\">\n");
        foreach (string backend in backends)
        {
            var kernels = results.Where(r => r.Backend == backend && r.Kind == "kernel" && r.Status == "ok").ToList();
            var shapes = kernels.Select(r => r.Shape).Distinct().ToHashSet();
            var withBaselines = kernels.Concat(baselines.Where(b => shapes.Contains(b.Shape))).ToList();
            if (kernels.Count == 0) continue;
            bool hasBytes = withBaselines.Any(r => r.LimitFraction is not null);
            if (hasBytes)
            {
                // Host baselines next to an emulator's bars would flatten them to nothing: leave them to the cpu plot then.
                double kernelMax = kernels.Max(r => r.LimitFraction ?? 0);
                double baselineMax = withBaselines.Where(r => r.Kind == "baseline").Select(r => r.LimitFraction ?? 0).DefaultIfEmpty(0).Max();
                var shown = kernelMax * 4 < baselineMax ? kernels : withBaselines;
                html.Append(DashboardPlots.GroupedBars(
                    $"{family} on {backend}: % of measured bandwidth", "% of copy bandwidth",
                    shown.Select(r => new DashboardPlots.GroupedBar(r.Kernel, r.Shape, 100 * (r.LimitFraction ?? double.NaN), r.Kind == "baseline")).ToList(),
                    100, $"roofline {latest.Limits.BandwidthLimitGBps:F1} GB/s")).Append('\n');
            }
            html.Append(DashboardPlots.RatioBars($"{family} on {backend}: time / {baselineName}", "time ratio, log scale (lower is faster)",
                withBaselines.Where(r => r.BaselineRatio is not null)
                    .Select(r => new DashboardPlots.GroupedBar(r.Kernel, r.Shape, r.BaselineRatio!.Value, r.Kind == "baseline")).ToList(),
                $"1 = {baselineName}")).Append('\n');
        }
        html.Append("</div>\n");

        // History: per backend, one line per kernel at its most frequent (then largest) shape.
        if (runs.Count >= 1)
        {
            html.Append(CultureInfo.InvariantCulture, $"<h3>History ({runs.Count} runs)</h3><div class=\"grid\">\n");
            var labels = runs.Select(RunLabel).ToList();
            var changes = Enumerable.Range(0, runs.Count).Select(i => Changes(runs, i).ToDictionary(c => c.Current.Id)).ToList();
            foreach (string backend in backends.Append("host"))
            {
                var ids = runs.SelectMany(r => r.Results).Where(r => r.Family == family && r.Backend == backend && r.MedianMs is not null)
                    .GroupBy(r => r.Kernel)
                    .Select(g => g.GroupBy(r => r.Id).OrderByDescending(x => x.Count()).ThenByDescending(x => x.First().Bytes).First().First())
                    .OrderBy(r => r.Kernel, StringComparer.Ordinal).ToList();
                if (ids.Count == 0) continue;
                bool bytes = ids.All(r => r.Bytes > 0);
                var lines = ids.Select(r =>
                {
                    var values = new double?[runs.Count];
                    var regressed = new bool[runs.Count];
                    for (int i = 0; i < runs.Count; i++)
                    {
                        if (!changes[i].TryGetValue(r.Id, out var c) || c.Current.MedianMs is null) continue;
                        values[i] = bytes ? c.Current.GBps : c.Current.MedianMs;
                        regressed[i] = c.Regressed;
                    }
                    return ($"{r.Kernel} {r.Shape}", values, regressed);
                }).ToList();
                html.Append(DashboardPlots.History($"{family} on {backend}: history", bytes ? "GB/s (higher is better)" : "median ms", labels, lines)).Append('\n');
            }
            html.Append("</div>\n");
        }

        html.Append("<h3>Latest results</h3><table><tr><th class=\"l\">kernel</th><th class=\"l\">backend</th><th class=\"l\">shape</th>" +
            "<th>median ms</th><th>IQR/median</th><th>GB/s</th><th>% of limit</th><th>ratio to baseline</th><th>vs previous</th><th>max error</th><th class=\"l\">status</th></tr>\n");
        foreach (var r in results.OrderBy(r => r.Kind == "baseline").ThenBy(r => r.Backend, StringComparer.Ordinal).ThenBy(r => r.Kernel, StringComparer.Ordinal))
        {
            var change = latestChanges.FirstOrDefault(c => c.Current == r);
            string delta = change?.Slowdown is { } s ? (s >= 0 ? "+" : "") + (100 * s).ToString("F0", CultureInfo.InvariantCulture) + "% time" : "–";
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><td class=\"l\">{E(r.Kernel)}{(r.Kind == "baseline" ? " (baseline)" : "")}</td><td class=\"l\">{E(r.Backend)}</td><td class=\"l\">{E(r.Shape)}</td>" +
                $"<td>{F(r.MedianMs, "F3")}</td><td>{F(r.Spread * 100, "F0")}%</td><td>{F(r.GBps, r.GBps < 1 ? "F3" : "F1")}</td><td>{F(r.LimitFraction * 100, "F1")}</td>" +
                $"<td>{F(r.BaselineRatio, "F2")}</td><td{(change?.Regressed == true ? " class=\"bad\"" : "")}>{delta}{(change?.Regressed == true ? " REGRESSION" : "")}</td>" +
                $"<td>{(r.MaxError is { } me ? me.ToString("E1", CultureInfo.InvariantCulture) : "–")}</td>" +
                $"<td class=\"l {(r.Status == "ok" ? "ok" : "fail")}\">{E(r.Status)}{(r.Error is null ? "" : ": " + E(r.Error))}</td></tr>\n");
        }
        html.Append("</table>\n");
    }

    private static void AppendRuns(StringBuilder html, IReadOnlyList<BenchRun> runs)
    {
        html.Append("<h2>Runs</h2><table><tr><th class=\"l\">run</th><th class=\"l\">date (UTC)</th><th class=\"l\">commit</th><th class=\"l\">mode</th>" +
            "<th>results</th><th>failed</th><th>regressions</th><th>copy GB/s</th><th>FMA GFLOP/s</th></tr>\n");
        for (int i = runs.Count - 1; i >= 0; i--)
        {
            var r = runs[i];
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><td class=\"l\">{E(r.RunId)}</td><td class=\"l\">{r.Date.UtcDateTime:yyyy-MM-dd HH:mm}</td><td class=\"l\"><code>{E(r.Commit?[..Math.Min(12, r.Commit.Length)] ?? "–")}</code>{(r.Dirty == true ? " +dirty" : "")}</td>" +
                $"<td class=\"l\">{E(r.Mode)}</td><td>{r.Results.Count}</td><td>{r.Results.Count(x => x.Status != "ok")}</td><td>{Changes(runs, i).Count(c => c.Regressed)}</td>" +
                $"<td>{r.Limits.CopyAllThreadsGBps:F1}</td><td>{r.Limits.FmaAllThreadsGflops:F0}</td></tr>\n");
        }
        html.Append("</table>\n");
    }

    private static void AppendCatalogue(StringBuilder html, IReadOnlyList<CatalogueEntry> catalogue, BenchRun? latest)
    {
        html.Append("<h2 id=\"catalogue\">Kernel catalogue</h2><p class=\"note\">Every kernel the generator produced (found by reflection: " +
            "<code>[KernelEntryPoint]</code> methods and kernel descriptors), its generator options and the backends it can run on; " +
            "\"benchmarked\" lists the backends with a passing result in the latest run.</p>\n" +
            "<table><tr><th class=\"l\">family</th><th class=\"l\">kernel</th><th class=\"l\">assembly</th><th class=\"l\">options</th>" +
            "<th class=\"l\">entry points</th><th class=\"l\">backends</th><th class=\"l\">benchmarked</th></tr>\n");
        foreach (var k in catalogue)
        {
            string name = k.Kernel.Split('.')[^1];
            var ran = latest?.Results.Where(r => r.Kernel == name && r.Status == "ok").Select(r => r.Backend).Distinct() ?? [];
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><td class=\"l\">{E(k.Family)}</td><td class=\"l\"><code>{E(k.Kernel)}</code></td><td class=\"l\">{E(k.Assembly)}</td><td class=\"l\">{E(k.Options)}</td>" +
                $"<td class=\"l\">{E(string.Join(", ", k.EntryPoints))}</td><td class=\"l\">{E(string.Join(", ", k.Backends))}</td><td class=\"l\">{E(string.Join(", ", ran))}</td></tr>\n");
        }
        html.Append("</table>\n");
    }
}
