using System.Linq;
using Microsoft.CodeAnalysis;
using NUnit.Framework;

namespace Kernels.Generators.Tests;

/// <summary>The speculative-decoding family's generator: valid declarations compile, mistakes are KRN diagnostics.</summary>
[TestFixture]
public sealed class SpeculativeGeneratorTests
{
    private const string Usings = "using System;\nusing Kernels;\nnamespace Demo;\n";

    private static GeneratorRun Run(string source)
    {
        var compilation = GeneratorHarness.Compilation(Usings + source);
        var driver = Microsoft.CodeAnalysis.CSharp.CSharpGeneratorDriver.Create(
            new[] { new SpeculativeKernelGenerator().AsSourceGenerator() }, parseOptions: GeneratorHarness.ParseOptions)
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        return new GeneratorRun(compilation, output, driver.GetRunResult(), generatorDiagnostics);
    }

    [Test]
    public void ValidDeclarationsReportNothingAndCompile()
    {
        var run = Run("""
            [SpeculativeKernel] public static partial class A;
            [SpeculativeKernel(SpeculativeKind.Chain, PerRowKeys = true)] public static partial class B;
            [SpeculativeKernel(SpeculativeKind.ExpectedAcceptance)] public static partial class C;
            public static partial class Outer { [SpeculativeKernel(PerRowKeys = true)] internal static partial class D; }
            [SpeculativeKernel(SpeculativeKind.RecursiveRejection, PerRowKeys = true)] public static partial class E;
            [SpeculativeKernel(SpeculativeKind.KSeq)] public static partial class F;
            [SpeculativeKernel(SpeculativeKind.Tree, PerRowKeys = true)] public static partial class G;
            """);
        Assert.That(run.Exception, Is.Null);
        Assert.That(run.Diagnostics, Is.Empty, () => string.Join("; ", run.Diagnostics));
        Assert.That(run.Result.GeneratedTrees, Has.Length.EqualTo(7));
        Assert.That(run.OutputErrors, Is.Empty, () => string.Join("\n", run.OutputErrors));
        Assert.That(run.GeneratedTreeProblems, Is.Empty, () => string.Join("\n", run.GeneratedTreeProblems));
        string b = run.Result.GeneratedTrees.Single(t => t.FilePath.EndsWith("Demo.B.Speculative.g.cs")).ToString();
        Assert.That(b, Does.Contain("global::Kernels.ChainDevice.Row(").And.Contain("global::Kernels.ChainCpu.Rows(")
            .And.Contain("[global::Kernels.KernelEntryPoint]").And.Contain("new global::Kernels.ChainVerifier(true, IlgpuKernel, CpuKernel)")
            .And.Contain("KernelBuffer<global::Kernels.RngKey> keys"));
        string a = run.Result.GeneratedTrees.Single(t => t.FilePath.EndsWith("Demo.A.Speculative.g.cs")).ToString();
        Assert.That(a, Does.Contain("new global::Kernels.ChainVerifier(false, IlgpuKernel, CpuKernel)").And.Contain("global::Kernels.RngKey key"));
        string c = run.Result.GeneratedTrees.Single(t => t.FilePath.EndsWith("Demo.C.Speculative.g.cs")).ToString();
        Assert.That(c, Does.Contain("global::Kernels.AcceptanceDevice.Pair(").And.Contain("public static void Launch("));
        string e = run.Result.GeneratedTrees.Single(t => t.FilePath.EndsWith("Demo.E.Speculative.g.cs")).ToString();
        Assert.That(e, Does.Contain("global::Kernels.DraftDevice.MultiDraftRow(").And.Contain("global::Kernels.DraftCpu.MultiDraftRows(")
            .And.Contain("new global::Kernels.MultiDraftVerifier(global::Kernels.SpeculativeKind.RecursiveRejection, true, IlgpuKernel, CpuKernel)")
            .And.Contain("int batch, int drafts, int cols, global::Kernels.Runtime.KernelBuffer<global::Kernels.RngKey> keys"));
        string f = run.Result.GeneratedTrees.Single(t => t.FilePath.EndsWith("Demo.F.Speculative.g.cs")).ToString();
        Assert.That(f, Does.Contain("new global::Kernels.MultiDraftVerifier(global::Kernels.SpeculativeKind.KSeq, false, IlgpuKernel, CpuKernel)")
            .And.Contain("global::Kernels.RngKey key"));
        string g = run.Result.GeneratedTrees.Single(t => t.FilePath.EndsWith("Demo.G.Speculative.g.cs")).ToString();
        Assert.That(g, Does.Contain("global::Kernels.DraftDevice.TreeRow(").And.Contain("new global::Kernels.TreeVerifier(true, IlgpuKernel, CpuKernel)")
            .And.Contain("int batch, int nodes, int cols"));
    }

    [Test]
    public void KRN1401_PerRowKeysOnTheAcceptanceDiagnostic()
    {
        var run = Run("[SpeculativeKernel(SpeculativeKind.ExpectedAcceptance, PerRowKeys = true)] public static partial class Beta;");
        var d = run.Diagnostics.Single(x => x.Id == "KRN1401");
        Assert.That(d.Severity, Is.EqualTo(DiagnosticSeverity.Error));
        Assert.That(d.GetMessage(), Does.Contain("PerRowKeys").And.Contain("'Beta'").And.Contain("ExpectedAcceptance"));
        Assert.That(d.Descriptor.HelpLinkUri, Is.EqualTo("docs/diagnostics/KRN1401.md"));
        Assert.That(run.Result.GeneratedTrees, Is.Empty, "a declaration in error is not emitted");
    }

