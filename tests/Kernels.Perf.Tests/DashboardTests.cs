using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Kernels.Benchmarks.Suite;
using Kernels.Cli.Dashboard;
using NUnit.Framework;

namespace Kernels.Perf.Tests;

/// <summary>The dashboard page from synthetic runs (fast, no timing): plots per family, history, regressions, catalogue.</summary>
[TestFixture]
public class DashboardTests
{
    private static BenchRun SyntheticRun(DateTimeOffset date, string commit, double slowdown)
    {
        var results = new List<ResultRecord>();
        foreach (string backend in new[] { "cpu", "ilgpu-cpu", "opencl" })
        foreach (string kernel in new[] { "Softmax", "LogSoftmax" })
        foreach (string shape in new[] { "1x32000", "64x128000" })
        {
            double median = (backend == "cpu" ? 2.0 : 40.0) * (kernel == "Softmax" ? slowdown : 1.0);
            long bytes = 32_000_000;
            results.Add(new ResultRecord($"softmax/{kernel}/{backend}/{shape}", "softmax", kernel, "kernel", backend, shape, "fp32", "ok", 5,
                median, median * 0.9, median * 1.2, 0.05, bytes, bytes / (median * 1e6), bytes / (median * 1e6) / 20, "TensorPrimitives", median / 3, 1e-6, null));
        }
        foreach (string shape in new[] { "1x32000", "64x128000" })
            results.Add(new ResultRecord($"softmax/TensorPrimitives/host/{shape}", "softmax", "TensorPrimitives", "baseline", "host", shape, "fp32", "ok", 5,
                3, 2.9, 3.2, 0.02, 32_000_000, 10.7, 0.53, "TensorPrimitives", 1, 1e-6, null));
        results.Add(new ResultRecord("sampling/TopP/cpu/64x128000", "sampling", "TopP", "kernel", "cpu", "64x128000", "fp32", "ok", 5,
            5 * slowdown, 4.8 * slowdown, 6 * slowdown, 0.1, 0, null, null, null, null, null, null));
        return new BenchRun
        {
            RunId = date.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            Date = date,
            Commit = commit,
            Dirty = false,
            Mode = "quick",
            Machine = new MachineRecord("test", "Linux", "CPU", 2, ".NET"),
            Backends = [new BackendRecord("cpu", "X64 CPU", "ok", null), new BackendRecord("cuda", "", "unavailable", "absent")],
            Limits = new LimitsRecord(10, 18, 20, 20, 2, 100, 200, 512, 20, 256),
            Results = results,
        };
    }

    private static IReadOnlyList<BenchRun> TwoRuns() =>
    [
        SyntheticRun(new DateTimeOffset(2026, 11, 1, 10, 0, 0, TimeSpan.Zero), "aaaaaaaaaaaaaaaaaaaa", 1.0),
        SyntheticRun(new DateTimeOffset(2026, 11, 2, 10, 0, 0, TimeSpan.Zero), "bbbbbbbbbbbbbbbbbbbb", 1.5),
    ];

    [Test]
    public void PageHasPlotsPerFamilyHistoryRegressionsAndCatalogue()
    {
        string html = DashboardBuilder.Render(TwoRuns(), KernelCatalogue.Build());
        Assert.That(html, Does.Contain("id=\"family-softmax\""));
        Assert.That(html, Does.Contain("id=\"family-sampling\""), "a family without a KernelFamilyBenchmark still gets a section");
        foreach (string backend in new[] { "cpu", "ilgpu-cpu", "opencl" })
        {
            Assert.That(html, Does.Contain($"softmax on {backend}: % of measured bandwidth"));
            Assert.That(html, Does.Contain($"softmax on {backend}: time / TensorPrimitives"));
            Assert.That(html, Does.Contain($"softmax on {backend}: history"));
        }
        Assert.That(Regex.Matches(html, "<svg ").Count, Is.GreaterThanOrEqualTo(10));
        Assert.That(html, Does.Contain("REGRESSION"), "Softmax got 50% slower between the runs");
        Assert.That(Regex.IsMatch(html, "<(script|link|img)[^>]*(src|href)="), Is.False, "self-contained: no external scripts, styles or images");
        Assert.That(Regex.IsMatch(html, "url\\(\\s*['\"]?https?:"), Is.False, "no network resources in styles");
        foreach (var (name, _, _) in SoftmaxFamilyBenchmark.DiscoverKernels())
            Assert.That(html, Does.Contain($"Kernels.{name}</code>").Or.Contain($".{name}</code>"), name);
    }

    [Test]
    public void RegressionsCompareWithThePreviousRunOfTheSameBenchmark()
    {
        var runs = TwoRuns();
        var changes = DashboardBuilder.Changes(runs, 1);
        Assert.That(changes.Where(c => c.Regressed).Select(c => c.Current.Kernel).Distinct(), Is.EquivalentTo(new[] { "Softmax", "TopP" }));
        Assert.That(DashboardBuilder.Changes(runs, 0).Any(c => c.Regressed), Is.False, "the first run has nothing to compare with");
    }

    [Test]
    public void CatalogueListsEveryKernelEntryPoint()
    {
        var catalogue = KernelCatalogue.Build();
        var entryTypes = typeof(KernelEntryPointAttribute).Assembly.GetTypes()
            .Where(t => t.GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)
                .Any(m => m.GetCustomAttributes(typeof(KernelEntryPointAttribute), false).Length > 0))
            .Select(t => t.FullName).ToList();
        Assert.That(entryTypes, Is.Not.Empty);
        Assert.That(catalogue.Select(c => c.Kernel), Is.SupersetOf(entryTypes));
        var softmax = catalogue.Single(c => c.Kernel == "Kernels.MaskedSoftmax");
        Assert.That(softmax.Family, Is.EqualTo("softmax"));
        Assert.That(softmax.Options, Does.Contain("Mask=true").And.Contain("Temperature=PerRow"));
        Assert.That(softmax.Backends, Is.EquivalentTo(new[] { "cpu", "ilgpu-cpu", "opencl", "cuda" }));
    }

    [Test]
    public void PageRendersInHeadlessChromium()
    {
        if (!File.Exists(Screenshot.DefaultChromium))
            Assert.Ignore($"{Screenshot.DefaultChromium} is not installed (apt-get install -y chromium)");
        string directory = Path.Combine(Path.GetTempPath(), "kernels-dashboard-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            string html = Path.Combine(directory, "dashboard.html");
            string png = Path.Combine(directory, "dashboard.png");
            File.WriteAllText(html, DashboardBuilder.Render(TwoRuns(), KernelCatalogue.Build()));
            Screenshot.Take(html, png, timeout: TimeSpan.FromSeconds(45));
            var bytes = File.ReadAllBytes(png);
            Assert.That(bytes.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "a PNG");
            int width = (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19];
            Assert.That(width, Is.EqualTo(Screenshot.Width));
            Assert.That(bytes.Length, Is.GreaterThan(50_000), "a page with plots, not a blank screen");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
