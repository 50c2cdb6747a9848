using System.Linq;
using Microsoft.CodeAnalysis;
using NUnit.Framework;

namespace Kernels.Generators.Tests;

/// <summary>The attention family's generator: valid declarations compile, mistakes are KRN diagnostics.</summary>
[TestFixture]
public sealed class AttentionGeneratorTests
{
    private const string Usings = "using System;\nusing Kernels;\nnamespace Demo;\n";

    private static GeneratorRun Run(string source)
    {
        var compilation = GeneratorHarness.Compilation(Usings + source);
        var driver = Microsoft.CodeAnalysis.CSharp.CSharpGeneratorDriver.Create(
            new[] { new AttentionKernelGenerator().AsSourceGenerator() }, parseOptions: GeneratorHarness.ParseOptions)
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        return new GeneratorRun(compilation, output, driver.GetRunResult(), generatorDiagnostics);
    }

    [Test]
    public void ValidDeclarationsReportNothingAndCompile()
    {
        var run = Run("""
            [AttentionKernel] public static partial class A;
            [AttentionKernel(AttentionKind.Block, HeadDim = 96, GroupSize = 4)] public static partial class B;
            [AttentionKernel(AttentionKind.Decode, HeadDim = 128)] public static partial class C;
            [AttentionKernel(AttentionKind.Decode, HeadDim = 64, GroupSize = 8, ChunkKeys = 512, Masks = AttentionMasks.Length, Sink = true)] public static partial class D;
            public static partial class Outer { [AttentionKernel(AttentionKind.Decode, HeadDim = 64, Sink = true)] internal static partial class E; }
            """);
        Assert.That(run.Exception, Is.Null);
        Assert.That(run.Diagnostics, Is.Empty, () => string.Join("; ", run.Diagnostics));
        Assert.That(run.Result.GeneratedTrees, Has.Length.EqualTo(5));
        Assert.That(run.OutputErrors, Is.Empty, () => string.Join("\n", run.OutputErrors));
        Assert.That(run.GeneratedTreeProblems, Is.Empty, () => string.Join("\n", run.GeneratedTreeProblems));
        string Source(string name) => run.Result.GeneratedTrees.Single(t => t.FilePath.EndsWith($"Demo.{name}.Attention.g.cs")).ToString();
        Assert.That(Source("A"), Does.Contain("public int Resolve(int runtime) => runtime;")
            .And.Contain("global::Kernels.BlockAttentionDevice.Row<GeneratedHeadDim>(").And.Contain("global::Kernels.BlockAttentionCpu.Run<GeneratedHeadDim>(")
            .And.Contain("new global::Kernels.BlockAttentionKernel(0, 0, IlgpuKernel, CpuKernel)").And.Contain("[global::Kernels.KernelEntryPoint]"));
        Assert.That(Source("B"), Does.Contain("public int Resolve(int runtime) => 96;").And.Contain("new global::Kernels.BlockAttentionKernel(96, 4, IlgpuKernel, CpuKernel)"));
        string c = Source("C");
        Assert.That(c, Does.Contain("new global::Kernels.DecodeAttentionKernel(128, 0, 256, false, false, IlgpuSplitKernel, IlgpuMergeKernel, CpuKernel)")
            .And.Contain("global::Kernels.DecodeShape shape, float? scale = null)").And.Not.Contain("KernelBuffer<int> lengths").And.Not.Contain("KernelBuffer<float> sinks"));
        string d = Source("D");
        Assert.That(d, Does.Contain("new global::Kernels.DecodeAttentionKernel(64, 8, 512, true, true, IlgpuSplitKernel, IlgpuMergeKernel, CpuKernel)")
            .And.Contain("global::Kernels.Runtime.KernelBuffer<int> lengths, global::Kernels.Runtime.KernelBuffer<float> sinks, float? scale = null")
            .And.Contain("global::System.ReadOnlySpan<int> lengths, global::System.ReadOnlySpan<float> sinks, float? scale = null")
            .And.Contain("global::Kernels.DecodeAttentionDevice.Split<GeneratedHeadDim>(").And.Contain("global::Kernels.DecodeAttentionDevice.Merge<GeneratedHeadDim>("));
    }

    [TestCase("AttentionKind.Decode", "KRN1501", "HeadDim = 0", "64 and 128")]
    [TestCase("AttentionKind.Decode, HeadDim = 96", "KRN1501", "HeadDim = 96", "64 and 128")]
    [TestCase("AttentionKind.Block, HeadDim = 512", "KRN1501", "HeadDim = 512", "1 to 256")]
    [TestCase("AttentionKind.Decode, HeadDim = 64, ChunkKeys = 100", "KRN1502", "ChunkKeys = 100", "power of two")]
    [TestCase("AttentionKind.Decode, HeadDim = 64, GroupSize = -1", "KRN1503", "GroupSize = -1", "query heads per key/value head")]
    [TestCase("AttentionKind.Decode, HeadDim = 64, Masks = AttentionMasks.Causal", "KRN1504", "AttentionMasks.Causal", "length p + 1")]
    [TestCase("AttentionKind.Block, Sink = true", "KRN1504", "Sink", "AttentionMerge")]
    [TestCase("AttentionKind.Block, ChunkKeys = 64", "KRN1504", "ChunkKeys", "Block")]
    [TestCase("AttentionKind.Block, Masks = AttentionMasks.Causal", "KRN1504", "Masks", "BlockAttentionOptions")]
    public void MistakesAreReportedAndNotEmitted(string arguments, string id, string what, string hint)
    {
        var run = Run($"[AttentionKernel({arguments})] public static partial class Beta;");
        var d = run.Diagnostics.Single(x => x.Id == id);
        Assert.That(d.Severity, Is.EqualTo(DiagnosticSeverity.Error));
        Assert.That(d.GetMessage(), Does.Contain(what).And.Contain("'Beta'").And.Contain(hint));
        Assert.That(d.Descriptor.HelpLinkUri, Is.EqualTo($"docs/diagnostics/{id}.md"));
        Assert.That(run.Result.GeneratedTrees, Is.Empty, "a declaration in error is not emitted");
    }

    [Test]
    public void UndefinedKindOrMasksAndWrongShapeAreReported()
    {
        var undefined = Run("[AttentionKernel((AttentionKind)9)] public static partial class K;");
        Assert.That(undefined.Diagnostics.Select(d => d.Id), Is.EqualTo(new[] { "KRN1004" }));
        Assert.That(undefined.Diagnostics[0].GetMessage(), Does.Contain("Block").And.Contain("Decode"));
        var masks = Run("[AttentionKernel(AttentionKind.Decode, HeadDim = 64, Masks = (AttentionMasks)8)] public static partial class K;");
        Assert.That(masks.Diagnostics.Select(d => d.Id), Is.EqualTo(new[] { "KRN1004" }));
        var shape = Run("[AttentionKernel] public partial class K;");
        Assert.That(shape.Diagnostics.Select(d => d.Id), Is.EqualTo(new[] { "KRN0001" }));
        Assert.That(shape.Diagnostics[0].GetMessage(), Does.Contain("AttentionKernel"));
    }
}
