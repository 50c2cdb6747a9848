using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using NUnit.Framework;

namespace Kernels.Generators.Tests;

/// <summary>Every diagnostic the generator reports: id, severity and where it points; and that the generator never throws.</summary>
[TestFixture]
public sealed class DiagnosticsTests
{
    private const string Usings = "using System;\nusing Kernels;\nnamespace Demo;\n";

    private static Diagnostic Single(GeneratorRun run, string id)
    {
        Assert.That(run.Exception, Is.Null, "the generator threw");
        var found = run.Diagnostics.Where(d => d.Id == id).ToList();
        Assert.That(found, Has.Count.EqualTo(1), $"expected one {id}; got: {string.Join("; ", run.Diagnostics)}");
        return found[0];
    }

    /// <summary>The source text a diagnostic's location covers (generator locations carry a path and a span, not a tree).</summary>
    private static string LocatedText(GeneratorRun run, Diagnostic diagnostic)
    {
        var lineSpan = diagnostic.Location.GetLineSpan();
        var tree = run.Input.SyntaxTrees.Single(t => t.FilePath == lineSpan.Path);
        var text = tree.GetText();
        Assert.That(text.Lines.GetLinePositionSpan(diagnostic.Location.SourceSpan), Is.EqualTo(lineSpan.Span), "line span and text span disagree");
        return text.ToString(diagnostic.Location.SourceSpan);
    }

    private static void AssertNoModel(GeneratorRun run) =>
        Assert.That(run.Result.GeneratedTrees, Is.Empty, "a declaration in error must not be emitted");

    // ---- KRN0001 ----------------------------------------------------------------------------------------------

    [Test]
    public void KRN0001_NonStaticClass()
    {
        var run = GeneratorHarness.Run(Usings + "[SoftmaxKernel] public partial class Plain { }");
        var d = Single(run, "KRN0001");
        Assert.That(d.Severity, Is.EqualTo(DiagnosticSeverity.Error));
        Assert.That(LocatedText(run, d), Is.EqualTo("Plain"));
        Assert.That(d.GetMessage(), Does.Contain("'Plain'").And.Contain("static partial class"));
        AssertNoModel(run);
    }

    [Test]
    public void KRN0001_NonPartialClass()
    {
        var run = GeneratorHarness.Run(Usings + "[SoftmaxKernel] public static class Whole { }");
        var d = Single(run, "KRN0001");
        Assert.That(d.Severity, Is.EqualTo(DiagnosticSeverity.Error));
        Assert.That(LocatedText(run, d), Is.EqualTo("Whole"));
        AssertNoModel(run);
    }

    [Test]
    public void KRN0001_Record()
    {
        // AttributeTargets.Class admits record classes; a record cannot be static, so it must be reported, not skipped.
        var run = GeneratorHarness.Run(Usings + "[SoftmaxKernel] public partial record Rec;");
        var d = Single(run, "KRN0001");
        Assert.That(LocatedText(run, d), Is.EqualTo("Rec"));
        AssertNoModel(run);
    }

    // ---- KRN0002 ----------------------------------------------------------------------------------------------

    [Test]
    public void KRN0002_ContainingTypeNotPartial()
    {
        var run = GeneratorHarness.Run(Usings + """
            public class Outer
            {
                [SoftmaxKernel] public static partial class Inner;
            }
            """);
        var d = Single(run, "KRN0002");
        Assert.That(d.Severity, Is.EqualTo(DiagnosticSeverity.Error));
        Assert.That(LocatedText(run, d), Is.EqualTo("Inner"));
        Assert.That(d.GetMessage(), Does.Contain("'Outer'"));
        Assert.That(run.Diagnostics.Select(x => x.Id), Has.No.Member("KRN0001"));
        AssertNoModel(run);
    }

    // ---- KRN0003 ----------------------------------------------------------------------------------------------

