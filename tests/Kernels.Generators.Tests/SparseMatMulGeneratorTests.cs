using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NUnit.Framework;

namespace Kernels.Generators.Tests;

/// <summary>The [SparseMatMulKernel] family: valid declarations compile, KRN1301, the shared epilogue diagnostics, never throws.</summary>
[TestFixture]
public sealed class SparseMatMulGeneratorTests
{
    private const string Usings = "using System;\nusing Kernels;\nnamespace Demo;\n";

    private static GeneratorRun Run(params string[] sources)
    {
        var compilation = GeneratorHarness.Compilation(sources);
        var driver = CSharpGeneratorDriver.Create(new[] { new SparseMatMulKernelGenerator().AsSourceGenerator() }, parseOptions: GeneratorHarness.ParseOptions)
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        return new GeneratorRun(compilation, output, driver.GetRunResult(), generatorDiagnostics);
    }

    [Test]
    public void ValidDeclarationsReportNothingAndCompile()
    {
        var run = Run(Usings + """
            [SparseMatMulKernel(2, 4)] public static partial class A;
            [SparseMatMulKernel(3, 8, Epilogue = nameof(Silu))] public static partial class B { static float Silu(float y) => y / (1f + MathF.Exp(-y)); }
            [SparseMatMulKernel(1, 1, Epilogue = nameof(Relu))] public static partial class C { static float Relu(float y, int column) => column == 0 ? y : Math.Max(y, 0f); }
            public static partial class Outer { [SparseMatMulKernel(16, 32)] public static partial class D; }
            """);
        Assert.That(run.Exception, Is.Null);
        Assert.That(run.Diagnostics, Is.Empty, () => string.Join("; ", run.Diagnostics));
        Assert.That(run.Result.GeneratedTrees, Has.Length.EqualTo(4));
        Assert.That(run.OutputErrors, Is.Empty, () => string.Join("\n", run.OutputErrors));
        string a = run.Result.GeneratedTrees.Single(t => t.FilePath.EndsWith("Demo.A.SparseMatMul.g.cs")).ToString();
        Assert.That(a, Does.Contain("[global::Kernels.KernelEntryPoint]").And.Contain("SparseMatMulDevice.Tile<GeneratedTransform>")
            .And.Contain("SparseMatMulCpu.Run<GeneratedTransform>").And.Contain("new global::Kernels.SparseMatMulKernel(2, 4, IlgpuKernel, CpuKernel)"));
    }

    [TestCase(5, 4)]
    [TestCase(0, 4)]
    [TestCase(2, 64)]
    public void KRN1301_InvalidPattern(int n, int m)
    {
        var run = Run(Usings + $"[SparseMatMulKernel({n}, {m})] public static partial class Bad;");
        var d = run.Diagnostics.Single(x => x.Id == "KRN1301");
        Assert.That(d.Severity, Is.EqualTo(DiagnosticSeverity.Error));
        Assert.That(d.GetMessage(), Does.Contain("'Bad'").And.Contain($"{n}:{m}"));
        Assert.That(d.Descriptor.HelpLinkUri, Is.EqualTo("docs/diagnostics/KRN1301.md"));
        Assert.That(run.Result.GeneratedTrees, Is.Empty, "a declaration in error is not emitted");
    }

    [Test]
    public void EpilogueUsesTheTransformRules()
    {
        var missing = Run(Usings + "[SparseMatMulKernel(2, 4, Epilogue = \"Nope\")] public static partial class A;");
        Assert.That(missing.Diagnostics.Select(d => d.Id), Is.EqualTo(new[] { "KRN1001" }));
        var signature = Run(Usings + "[SparseMatMulKernel(2, 4, Epilogue = nameof(F))] public static partial class A { static double F(double y) => y; }");
        Assert.That(signature.Diagnostics.Select(d => d.Id), Is.EqualTo(new[] { "KRN1002" }));
        var notStatic = Run(Usings + "[SparseMatMulKernel(2, 4)] public partial class A;");
        Assert.That(notStatic.Diagnostics.Select(d => d.Id), Is.EqualTo(new[] { "KRN0001" }));
    }

    private static readonly string[][] BrokenSources =
    {
        new[] { Usings + "[SparseMatMulKernel(] public static partial class A;" },
        new[] { Usings + "[SparseMatMulKernel] public static partial class A;" },
        new[] { Usings + "[SparseMatMulKernel(2)] public static partial class A;" },
        new[] { Usings + "[SparseMatMulKernel(\"2\", 4.0)] public static partial class A;" },
        new[] { Usings + "[SparseMatMulKernel(2, 4, Epilogue = null)] public static partial class A;" },
        new[] { Usings + "[SparseMatMulKernel(2, 4, Epilogue = \"F\")] public static partial class A { static float F(float y) => ; }" },
        new[] { Usings + "[SparseMatMulKernel(2, 4), SparseMatMulKernel(1, 4)] public static partial class A;" },
        new[] { Usings + "public static partial class O<T> { [SparseMatMulKernel(2, 4)] public static partial class A; }" },
        new[] { "[Kernels.SparseMatMulKernel(int.MaxValue, int.MinValue)] static partial class Global { }" },
    };

    [TestCaseSource(nameof(BrokenSources))]
    public void NeverThrows(string[] sources)
    {
        var run = Run(sources);
        Assert.That(run.Result.Results[0].Exception, Is.Null, () => run.Result.Results[0].Exception!.ToString());
        Assert.That(run.Diagnostics.Select(d => d.Id), Has.No.Member("KRN9001"), () => string.Join("; ", run.Diagnostics));
        Assert.That(run.GeneratedTreeProblems.Where(d => d.Severity == DiagnosticSeverity.Error), Is.Empty, () => string.Join("\n", run.GeneratedTreeProblems));
    }
}