    [Test]
    public void ChainOnLogitsDeclaresThePipelineStagesAndTransform()
    {
        var run = Run("""
            [SpeculativeKernel(SpeculativeKind.Chain, PerRowKeys = true, Temperature = TemperatureMode.PerRow, TopK = true, TopP = true, Transform = nameof(Cap))]
            public static partial class L { public static float Cap(float x, int column) => MathF.Min(x, 30f) - (column == 0 ? 1f : 0f); }
            [SpeculativeKernel(Temperature = TemperatureMode.Scalar, MinP = true)] public static partial class M;
            """);
        Assert.That(run.Exception, Is.Null);
        Assert.That(run.Diagnostics, Is.Empty, () => string.Join("; ", run.Diagnostics));
        Assert.That(run.OutputErrors, Is.Empty, () => string.Join("\n", run.OutputErrors));
        Assert.That(run.GeneratedTreeProblems, Is.Empty, () => string.Join("\n", run.GeneratedTreeProblems));
        string l = run.Result.GeneratedTrees.Single(t => t.FilePath.EndsWith("Demo.L.Speculative.g.cs")).ToString();
        Assert.That(l, Does.Contain("global::Kernels.DecodeDevice.Truncate<GeneratedTransform>(").And.Contain("global::Kernels.ChainCpu.LogitRows<GeneratedTransform>(")
            .And.Contain("L.Cap(x, column)").And.Contain("new global::Kernels.ChainLogitVerifier(")
            .And.Contain("new global::Kernels.DecodeStages(global::Kernels.TemperatureMode.PerRow, true, true, false, false)")
            .And.Contain("KernelBuffer<float> temperatures, global::Kernels.Runtime.KernelBuffer<int> topK, global::Kernels.Runtime.KernelBuffer<float> topP, global::Kernels.Runtime.KernelBuffer<global::Kernels.RngKey> keys")
            .And.Contain("global::Kernels.ChainDevice.Row("));
        string m = run.Result.GeneratedTrees.Single(t => t.FilePath.EndsWith("Demo.M.Speculative.g.cs")).ToString();
        Assert.That(m, Does.Contain("float temperature, global::Kernels.Runtime.KernelBuffer<float> minP, global::Kernels.RngKey key, ulong offset")
            .And.Contain("new global::Kernels.ChainVerifier(false, IlgpuKernel, CpuKernel)"));
    }

    [TestCase("SpeculativeKind.ExpectedAcceptance, TopK = true", "TopK")]
    [TestCase("SpeculativeKind.RecursiveRejection, Temperature = TemperatureMode.Scalar", "Temperature")]
    [TestCase("SpeculativeKind.KSeq, MinP = true", "MinP")]
    [TestCase("SpeculativeKind.Tree, TopP = true", "TopP")]
    [TestCase("SpeculativeKind.Tree, Transform = nameof(F)", "Transform")]
    public void KRN1402_LogitStagesOnAKindOtherThanChain(string arguments, string stage)
    {
        var run = Run($"[SpeculativeKernel({arguments})] public static partial class V {{ public static float F(float x) => x; }}");
        var d = run.Diagnostics.Single(x => x.Id == "KRN1402");
        Assert.That(d.Severity, Is.EqualTo(DiagnosticSeverity.Error));
        Assert.That(d.GetMessage(), Does.Contain(stage).And.Contain("'V'").And.Contain("Chain"));
        Assert.That(d.Descriptor.HelpLinkUri, Is.EqualTo("docs/diagnostics/KRN1402.md"));
        Assert.That(run.Result.GeneratedTrees, Is.Empty, "a declaration in error is not emitted");
    }

    [Test]
    public void WrongTransformsAreTheSamplerFamilysDiagnostics()
    {
        var context = Run("[SpeculativeKernel(Transform = nameof(F))] public static partial class W { public static float F(float x, int c, float ctx, float p) => x + ctx * p; }");
        Assert.That(context.Diagnostics.Select(d => d.Id), Is.EqualTo(new[] { "KRN1103" }), "no per-request context in a verifier");
        Assert.That(context.Diagnostics[0].GetMessage(), Does.Contain("a speculative verifier"));
        var missing = Run("[SpeculativeKernel(Transform = \"Nope\")] public static partial class W;");
        Assert.That(missing.Diagnostics.Select(d => d.Id), Is.EqualTo(new[] { "KRN1001" }));
        var signature = Run("[SpeculativeKernel(Transform = nameof(F))] public static partial class W { public static double F(double x) => x; }");
        Assert.That(signature.Diagnostics.Select(d => d.Id), Is.EqualTo(new[] { "KRN1002" }));
        var temperature = Run("[SpeculativeKernel(Temperature = (TemperatureMode)7)] public static partial class W;");
        Assert.That(temperature.Diagnostics.Select(d => d.Id), Is.EqualTo(new[] { "KRN1004" }));
    }

    [Test]
    public void UndefinedKindAndWrongShapeAreReported()
    {
        var undefined = Run("[SpeculativeKernel((SpeculativeKind)9)] public static partial class K;");
        Assert.That(undefined.Diagnostics.Select(d => d.Id), Is.EqualTo(new[] { "KRN1004" }));
        Assert.That(undefined.Diagnostics[0].GetMessage(), Does.Contain("Chain").And.Contain("ExpectedAcceptance"));
        var shape = Run("[SpeculativeKernel] public partial class K;");
        Assert.That(shape.Diagnostics.Select(d => d.Id), Is.EqualTo(new[] { "KRN0001" }));
        Assert.That(shape.Diagnostics[0].GetMessage(), Does.Contain("SpeculativeKernel"));
        var nested = Run("public static class Outer { [SpeculativeKernel] public static partial class K; }");
        Assert.That(nested.Diagnostics.Select(d => d.Id), Is.EqualTo(new[] { "KRN0002" }));
    }
}
