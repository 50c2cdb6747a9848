using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NUnit.Framework;

namespace Kernels.Generators.Tests;

/// <summary>
/// [AttentionKernel(AttentionKind.HyperAttention)] and [AttentionKernel(AttentionKind.Linear)]: valid declarations
/// compile into kernels specialised on the head dimension and a Create factory; bad options are KRN1501/KRN1504.
/// </summary>
[TestFixture]
public sealed class AttentionApproximationGeneratorTests
{
    private const string Usings = "using System;\nusing Kernels;\nnamespace Demo;\n";

    private static GeneratorRun Run(params string[] sources)
    {
        var compilation = GeneratorHarness.Compilation(sources);
        var driver = CSharpGeneratorDriver.Create(new[] { new AttentionKernelGenerator().AsSourceGenerator() }, parseOptions: GeneratorHarness.ParseOptions)
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        return new GeneratorRun(compilation, output, driver.GetRunResult(), generatorDiagnostics);
    }

    [Test]
    public void ValidDeclarationsReportNothingAndCompile()
    {
        var run = Run(Usings + """
            [AttentionKernel(AttentionKind.HyperAttention, HeadDim = 64)] public static partial class H64;
            [AttentionKernel(AttentionKind.HyperAttention)] public static partial class HAny;
            [AttentionKernel(AttentionKind.Linear, HeadDim = 32)] public static partial class L32;
            [AttentionKernel(AttentionKind.Linear)] public static partial class LAny;
            public static class Use
            {
                public static HyperAttention A() => H64.Create(new HyperAttentionOptions { HashBits = 5 }, new RngKey(1));
                public static HyperAttention B() => HAny.Create(96);
                public static LinearAttention C() => L32.Create(LinearFeatureMap.PositiveRandom, 64, new RngKey(2));
                public static LinearAttention D() => LAny.Create(16);
            }
            """);
        Assert.That(run.Exception, Is.Null);
        Assert.That(run.Diagnostics, Is.Empty, () => string.Join("; ", run.Diagnostics));
        Assert.That(run.OutputErrors, Is.Empty, () => string.Join("\n", run.OutputErrors));
        string h = run.Result.GeneratedTrees.Single(t => t.FilePath.EndsWith("Demo.H64.Attention.g.cs")).ToString();
        Assert.That(h, Does.Contain("[global::Kernels.KernelEntryPoint]").And.Contain("BlockAttentionDevice.Row<GeneratedHeadDim>")
            .And.Contain("BlockKernel { get; } = new global::Kernels.BlockAttentionKernel(64, 0, IlgpuKernel, CpuKernel)")
            .And.Contain("new global::Kernels.HyperAttention(64, options, key, BlockKernel)").And.Contain("Resolve(int runtime) => 64"));
        string l = run.Result.GeneratedTrees.Single(t => t.FilePath.EndsWith("Demo.L32.Attention.g.cs")).ToString();
        Assert.That(l, Does.Contain("LinearAttentionDevice.Kernel<GeneratedHeadDim>").And.Contain("LinearAttentionCpu.Run<GeneratedHeadDim>")
            .And.Contain("new global::Kernels.LinearAttentionKernel(32, IlgpuKernel, CpuKernel)").And.Contain("new global::Kernels.LinearAttention(featureMap, 32, features, key, Kernel)"));
    }

    [TestCase("HyperAttention", 300)]
    [TestCase("Linear", -1)]
    public void KRN1501_HeadDimOutOfRange(string kind, int headDim)
    {
        var run = Run(Usings + $"[AttentionKernel(AttentionKind.{kind}, HeadDim = {headDim})] public static partial class Bad;");
        var d = run.Diagnostics.Single(x => x.Id == "KRN1501");
        Assert.That(d.GetMessage(), Does.Contain("'Bad'").And.Contain(headDim.ToString()).And.Contain(kind));
        Assert.That(run.Result.GeneratedTrees, Is.Empty, "a declaration in error is not emitted");
    }

    [TestCase("HyperAttention", "GroupSize = 4")]
    [TestCase("HyperAttention", "Sink = true")]
    [TestCase("Linear", "Masks = AttentionMasks.Causal")]
    [TestCase("Linear", "ChunkKeys = 64")]
    public void KRN1504_OptionDoesNotApply(string kind, string option)
    {
        var run = Run(Usings + $"[AttentionKernel(AttentionKind.{kind}, HeadDim = 64, {option})] public static partial class Bad;");
        var d = run.Diagnostics.Single(x => x.Id == "KRN1504");
        Assert.That(d.GetMessage(), Does.Contain(option.Split(' ')[0]).And.Contain(kind).And.Contain("'Bad'"));
        Assert.That(d.Descriptor.HelpLinkUri, Is.EqualTo("docs/diagnostics/KRN1504.md"));
        Assert.That(run.Result.GeneratedTrees, Is.Empty);
    }
}