    [Test]
    public void KRN0003_GenericDeclaration()
    {
        var run = GeneratorHarness.Run(Usings + "[SoftmaxKernel] public static partial class Generic<T>;");
        var d = Single(run, "KRN0003");
        Assert.That(d.Severity, Is.EqualTo(DiagnosticSeverity.Error));
        Assert.That(LocatedText(run, d), Is.EqualTo("Generic"));
        AssertNoModel(run);
    }

    [Test]
    public void KRN0003_NestedInGenericType()
    {
        var run = GeneratorHarness.Run(Usings + """
            public static partial class Holder<T>
            {
                [SoftmaxKernel] public static partial class Inner;
            }
            """);
        var d = Single(run, "KRN0003");
        Assert.That(LocatedText(run, d), Is.EqualTo("Inner"));
        AssertNoModel(run);
    }

    // ---- KRN1001 ----------------------------------------------------------------------------------------------

    [Test]
    public void KRN1001_TransformNotFound()
    {
        var run = GeneratorHarness.Run(Usings + """
            [SoftmaxKernel(Transform = "Missing")]
            public static partial class K;
            """);
        var d = Single(run, "KRN1001");
        Assert.That(d.Severity, Is.EqualTo(DiagnosticSeverity.Error));
        Assert.That(LocatedText(run, d), Is.EqualTo("SoftmaxKernel(Transform = \"Missing\")"));
        Assert.That(d.GetMessage(), Does.Contain("\"Missing\"").And.Contain("'K'"));
        AssertNoModel(run);
    }

    [Test]
    public void KRN1001_TransformNamesAProperty()
    {
        var run = GeneratorHarness.Run(Usings + """
            [SoftmaxKernel(Transform = nameof(Scale))]
            public static partial class K
            {
                public static float Scale => 2f;
            }
            """);
        var d = Single(run, "KRN1001");
        Assert.That(LocatedText(run, d), Does.StartWith("SoftmaxKernel("));
        AssertNoModel(run);
    }

    // ---- KRN1002 ----------------------------------------------------------------------------------------------

    [TestCase("static double F(float x) => x;", "wrong return type")]
    [TestCase("float F(float x) => x;", "instance method")]
    [TestCase("static float F(ref float x) => x;", "ref parameter")]
    [TestCase("static float F(in float x) => x;", "in parameter")]
    [TestCase("static float F(float x, int column, int row) => x;", "three parameters")]
    [TestCase("static float F() => 0f;", "no parameter")]
    [TestCase("static float F(float x, float y) => x;", "second parameter not int")]
    [TestCase("static float F(int x) => x;", "first parameter not float")]
    [TestCase("static float F<T>(float x) => x;", "generic method")]
    public void KRN1002_TransformSignature(string method, string why)
    {
        // Instance members are not allowed in a static class (CS0708), but the generator must still report KRN1002.
        var run = GeneratorHarness.Run(Usings + $$"""
            [SoftmaxKernel(Transform = "F")]
            public static partial class K
            {
                public {{method}}
            }
            """);
        var d = Single(run, "KRN1002");
        Assert.That(d.Severity, Is.EqualTo(DiagnosticSeverity.Error), why);
        Assert.That(LocatedText(run, d), Is.EqualTo("F"), why);
        Assert.That(d.Location.GetLineSpan().StartLinePosition.Line, Is.EqualTo(6), "points at the method, not the attribute");
        AssertNoModel(run);
    }

    [Test]
    public void KRN1002_NotReportedForBothAcceptedShapes()
    {
        var one = GeneratorHarness.Run(Usings + """
            [SoftmaxKernel(Transform = nameof(F))]
            public static partial class K { static float F(float x) => x; }
            """);
        var two = GeneratorHarness.Run(Usings + """
            [SoftmaxKernel(Transform = nameof(F))]
            public static partial class K { static float F(float x, int column) => x; }
            """);
        Assert.That(one.Diagnostics, Is.Empty);
        Assert.That(two.Diagnostics, Is.Empty);
    }

    // ---- KRN1003 ----------------------------------------------------------------------------------------------

