using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using Kernels.Runtime;
using NUnit.Framework;

namespace Consumer;

public sealed class ConsumerTests
{
    private static readonly string Repository = FindRepository();

    [TestCase(Backend.Cpu)]
    [TestCase(Backend.IlgpuCpu)]
    public void FusedSoftCapMatchesReference(Backend backend)
    {
        using var runtime = KernelRuntime.Create(new KernelRuntimeOptions { Backend = backend });
        const int rows = 5, cols = 1031;
        var x = Logits(rows * cols, 1);
        var y = new float[rows * cols];
        CappedSoftmax.Run(runtime, x, y, rows, cols, 0.8f);
        for (int r = 0; r < rows; r++)
        {
            var z = Enumerable.Range(0, cols).Select(c => 20 * Math.Tanh(x[r * cols + c] / 20.0) / 0.8).ToArray();
            double max = z.Max(), sum = z.Sum(v => Math.Exp(v - max));
            for (int c = 0; c < cols; c++)
                Assert.That(y[r * cols + c], Is.EqualTo(Math.Exp(z[c] - max) / sum).Within(1e-3).Percent, $"{backend} row {r} col {c}");
        }
    }

    [TestCase(Backend.Cpu)]
    [TestCase(Backend.IlgpuCpu)]
    public void DecodeLogSoftmaxMatchesReference(Backend backend)
    {
        using var runtime = KernelRuntime.Create(new KernelRuntimeOptions { Backend = backend });
        const int rows = 3, cols = 77;
        var x = Logits(rows * cols, 2);
        float[] temperatures = { 0.5f, 1f, 1.7f };
        var mask = new float[rows * cols];
        mask[5] = float.NegativeInfinity;
        using var input = runtime.Upload<float>(x);
        using var t = runtime.Upload<float>(temperatures);
        using var m = runtime.Upload<float>(mask);
        using var output = runtime.Allocate<float>(rows * cols);
        DecodeLogSoftmax.Launch(runtime, input, output, rows, cols, t, m);
        var y = output.ToArray();
        Assert.That(y[5], Is.EqualTo(float.NegativeInfinity));
        for (int r = 0; r < rows; r++)
        {
            var z = Enumerable.Range(0, cols).Select(c => (x[r * cols + c] - (c < DecodeLogSoftmax.BannedBelow ? 4.0 : 0.0)) / temperatures[r] + mask[r * cols + c]).ToArray();
            double max = z.Max(), lse = max + Math.Log(z.Sum(v => Math.Exp(v - max)));
            for (int c = 0; c < cols; c++)
                if (!double.IsNegativeInfinity(z[c]))
                    Assert.That(y[r * cols + c], Is.EqualTo(z[c] - lse).Within(1e-4), $"{backend} row {r} col {c}");
        }
    }

    [Test]
    public void DecodeSamplerGivesTheSameTokensOnBothBackendsAndHonoursEachRequest()
    {
        const int rows = 4, cols = 2053;
        var x = Logits(rows * cols, 3);
        x[1 * cols + 7] = 200f;                                   // request 1 is (almost) certain of token 7
        float[] temperatures = { 0.7f, 1f, 1.2f, 0.9f };
        var keys = Enumerable.Range(0, rows).Select(r => new Kernels.RngKey((ulong)(1000 + r))).ToArray();
        int[]? reference = null;
        foreach (var backend in new[] { Backend.Cpu, Backend.IlgpuCpu })
        {
            using var runtime = KernelRuntime.Create(new KernelRuntimeOptions { Backend = backend });
            using var logits = runtime.Upload<float>(x);
            using var t = runtime.Upload<float>(temperatures);
            using var k = runtime.Upload<Kernels.RngKey>(keys);
            using var tokens = runtime.Allocate<int>(rows);
            using var logProbs = runtime.Allocate<float>(rows);
            ulong next = DecodeSampler.Launch(runtime, logits, tokens, rows, cols, t, k, 0, logProbs);
            Assert.That(next, Is.GreaterThan(0UL), "the offset advances");
            var drawn = tokens.ToArray();
            Assert.That(drawn, Is.All.InRange(0, cols - 1), backend.ToString());
            Assert.That(drawn[1], Is.EqualTo(7), "request 1's near-certain token");
            Assert.That(logProbs.ToArray(), Is.All.LessThanOrEqualTo(0f));
            reference ??= drawn;
            Assert.That(drawn, Is.EqualTo(reference), "same keys, same tokens on every backend");
        }
    }

