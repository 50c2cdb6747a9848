using System;
using System.IO;
using System.Linq;
using Kernels.Benchmarks.Suite;
using Kernels.Runtime;
using NUnit.Framework;

namespace Kernels.Perf.Tests;

/// <summary>
/// The CI's benchmark smoke: the whole suite at a tiny shape with two or three timed runs, every case verified against
/// its float64 reference; the file it writes must match the documented schema. Timings are never asserted.
/// </summary>
[TestFixture]
public class SuiteTests
{
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Build.props")) && Directory.Exists(Path.Combine(dir.FullName, "perf")))
                return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    [Test]
    public void SmokeRunVerifiesEveryCaseAndWritesAValidResultsFile()
    {
        string directory = Path.Combine(Path.GetTempPath(), "kernels-perf-smoke-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (run, path) = SuiteRunner.Run(new SuiteOptions
            {
                Mode = SuiteMode.Smoke,
                Backends = [Backend.Cpu, Backend.IlgpuCpu],
                ResultsDirectory = directory,
                Log = TestContext.Progress.WriteLine,
            });
            Assert.That(path, Is.Not.Null);
            var failed = run.Results.Where(r => r.Status != "ok").Select(r => $"{r.Id}: {r.Error}").ToList();
            Assert.That(failed, Is.Empty, "every case must pass its check against the reference");

            // Every softmax-family kernel ran on both backends, and both baselines ran.
            var kernels = SoftmaxFamilyBenchmark.DiscoverKernels().Select(k => k.Name).ToList();
            foreach (string backend in new[] { "cpu", "ilgpu-cpu" })
                Assert.That(run.Results.Where(r => r.Backend == backend && r.Family == "softmax").Select(r => r.Kernel), Is.SupersetOf(kernels), backend);
            Assert.That(run.Results.Where(r => r.Kind == "baseline").Select(r => r.Kernel), Is.SupersetOf(new[] { "TensorPrimitives", "PlainCSharp" }));
            Assert.That(run.Results.Where(r => r.Kind == "kernel" && r.Family == "softmax").All(r => r.BaselineRatio > 0 && r.LimitFraction > 0), Is.True,
                "every softmax kernel result has a baseline ratio and a limit fraction");

            var errors = ResultsSchema.Validate(File.ReadAllText(path!));
            Assert.That(errors, Is.Empty);
            Assert.That(new FileInfo(path!).Length, Is.LessThan(64 * 1024), "results files stay small");
            Assert.That(BenchRun.TryRead(path!)!.Results, Has.Count.EqualTo(run.Results.Count), "the file reads back");
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void CommittedResultsFilesMatchTheSchema()
    {
        string results = Path.Combine(RepositoryRoot(), "perf", "results");
        var files = Directory.Exists(results)
            ? Directory.EnumerateFiles(results, "*.json").Where(f => File.ReadAllText(f).Contains("\"kernels-bench/1\"", StringComparison.Ordinal)).ToList()
            : [];
        if (files.Count == 0) Assert.Ignore("no results files under perf/results yet");
        foreach (string file in files)
            Assert.That(ResultsSchema.Validate(File.ReadAllText(file)), Is.Empty, Path.GetFileName(file));
    }

    [Test]
    public void ValidatorRejectsMissingAndMistypedFields()
    {
        const string bad = """{"schema":"kernels-bench/1","runId":"x","date":"2026-01-01T00:00:00Z","mode":"quick","machine":{"name":"m"},"backends":[],"limits":{},"results":[{"id":"a","status":"ok","medianMs":"1"}]}""";
        var errors = ResultsSchema.Validate(bad);
        Assert.That(errors, Has.Some.Contains("machine.cores is missing"));
        Assert.That(errors, Has.Some.Contains("limits.copyAllThreadsGBps is missing"));
        Assert.That(errors, Has.Some.Contains("results[0].medianMs is String"));
    }

    [TestCase(null, "softmax/Softmax/cpu/1x32000", true)]
    [TestCase("opencl", "softmax/Softmax/cpu/1x32000", false)]
    [TestCase("softmax/*/cpu/*", "softmax/Softmax/cpu/64x128000", true)]
    [TestCase("*LogSoftmax*", "softmax/Softmax/cpu/64x128000", false)]
    public void FilterMatchesIds(string? filter, string id, bool expected) =>
        Assert.That(SuiteRunner.Matcher(filter)(id), Is.EqualTo(expected));
}