    [Test]
    public void KRN1003_OverloadedTransform()
    {
        var run = GeneratorHarness.Run(Usings + """
            [SoftmaxKernel(Transform = nameof(F))]
            public static partial class K
            {
                static float F(float x) => x;
                static float F(float x, int column) => x;
            }
            """);
        var d = Single(run, "KRN1003");
        Assert.That(d.Severity, Is.EqualTo(DiagnosticSeverity.Error));
        Assert.That(LocatedText(run, d), Is.EqualTo("SoftmaxKernel(Transform = nameof(F))"));
        Assert.That(d.GetMessage(), Does.Contain("matches 2 methods"));
        AssertNoModel(run);
    }

    // ---- KRN1004 ----------------------------------------------------------------------------------------------

    [TestCase("(SoftmaxOutput)7", "Output = 7")]
    [TestCase("Activation = (SoftmaxActivation)3", "Activation = 3")]
    [TestCase("Temperature = (TemperatureMode)(-1)", "Temperature = -1")]
    [TestCase("Temperature = TemperatureMode.Scalar | TemperatureMode.PerRow", "Temperature = 3")]
    public void KRN1004_UndefinedOption(string arguments, string expected)
    {
        var run = GeneratorHarness.Run(Usings + $$"""
            [SoftmaxKernel({{arguments}})]
            public static partial class K;
            """);
        var d = Single(run, "KRN1004");
        Assert.That(d.Severity, Is.EqualTo(DiagnosticSeverity.Error));
        Assert.That(LocatedText(run, d), Is.EqualTo($"SoftmaxKernel({arguments})"));
        Assert.That(d.GetMessage(), Does.StartWith(expected + " is not a defined value"));
        AssertNoModel(run);
    }

    // ---- KRN1005 ----------------------------------------------------------------------------------------------

    [TestCase("static float F(float x) => Helper(x);\n static float Helper(float x) => x * 2f;", "it calls 'Demo.K.Helper'")]
    [TestCase("static float F(float x) { if (x > 0f) return x; return 0f; }", "statement")]
    [TestCase("static float F(float x) => MathF.Pow(x, 2f);", "it calls 'System.MathF.Pow'")]
    [TestCase("static float F(float x, int column) => x + column / 2;", "integer division")]
    [TestCase("static float F(float x) => x % 2f;", "operator '%'")]
    [TestCase("static readonly float Scale = 2f;\n static float F(float x) => x * Scale;", "'Scale'")]
    public void KRN1005_OutsideTheVectorisableSubset(string members, string reason)
    {
        var run = GeneratorHarness.Run(Usings + $$"""
            [SoftmaxKernel(Transform = "F")]
            public static partial class K
            {
                {{members}}
            }
            """);
        var d = Single(run, "KRN1005");
        Assert.That(d.Severity, Is.EqualTo(DiagnosticSeverity.Info));
        Assert.That(LocatedText(run, d), Is.EqualTo("F"));
        Assert.That(d.GetMessage(), Does.Contain(reason));
        // Info only: the kernel is still generated, with the element-by-element fallback, and compiles.
        Assert.That(run.GeneratedSource, Does.Contain("lanes[i] = Apply("));
        Assert.That(run.OutputErrors, Is.Empty);
    }

    [Test]
    public void KRN1005_CanBeSilencedWithNoWarn()
    {
        // NoWarn in a project becomes a Suppress entry in the compilation's specific diagnostic options.
        var compilation = GeneratorHarness.Compilation(Usings + """
            [SoftmaxKernel(Transform = "F")]
            public static partial class K { static float F(float x) => MathF.Pow(x, 2f); }
            """);
        compilation = compilation.WithOptions(compilation.Options.WithSpecificDiagnosticOptions(
            new Dictionary<string, ReportDiagnostic> { ["KRN1005"] = ReportDiagnostic.Suppress }));
        GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        Assert.That(diagnostics, Is.Empty);
        Assert.That(output.SyntaxTrees.Count(), Is.EqualTo(2), "the kernel is still generated");
    }