    [Test]
    public void TopKTopPSamplerKeepsEachRequestInsideItsKeptSetOnBothBackends()
    {
        const int rows = 3, cols = 1031;
        var x = Logits(rows * cols, 9);
        float[] temperatures = { 0.8f, 1f, 1.1f };
        int[] k = { 1, 20, 0 };            // greedy, top-20, no top-k
        float[] p = { 1f, 0.9f, 0.5f };
        var keys = Enumerable.Range(0, rows).Select(r => new Kernels.RngKey((ulong)(77 + r))).ToArray();
        int[]? reference = null;
        foreach (var backend in new[] { Backend.Cpu, Backend.IlgpuCpu })
        {
            using var runtime = KernelRuntime.Create(new KernelRuntimeOptions { Backend = backend });
            using var logits = runtime.Upload<float>(x);
            using var t = runtime.Upload<float>(temperatures);
            using var topK = runtime.Upload<int>(k);
            using var topP = runtime.Upload<float>(p);
            using var keyBuffer = runtime.Upload<Kernels.RngKey>(keys);
            using var tokens = runtime.Allocate<int>(rows);
            using var status = runtime.Allocate<int>(rows);
            TopKTopPSampler.Launch(runtime, logits, tokens, rows, cols, t, topK, topP, keyBuffer, 0, status);
            var drawn = tokens.ToArray();
            Assert.That(status.ToArray(), Is.All.EqualTo((int)Kernels.SampleStatus.Sampled), backend.ToString());
            // The penalised logits, ranked: request 0 is greedy, request 1 draws from its top 20.
            var z = Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, cols)
                .Select(c => (double)TopKTopPSampler.Penalise(x[r * cols + c], c)).ToArray()).ToArray();
            Assert.That(drawn[0], Is.EqualTo(Array.IndexOf(z[0], z[0].Max())), "k = 1 is greedy");
            var top20 = Enumerable.Range(0, cols).OrderByDescending(c => z[1][c]).Take(20).ToHashSet();
            Assert.That(top20, Does.Contain(drawn[1]), "request 1 draws inside its top 20");
            // Request 2: top-p 0.5 at T = 1.1, the smallest prefix of the sorted probabilities with half the mass.
            var order = Enumerable.Range(0, cols).OrderByDescending(c => z[2][c]).ToArray();
            var e = order.Select(c => Math.Exp((z[2][c] - z[2][order[0]]) / 1.1)).ToArray();
            double half = 0.5 * e.Sum(), before = 0;
            var nucleus = order.TakeWhile((c, i) => (before += i == 0 ? 0 : e[i - 1]) < half).ToHashSet();
            Assert.That(nucleus, Does.Contain(drawn[2]), "request 2 draws inside its nucleus");
            reference ??= drawn;
            Assert.That(drawn, Is.EqualTo(reference), "same keys, same tokens on every backend");
        }
    }

    [Test]
    public void ThePackageCameFromTheArtifactsFolder()
    {
        string packed = Path.Combine(Repository, "artifacts", "Kernels.0.1.0.nupkg");
        string restored = Path.Combine(Repository, "tests", "Kernels.Consumer.Tests", "obj", "packages", "kernels", "0.1.0", "kernels.0.1.0.nupkg.sha512");
        Assert.That(File.Exists(packed), "artifacts/Kernels.0.1.0.nupkg (run tools/test.sh, which packs first)");
        string expected = Convert.ToBase64String(SHA512.HashData(File.ReadAllBytes(packed)));
        Assert.That(File.ReadAllText(restored).Trim(), Is.EqualTo(expected), "restored package = the one just packed");
    }

    [Test]
    public void AWrongDeclarationFailsTheBuildWithItsDiagnostic()
    {
        // A consumer project declaring a kernel on a non-partial class: the packaged generator must report KRN0001.
        string dir = Path.Combine(Repository, "tests", "Kernels.Consumer.Tests", "obj", "broken");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(dir, "Directory.Packages.props"), "<Project />");
        File.WriteAllText(Path.Combine(dir, "Broken.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <RestorePackagesPath>{Path.Combine(Repository, "tests", "Kernels.Consumer.Tests", "obj", "packages")}</RestorePackagesPath>
              </PropertyGroup>
              <ItemGroup><PackageReference Include="Kernels" Version="0.1.0" /></ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(dir, "Broken.cs"), """
            [Kernels.SoftmaxKernel]
            public static class NotPartial { }
            """);
        var start = new ProcessStartInfo("dotnet", "build --nologo -v q")
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        Assert.That(process.WaitForExit(240_000), "dotnet build finished");
        Assert.That(process.ExitCode, Is.Not.EqualTo(0), output);
        Assert.That(output, Does.Contain("error KRN0001"), output);
    }

    private static float[] Logits(int count, int seed)
    {
        var random = new System.Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 16 - 8)).ToArray();
    }

    private static string FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Kernels.sln")))
                return dir.FullName;
        throw new InvalidOperationException("Kernels.sln not found above " + AppContext.BaseDirectory);
    }
}