    [TestCase("static float F(float x) => 30f * MathF.Tanh(x / 30f);")]
    [TestCase("static float F(float x, int column) => column == 3 ? x - 2f : x;")]
    [TestCase("static float F(float x) { float y = Math.Max(x, -5f); return Math.Min(y, 5f); }")]
    [TestCase("static float F(float x) => (float)Math.Exp(Math.Log(Math.Abs(x) + 1.0)) - MathF.Sqrt(2f);")]
    [TestCase("static float F(float x, int column) => x > 0f && column != 0 || !(x < -1f) ? x : -x * (float)column;")]
    public void KRN1005_NotReportedInsideTheSubset(string members)
    {
        var run = GeneratorHarness.Run(Usings + $$"""
            [SoftmaxKernel(Transform = "F")]
            public static partial class K
            {
                {{members}}
            }
            """);
        Assert.That(run.Exception, Is.Null);
        Assert.That(run.Diagnostics, Is.Empty);
        Assert.That(run.GeneratedSource, Does.Not.Contain("lanes[i]"));
        Assert.That(run.OutputErrors, Is.Empty);
    }

    // ---- KRN9001 and descriptors --------------------------------------------------------------------------------

    [Test]
    public void EveryDescriptorHasAHelpPage()
    {
        var root = RepositoryRoot.Path;
        var ids = new List<string>();
        foreach (var descriptor in Diagnostics.DiagnosticDescriptors.All)
        {
            ids.Add(descriptor.Id);
            Assert.That(descriptor.HelpLinkUri, Is.EqualTo("docs/diagnostics/" + descriptor.Id + ".md"));
            Assert.That(System.IO.File.Exists(System.IO.Path.Combine(root, "docs", "diagnostics", descriptor.Id + ".md")), descriptor.Id);
            Assert.That(Diagnostics.DiagnosticDescriptors.ById(descriptor.Id), Is.SameAs(descriptor));
        }
        Assert.That(ids, Is.Unique);
        Assert.That(ids, Is.SupersetOf(new[] { "KRN0001", "KRN0002", "KRN0003", "KRN1001", "KRN1002", "KRN1003", "KRN1004", "KRN1005", "KRN9001" }));
        var readme = System.IO.File.ReadAllText(System.IO.Path.Combine(root, "docs", "diagnostics", "README.md"));
        Assert.That(ids, Has.All.Matches<string>(id => readme.Contains(id + ".md", System.StringComparison.Ordinal)));
    }

    // ---- the generator never throws ---------------------------------------------------------------------------

    private static readonly string[][] BrokenSources =
    {
        new[] { Usings + "[SoftmaxKernel(Temperature = )] public static partial class A { static float F(float x) => x +; }" },
        new[] { Usings + "[SoftmaxKernel(] public static partial class A;" },
        new[] { Usings + "[SoftmaxKernel(Transform = null)] public static partial class A;" },
        new[] { Usings + "[SoftmaxKernel(Transform = 42)] public static partial class A;" },
        new[] { Usings + "[SoftmaxKernel(Transform = nameof(P))] public static partial class A { static float P { get; } }" },
        new[] { Usings + "[SoftmaxKernel(Transform = nameof(Undefined))] public static partial class A;" },
        new[] { Usings + "[SoftmaxKernel(Temperature = TemperatureMode.Bogus)] public static partial class A;" },
        new[] { Usings + "[SoftmaxKernel(Temperature = Undefined.Value, Mask = maybe)] public static partial class A;" },
        new[] { Usings + "[SoftmaxKernel(Mask = 1, Activation = 2)] public static partial class A;" },
        new[] { Usings + "[SoftmaxKernel(Output = SoftmaxOutput.LogSumExp)] public static partial class A;" },
        new[] { Usings + "[SoftmaxKernel(SoftmaxOutput.Probabilities, SoftmaxOutput.LogSumExp)] public static partial class A;" },
        new[] { Usings + "[SoftmaxKernel(\"text\")] public static partial class A;" },
        new[] { Usings + "[SoftmaxKernel] public static partial class A {" },
        new[] { Usings + "[SoftmaxKernel] public static partial class" },
        new[] { Usings + "[SoftmaxKernel(Transform = \"F\")] public static partial class A { static float F(float x); }" },
        new[] { Usings + "[SoftmaxKernel(Transform = \"F\")] public static partial class A { static float F(float x) => ; }" },
        new[] { Usings + "[SoftmaxKernel(Transform = \"F\")] public static partial class A { static float F(float x) { var y = ; return y } }" },
        new[] { Usings + "[SoftmaxKernel(Transform = \"F\")] public static partial class A { static float F(float x) => Missing(x) + undefinedLocal; }" },
        new[] { Usings + "[SoftmaxKernel(Transform = \"F\")] public static partial class A { static float F(float x) { float y; return y; } }" },
        new[] { Usings + "[SoftmaxKernel(Transform = \"F\")] public static partial class A { static float F(float x) { return x; x = 1f; } }" },
        new[] { Usings + "[SoftmaxKernel(Transform = \"F\")] public static partial class A { static float F(float x) => x > 0f; }" },
        new[] { Usings + "[SoftmaxKernel(Transform = \"F\")] public static partial class A { static float F(float x, int c) => (float)(long)c + 1L + 'a' + (x > 0 ? 1 : 0); }" },
        new[] { Usings + "[SoftmaxKernel(Transform = \"F\")] public static partial class A { static float F(float x) => x switch { > 0f => x, _ => 0f }; }" },
        new[] { Usings + "[SoftmaxKernel(Transform = \"F\")] public static partial class A { static extern float F(float x); }" },
        new[] { Usings + "[SoftmaxKernel(Transform = \"F\")] public static partial class A { static partial float F(float x); }" },
        new[] { Usings + "[SoftmaxKernel(Transform = \"A\")] public static partial class A;" },
        new[] { Usings + "[SoftmaxKernel] public static partial class A; [SoftmaxKernel] public static partial class A;" },
        new[] { Usings + "[SoftmaxKernel] public static partial class A;", Usings + "[SoftmaxKernel] public static partial class A;" },
        new[] { Usings + "[SoftmaxKernel, SoftmaxKernel] public static partial class A;" },
        new[] { Usings + "public static partial class O<T> { [SoftmaxKernel] public partial class A; }" },
        new[] { "[Kernels.SoftmaxKernel] static partial class Global { }" },
    };

    [TestCaseSource(nameof(BrokenSources))]
    public void NeverThrows(string[] sources)
    {
        var run = GeneratorHarness.Run(sources);
        Assert.That(run.Result.Results, Has.Length.EqualTo(1));
        Assert.That(run.Result.Results[0].Exception, Is.Null, () => run.Result.Results[0].Exception!.ToString());
        Assert.That(run.GeneratorDiagnostics.Where(d => d.Id is "CS8784" or "CS8785"), Is.Empty, "generator failure warnings");
        Assert.That(run.Diagnostics.Select(d => d.Id), Has.No.Member("KRN9001"),
            () => "an internal error on a user mistake: " + string.Join("; ", run.Diagnostics));
        // Whatever it does emit must not add errors of its own.
        Assert.That(run.GeneratedTreeProblems.Where(d => d.Severity == DiagnosticSeverity.Error), Is.Empty,
            () => string.Join("\n", run.GeneratedTreeProblems));
    }
}

/// <summary>Finds the repository root (the folder holding Directory.Build.props) from the test's output folder.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new System.IO.DirectoryInfo(System.AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(System.IO.Path.Combine(dir.FullName, "Directory.Build.props"))
                && System.IO.Directory.Exists(System.IO.Path.Combine(dir.FullName, "docs", "diagnostics")))
                return dir.FullName;
        }
        throw new System.InvalidOperationException("repository root not found above " + System.AppContext.BaseDirectory);
    }
}
