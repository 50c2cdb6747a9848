using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using Kernels.Runtime;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NUnit.Framework;

namespace Kernels.Generators.Tests;

/// <summary>Runs <see cref="SamplerKernelGenerator"/> over test compilations (the shared harness drives the softmax generator).</summary>
internal static class SamplerHarness
{
    public static GeneratorDriver Driver(bool trackSteps = false) =>
        CSharpGeneratorDriver.Create(
            new[] { new SamplerKernelGenerator().AsSourceGenerator() },
            parseOptions: GeneratorHarness.ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    public static GeneratorRun Run(params string[] sources)
    {
        var compilation = GeneratorHarness.Compilation(sources);
        var driver = Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        return new GeneratorRun(compilation, output, driver.GetRunResult(), generatorDiagnostics);
    }
}

/// <summary>The sampler family's diagnostics (KRN11xx and the shared ones), where they point, and that it never throws.</summary>
[TestFixture]
public sealed class SamplerDiagnosticsTests
{
    private const string Usings = "using System;\nusing Kernels;\nnamespace Demo;\n";

    private static Diagnostic Single(GeneratorRun run, string id)
    {
        Assert.That(run.Exception, Is.Null, "the generator threw");
        var found = run.Diagnostics.Where(d => d.Id == id).ToList();
        Assert.That(found, Has.Count.EqualTo(1), $"expected one {id}; got: {string.Join("; ", run.Diagnostics)}");
        return found[0];
    }

    private static string LocatedText(GeneratorRun run, Diagnostic diagnostic)
    {
        var lineSpan = diagnostic.Location.GetLineSpan();
        var tree = run.Input.SyntaxTrees.Single(t => t.FilePath == lineSpan.Path);
        return tree.GetText().ToString(diagnostic.Location.SourceSpan);
    }

    [Test]
    public void ValidDeclarationsReportNothingAndCompile()
    {
        var run = SamplerHarness.Run(Usings + """
            [SamplerKernel] public static partial class A;
            [SamplerKernel(SamplerKind.Categorical, Temperature = TemperatureMode.PerRow, PerRowKeys = true, LogProbabilities = true)] public static partial class B;
            [SamplerKernel(SamplerKind.GumbelTopK, Temperature = TemperatureMode.Scalar, Transform = nameof(F))] public static partial class C { static float F(float x, int c) => c == 0 ? x - 5f : Math.Max(x, -30f); }
            [SamplerKernel(SamplerKind.GumbelSoftmax, Mode = GumbelSoftmaxMode.StraightThrough, PerRowKeys = true)] public static partial class D;
            public static partial class Outer { [SamplerKernel(SamplerKind.GumbelSoftmax, Temperature = TemperatureMode.PerRow)] public static partial class E; }
            [SamplerKernel(SamplerKind.Decode, Temperature = TemperatureMode.PerRow, PerRowKeys = true, TopK = true, TopP = true, MinP = true)] public static partial class F;
            [SamplerKernel(SamplerKind.Decode, TopP = true, Transform = nameof(G))] public static partial class H { static float G(float x, int c) => c < 2 ? x - 1f : x; }
            [SamplerKernel(SamplerKind.TopK, Transform = nameof(G))] public static partial class I { static float G(float x) => -x; }
            [SamplerKernel(SamplerKind.TopH, Temperature = TemperatureMode.PerRow, PerRowKeys = true)] public static partial class J;
            [SamplerKernel(SamplerKind.Mirostat, Temperature = TemperatureMode.Scalar, Transform = nameof(G))] public static partial class K { static float G(float x) => Math.Min(x, 30f); }
            """);
        Assert.That(run.Exception, Is.Null);
        Assert.That(run.Diagnostics, Is.Empty, () => string.Join("; ", run.Diagnostics));
        Assert.That(run.Result.GeneratedTrees, Has.Length.EqualTo(10));
        Assert.That(run.OutputErrors, Is.Empty, () => string.Join("\n", run.OutputErrors));
        Assert.That(run.GeneratedTreeProblems, Is.Empty, () => string.Join("\n", run.GeneratedTreeProblems));
    }

    [Test]
    public void KRN1101_LogProbabilitiesOnAGumbelSampler()
    {
        var run = SamplerHarness.Run(Usings + "[SamplerKernel(SamplerKind.GumbelTopK, LogProbabilities = true)] public static partial class Draft;");
        var d = Single(run, "KRN1101");
        Assert.That(d.Severity, Is.EqualTo(DiagnosticSeverity.Error));
        Assert.That(LocatedText(run, d), Does.StartWith("SamplerKernel("));
        Assert.That(d.GetMessage(), Does.Contain("LogProbabilities").And.Contain("Categorical").And.Contain("'Draft'").And.Contain("GumbelTopK"));
        Assert.That(d.Descriptor.HelpLinkUri, Is.EqualTo("docs/diagnostics/KRN1101.md"));
        Assert.That(run.Result.GeneratedTrees, Is.Empty, "a declaration in error is not emitted");
    }

    [Test]
    public void KRN1101_ModeOnACategoricalSampler()
    {
        var run = SamplerHarness.Run(Usings + "[SamplerKernel(Mode = GumbelSoftmaxMode.Hard)] public static partial class Tokens;");
        var d = Single(run, "KRN1101");
        Assert.That(d.GetMessage(), Does.Contain("Mode").And.Contain("GumbelSoftmax").And.Contain("Categorical"));
        Assert.That(run.Result.GeneratedTrees, Is.Empty);
    }

    [Test]
    public void KRN1101_TruncationStagesOnlyOnDecodeSamplersAndNoRandomnessOnTopK()
    {
        var stages = SamplerHarness.Run(Usings + "[SamplerKernel(SamplerKind.Categorical, TopP = true)] public static partial class Tokens;");
        Assert.That(Single(stages, "KRN1101").GetMessage(), Does.Contain("TopP").And.Contain("Decode").And.Contain("Categorical"));
        var selection = SamplerHarness.Run(Usings + "[SamplerKernel(SamplerKind.TopK, Temperature = TemperatureMode.Scalar)] public static partial class Best;");
        Assert.That(Single(selection, "KRN1101").GetMessage(), Does.Contain("Temperature").And.Contain("randomised").And.Contain("TopK"));
        var tempered = SamplerHarness.Run(Usings + "[SamplerKernel(SamplerKind.Decode, Probabilities = true, Temperature = TemperatureMode.PerRow)] public static partial class FromProbabilities;");
        Assert.That(Single(tempered, "KRN1101").GetMessage(), Does.Contain("Temperature").And.Contain("logit").And.Contain("probability"));
        Assert.That(stages.Result.GeneratedTrees, Is.Empty);
        Assert.That(selection.Result.GeneratedTrees, Is.Empty);
        Assert.That(tempered.Result.GeneratedTrees, Is.Empty);
    }

    [Test]
    public void KRN1101_OutputOnlyOnTruncationAndNoKeysOnTruncation()
    {
        var output = SamplerHarness.Run(Usings + "[SamplerKernel(SamplerKind.Decode, TopP = true, Output = TruncationOutput.Masked)] public static partial class Tokens;");
        Assert.That(Single(output, "KRN1101").GetMessage(), Does.Contain("Output").And.Contain("Truncate").And.Contain("Decode"));
        var keys = SamplerHarness.Run(Usings + "[SamplerKernel(SamplerKind.Truncate, TopP = true, PerRowKeys = true)] public static partial class Renormalise;");
        var mode = SamplerHarness.Run(Usings + "[SamplerKernel(SamplerKind.Mirostat, TopHMode = TopHMode.Normalized)] public static partial class Adaptive;");
        Assert.That(Single(mode, "KRN1101").GetMessage(), Does.Contain("TopHMode").And.Contain("TopH").And.Contain("Mirostat"));
        Assert.That(Single(keys, "KRN1101").GetMessage(), Does.Contain("PerRowKeys").And.Contain("randomised").And.Contain("Truncate"));
        Assert.That(output.Result.GeneratedTrees, Is.Empty);
        Assert.That(keys.Result.GeneratedTrees, Is.Empty);
    }

    [Test]
    public void KRN1103_AContextTransformOnlyWhereTheKernelPassesAContext()
    {
        const string penalise = "static float P(float x, int c, float count, float theta) => count > 0f ? x / theta : x;";
        var categorical = SamplerHarness.Run(Usings + "[SamplerKernel(Transform = nameof(P))] public static partial class A { " + penalise + " }");
        var d = Single(categorical, "KRN1103");
        Assert.That(d.GetMessage(), Does.Contain("'P'").And.Contain("a Categorical sampler"));
        Assert.That(d.Descriptor.HelpLinkUri, Is.EqualTo("docs/diagnostics/KRN1103.md"));
        var softmax = GeneratorHarness.Run(Usings + "[SoftmaxKernel(Transform = nameof(P))] public static partial class B { " + penalise + " }");
        Assert.That(softmax.Diagnostics.Single(x => x.Id == "KRN1103").GetMessage(), Does.Contain("a softmax kernel"));
        var decode = SamplerHarness.Run(Usings + "[SamplerKernel(SamplerKind.Decode, TopP = true, Transform = nameof(P))] public static partial class C { " + penalise + " }");
        Assert.That(decode.Diagnostics, Is.Empty, () => string.Join("; ", decode.Diagnostics));
        Assert.That(decode.OutputErrors, Is.Empty, () => string.Join("\n", decode.OutputErrors));
        var text = decode.Result.GeneratedTrees.Single().ToString();
        Assert.That(text, Does.Contain("global::Kernels.Runtime.KernelBuffer<float> context, global::Kernels.Runtime.KernelBuffer<float> parameters"));
        Assert.That(text, Does.Contain("C.P(x, column, context, parameter)"));
        Assert.That(text, Does.Not.Contain("GetElement"), "the context form is vectorised");
        Assert.That(categorical.Result.GeneratedTrees, Is.Empty);
    }

    [Test]
    public void KRN1101_DecodeStagesAndCategoricalOptionsDoNotApplyToTopHOrMirostat()
    {
        var topH = SamplerHarness.Run(Usings + "[SamplerKernel(SamplerKind.TopH, TopK = true)] public static partial class Entropic;");
        Assert.That(Single(topH, "KRN1101").GetMessage(), Does.Contain("TopK").And.Contain("Decode").And.Contain("TopH"));
        var mirostat = SamplerHarness.Run(Usings + "[SamplerKernel(SamplerKind.Mirostat, LogProbabilities = true)] public static partial class Adaptive;");
        Assert.That(Single(mirostat, "KRN1101").GetMessage(), Does.Contain("LogProbabilities").And.Contain("Categorical").And.Contain("Mirostat"));
        Assert.That(topH.Result.GeneratedTrees, Is.Empty);
        Assert.That(mirostat.Result.GeneratedTrees, Is.Empty);
    }

    [Test]
    public void TopHAndMirostatHaveTheirEntryPointsAndTypedLaunchers()
    {
        var run = SamplerHarness.Run("""
            using Kernels;
            namespace Demo;

            [SamplerKernel(SamplerKind.TopH, Temperature = TemperatureMode.PerRow, PerRowKeys = true)]
            public static partial class Entropic;

            [SamplerKernel(SamplerKind.Mirostat, Temperature = TemperatureMode.Scalar)]
            public static partial class Adaptive;
            """);
        Assert.That(run.Diagnostics, Is.Empty, () => string.Join("; ", run.Diagnostics));
        Assert.That(run.OutputErrors, Is.Empty, () => string.Join("\n", run.OutputErrors));
        string Source(string name) => run.Result.GeneratedTrees.Single(t => Path.GetFileName(t.FilePath) == $"Demo.{name}.Sampler.g.cs").ToString();

        var topH = Source("Entropic");
        Assert.That(topH, Does.Contain("global::Kernels.AdaptiveDevice.TopH<GeneratedTransform>(logits, temperatures, keys, alpha, tau, eta, mu, tokens, status, kept, args)"));
        Assert.That(topH, Does.Contain("global::Kernels.SamplerKind.TopH, global::Kernels.TemperatureMode.PerRow, true, IlgpuKernel, CpuKernel"));
        Assert.That(topH, Does.Contain("int rows, int cols, global::Kernels.Runtime.KernelBuffer<float> temperatures, global::Kernels.Runtime.KernelBuffer<float> alpha, global::Kernels.Runtime.KernelBuffer<global::Kernels.RngKey> keys, ulong offset, int topN = global::Kernels.AdaptiveRules.DefaultTopN, global::Kernels.Runtime.KernelBuffer<int>? status = null, global::Kernels.Runtime.KernelBuffer<int>? kept = null)"));
        Assert.That(topH, Does.Contain("Kernel.Launch(runtime, logits, tokens, rows, cols, 1f, temperatures, alpha, null, null, null, default, keys, offset, topN, status, kept)"));

        var mirostat = Source("Adaptive");
        Assert.That(mirostat, Does.Contain("global::Kernels.AdaptiveCpu.Rows<GeneratedTransform>(logits, temperatures, keys, alpha, tau, eta, mu, tokens, status, kept, args)"));
        Assert.That(mirostat, Does.Contain("int rows, int cols, float temperature, global::System.ReadOnlySpan<float> tau, global::System.ReadOnlySpan<float> eta, global::System.Span<float> mu, global::Kernels.RngKey key, ulong offset, global::System.Span<int> status = default, global::System.Span<int> kept = default)"));
        Assert.That(mirostat, Does.Contain("Kernel.Run(runtime, logits, tokens, rows, cols, temperature, default, default, tau, eta, mu, key, default, offset, global::Kernels.AdaptiveRules.DefaultTopN, status, kept)"));
    }

    [Test]
    public void KRN1102_TranscendentalTransformIsReportedButGenerated()
    {
        var run = SamplerHarness.Run(Usings + "[SamplerKernel(Transform = nameof(Cap))] public static partial class Capped { static float Cap(float x) => 30f * MathF.Tanh(x / 30f); }");
        var d = Single(run, "KRN1102");
        Assert.That(d.Severity, Is.EqualTo(DiagnosticSeverity.Info));
        Assert.That(LocatedText(run, d), Is.EqualTo("Cap"));
        Assert.That(d.GetMessage(), Does.Contain("MathF.Tanh"));
        Assert.That(run.Result.GeneratedTrees, Has.Length.EqualTo(1));
        Assert.That(run.OutputErrors, Is.Empty);
    }

    [Test]
    public void ExactMathInATransformIsNotReported()
    {
        var run = SamplerHarness.Run(Usings + "[SamplerKernel(Transform = nameof(F))] public static partial class A { static float F(float x, int c) => Math.Min(MathF.Abs(x), 20f) + Math.Max(c * 0.5f, 1f); }");
        Assert.That(run.Diagnostics, Is.Empty, () => string.Join("; ", run.Diagnostics));
    }

    [Test]
    public void SharedDiagnosticsApplyToSamplers()
    {
        var notFound = SamplerHarness.Run(Usings + "[SamplerKernel(Transform = \"Missing\")] public static partial class A;");
        Assert.That(Single(notFound, "KRN1001").GetMessage(), Does.Contain("Missing"));
        var signature = SamplerHarness.Run(Usings + "[SamplerKernel(Transform = nameof(F))] public static partial class A { static double F(double x) => x; }");
        Single(signature, "KRN1002");
        var invalid = SamplerHarness.Run(Usings + "[SamplerKernel((SamplerKind)99)] public static partial class A;");
        Assert.That(Single(invalid, "KRN1004").GetMessage(), Does.Contain("Kind"));
        var shape = SamplerHarness.Run(Usings + "[SamplerKernel] public partial class A;");
        Assert.That(Single(shape, "KRN0001").GetMessage(), Does.Contain("[SamplerKernel]"));
        var scalar = SamplerHarness.Run(Usings + "[SamplerKernel(Transform = nameof(F))] public static partial class A { static float F(float x) { if (x > 0f) return x; return 0f; } }");
        Single(scalar, "KRN1005");
        foreach (var run in new[] { notFound, signature, invalid, shape })
            Assert.That(run.Result.GeneratedTrees, Is.Empty);
    }

    private static readonly string[][] BrokenSources =
    {
        new[] { Usings + "[SamplerKernel(Temperature = )] public static partial class A { static float F(float x) => x +; }" },
        new[] { Usings + "[SamplerKernel(] public static partial class A;" },
        new[] { Usings + "[SamplerKernel(Transform = null)] public static partial class A;" },
        new[] { Usings + "[SamplerKernel(Kind = SamplerKind.GumbelTopK)] public static partial class A;" },
        new[] { Usings + "[SamplerKernel(SamplerKind.Bogus, Mode = 9)] public static partial class A;" },
        new[] { Usings + "[SamplerKernel(\"text\", PerRowKeys = 1)] public static partial class A;" },
        new[] { Usings + "[SamplerKernel] public static partial class" },
        new[] { Usings + "[SamplerKernel(Transform = \"F\")] public static partial class A { static float F(float x) => ; }" },
        new[] { Usings + "[SamplerKernel, SamplerKernel] public static partial class A;" },
        new[] { Usings + "[SamplerKernel] public static partial class A;", Usings + "[SamplerKernel] public static partial class A;" },
        new[] { Usings + "public static partial class O<T> { [SamplerKernel] public static partial class A; }" },
        new[] { "[Kernels.SamplerKernel(Kernels.SamplerKind.GumbelSoftmax)] static partial class Global { }" },
    };

    [TestCaseSource(nameof(BrokenSources))]
    public void NeverThrows(string[] sources)
    {
        var run = SamplerHarness.Run(sources);
        Assert.That(run.Result.Results[0].Exception, Is.Null, () => run.Result.Results[0].Exception!.ToString());
        Assert.That(run.Diagnostics.Select(d => d.Id), Has.No.Member("KRN9001"), () => string.Join("; ", run.Diagnostics));
        Assert.That(run.GeneratedTreeProblems.Where(d => d.Severity == DiagnosticSeverity.Error), Is.Empty, () => string.Join("\n", run.GeneratedTreeProblems));
    }
}

/// <summary>The text the sampler generator emits, and its incremental caching.</summary>
[TestFixture]
public sealed class SamplerGeneratedSourceTests
{
    private const string Source = """
        using System;
        using Kernels;
        namespace Demo;

        [SamplerKernel(SamplerKind.Categorical, Temperature = TemperatureMode.PerRow, PerRowKeys = true, LogProbabilities = true, Transform = nameof(Penalty))]
        public static partial class Tokens
        {
            static float Penalty(float x, int column) => column == 0 ? x - 1f : x;
        }

        [SamplerKernel(SamplerKind.GumbelTopK, Temperature = TemperatureMode.Scalar)]
        public static partial class Drafts;

        [SamplerKernel(SamplerKind.GumbelSoftmax, Mode = GumbelSoftmaxMode.StraightThrough)]
        public static partial class Masks;

        [SamplerKernel(SamplerKind.Decode, Temperature = TemperatureMode.Scalar, TopK = true, MinP = true)]
        public static partial class Decode;

        [SamplerKernel(SamplerKind.TopK)]
        public static partial class Best;
        """;

    private static string Generated(GeneratorRun run, string name) =>
        run.Result.GeneratedTrees.Single(t => Path.GetFileName(t.FilePath) == $"Demo.{name}.Sampler.g.cs").ToString();

    [Test]
    public void TruncationKernelsHaveTheirEntryPointsAndKeylessLaunchers()
    {
        var run = SamplerHarness.Run("""
            using Kernels;
            namespace Demo;

            [SamplerKernel(SamplerKind.Truncate, Temperature = TemperatureMode.Scalar, TopK = true, TopP = true, Transform = nameof(Cap))]
            public static partial class Renormalised { static float Cap(float x) => System.Math.Min(x, 30f); }

            [SamplerKernel(SamplerKind.Truncate, Output = TruncationOutput.Masked, MinP = true)]
            public static partial class Masked;
            """);
        Assert.That(run.Diagnostics, Is.Empty, () => string.Join("; ", run.Diagnostics));
        Assert.That(run.OutputErrors, Is.Empty, () => string.Join("\n", run.OutputErrors));
        var renormalised = Generated(run, "Renormalised");
        Assert.That(renormalised, Does.Contain("global::Kernels.DecodeDevice.Truncate<GeneratedTransform>(logits, temperatures, keys, topK, topP, minP, context, parameters, output, status, args)"));
        Assert.That(renormalised, Does.Contain("global::Kernels.TruncateCpu.Rows<GeneratedTransform>("));
        Assert.That(renormalised, Does.Contain("public static void Launch(global::Kernels.Runtime.KernelRuntime runtime, global::Kernels.Runtime.KernelBuffer<float> logits, global::Kernels.Runtime.KernelBuffer<float> output, int rows, int cols, float temperature, global::Kernels.Runtime.KernelBuffer<int> topK, global::Kernels.Runtime.KernelBuffer<float> topP, global::Kernels.Runtime.KernelBuffer<int>? status = null)"));
        Assert.That(renormalised, Does.Not.Contain("RngKey key").And.Not.Contain("ulong offset"));
        Assert.That(Generated(run, "Masked"), Does.Contain("global::Kernels.TruncationOutput.Masked"));
    }

    [Test]
    public void EachKindHasItsEntryPointsAndTypedLaunchers()
    {
        var run = SamplerHarness.Run(Source);
        Assert.That(run.Diagnostics, Is.Empty, () => string.Join("; ", run.Diagnostics));
        Assert.That(run.OutputErrors, Is.Empty, () => string.Join("\n", run.OutputErrors));

        var tokens = Generated(run, "Tokens");
        Assert.That(tokens, Does.Contain("[global::Kernels.KernelEntryPoint]"));
        Assert.That(tokens, Does.Contain("global::Kernels.CategoricalDevice.Row<GeneratedTransform>(logits, temperatures, keys, uniforms, tokens, logProbs, args)"));
        Assert.That(tokens, Does.Contain("global::Kernels.CategoricalCpu.Rows<GeneratedTransform>("));
        Assert.That(tokens, Does.Contain("public float Apply(float x, int column) => Tokens.Penalty(x, column);"));
        Assert.That(tokens, Does.Contain("new global::Kernels.CategoricalSampler(\n").Or.Contain("new global::Kernels.CategoricalSampler("));
        Assert.That(tokens, Does.Contain("global::Kernels.TemperatureMode.PerRow, true, true, IlgpuKernel, CpuKernel"));
        Assert.That(tokens, Does.Contain("public static ulong Launch(global::Kernels.Runtime.KernelRuntime runtime, global::Kernels.Runtime.KernelBuffer<float> logits, global::Kernels.Runtime.KernelBuffer<int> tokens, int rows, int cols, global::Kernels.Runtime.KernelBuffer<float> temperatures, global::Kernels.Runtime.KernelBuffer<global::Kernels.RngKey> keys, ulong offset, global::Kernels.Runtime.KernelBuffer<float> logProbs, int samples = 1)"));
        Assert.That(tokens, Does.Contain("Kernel.Launch(runtime, logits, tokens, rows, cols, 1f, temperatures, default, keys, offset, logProbs, samples)"));
        Assert.That(tokens, Does.Contain("Kernel.Run(runtime, logits, tokens, rows, cols, 1f, temperatures, default, keys, offset, logProbs, samples)"));

        var drafts = Generated(run, "Drafts");
        Assert.That(drafts, Does.Contain("global::Kernels.GumbelTopKDevice.Row<GeneratedTransform>(logits, temperatures, keys, noise, indices, scores, args)"));
        Assert.That(drafts, Does.Contain("int rows, int cols, int k, float temperature, global::Kernels.RngKey key, ulong offset)"));
        Assert.That(drafts, Does.Contain("Kernel.Launch(runtime, logits, indices, scores, rows, cols, k, temperature, null, key, null, offset)"));

        var masks = Generated(run, "Masks");
        Assert.That(masks, Does.Contain("global::Kernels.GumbelSoftmaxMode.StraightThrough"));
        Assert.That(masks, Does.Contain("global::Kernels.Runtime.KernelBuffer<float> output, global::Kernels.Runtime.KernelBuffer<float> soft, int rows, int cols, global::Kernels.RngKey key, ulong offset, float scale = 1f)"));
        Assert.That(masks, Does.Contain("Kernel.Launch(runtime, logits, output, soft, rows, cols, 1f, null, key, null, offset, scale)"));

        // Only the declared stages become parameters; the others are passed as absent.
        var decode = Generated(run, "Decode");
        Assert.That(decode, Does.Contain("global::Kernels.DecodeDevice.Row<GeneratedTransform>(logits, temperatures, keys, topK, topP, minP, offsets, context, parameters, tokens, status, args)"));
        Assert.That(decode, Does.Contain("new global::Kernels.DecodeStages(global::Kernels.TemperatureMode.Scalar, true, false, true, false, false), false, false, IlgpuKernel, CpuKernel"));
        Assert.That(decode, Does.Contain("int rows, int cols, float temperature, global::Kernels.Runtime.KernelBuffer<int> topK, global::Kernels.Runtime.KernelBuffer<float> minP, global::Kernels.RngKey key, ulong offset, global::Kernels.Runtime.KernelBuffer<int>? status = null)"));
        Assert.That(decode, Does.Contain("Kernel.Launch(runtime, logits, tokens, rows, cols, temperature, null, topK, null, minP, key, null, offset, status)"));
        Assert.That(decode, Does.Contain("Kernel.Run(runtime, logits, tokens, rows, cols, temperature, default, topK, default, minP, key, default, offset, status)"));

        var best = Generated(run, "Best");
        Assert.That(best, Does.Contain("global::Kernels.TopKDevice.Row<GeneratedTransform>(logits, temperatures, keys, values, indices, args)"));
        Assert.That(best, Does.Contain("public static void Launch(global::Kernels.Runtime.KernelRuntime runtime, global::Kernels.Runtime.KernelBuffer<float> logits, global::Kernels.Runtime.KernelBuffer<float> values, global::Kernels.Runtime.KernelBuffer<int> indices, int rows, int cols, int k)"));
    }

    [Test]
    public void UnrelatedEditsReuseTheCachedModels()
    {
        var compilation = GeneratorHarness.Compilation(Source);
        var driver = SamplerHarness.Driver(trackSteps: true).RunGenerators(compilation);
        var edited = compilation.AddSyntaxTrees(GeneratorHarness.Parse("namespace Demo; public class Added { }", "Added.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();
        Assert.That(result.Exception, Is.Null);
        foreach (var step in new[] { TrackingNames.Parse, TrackingNames.Model })
        {
            var outputs = result.TrackedSteps[step].SelectMany(s => s.Outputs).ToList();
            Assert.That(outputs, Is.Not.Empty, step);
            Assert.That(outputs.Select(o => o.Reason), Has.All.AnyOf(IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged), step);
        }
        var emitted = result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).ToList();
        Assert.That(emitted.Select(o => o.Reason), Has.All.AnyOf(IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged));
    }

    [Test]
    public void ChangingAnOptionReEmitsThatDeclarationOnly()
    {
        var compilation = GeneratorHarness.Compilation(Source);
        var driver = SamplerHarness.Driver(trackSteps: true).RunGenerators(compilation);
        var tree = compilation.SyntaxTrees.Single();
        var changed = tree.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From(Source.Replace("Mode = GumbelSoftmaxMode.StraightThrough", "Mode = GumbelSoftmaxMode.Hard")));
        var result = driver.RunGenerators(compilation.ReplaceSyntaxTree(tree, changed)).GetRunResult().Results.Single();
        var models = result.TrackedSteps[TrackingNames.Model].SelectMany(s => s.Outputs).ToList();
        Assert.That(models.Count(o => o.Reason == IncrementalStepRunReason.Modified), Is.EqualTo(1), () => string.Join("; ", models.Select(o => o.Reason)));
        Assert.That(result.GeneratedSources.Single(s => s.HintName == "Demo.Masks.Sampler.g.cs").SourceText.ToString(), Does.Contain("GumbelSoftmaxMode.Hard"));
    }
}

/// <summary>User-declared samplers compiled with the generator, loaded and run on the cpu and ilgpu-cpu backends.</summary>
[TestFixture]
[NonParallelizable]
public sealed class SamplerCompileAndRunTests
{
    private const string Source = """
        using System;
        using Kernels;
        namespace User;

        /// <summary>Bans the first columns (a penalty no draw can overcome) and clamps the rest.</summary>
        [SamplerKernel(SamplerKind.Categorical, Temperature = TemperatureMode.Scalar, LogProbabilities = true, Transform = nameof(Ban))]
        public static partial class Banned
        {
            public static float Ban(float x, int column) => column < 3 ? float.NegativeInfinity : (x > 8f ? 8f : x);
        }

        [SamplerKernel(SamplerKind.GumbelTopK, Temperature = TemperatureMode.PerRow, PerRowKeys = true, Transform = nameof(Shift))]
        public static partial class Drafts
        {
            static float Shift(float x, int column) => column < 150 ? x + 0.5f : x;
        }

        [SamplerKernel(SamplerKind.GumbelSoftmax, Temperature = TemperatureMode.Scalar, Transform = nameof(Half))]
        public static partial class Relaxed
        {
            static float Half(float x) => 0.5f * x;
        }
        """;

    private Assembly _assembly = null!;
    private readonly Dictionary<Backend, KernelRuntime> _runtimes = new();

    [OneTimeSetUp]
    public void CompileAndLoad()
    {
        var run = SamplerHarness.Run(Source);
        Assert.That(run.Exception, Is.Null);
        Assert.That(run.Diagnostics, Is.Empty, () => string.Join("\n", run.Diagnostics));
        using var image = new MemoryStream();
        var emitted = run.Output.Emit(image);
        Assert.That(emitted.Success, () => string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        _assembly = Assembly.Load(image.ToArray());
        _runtimes[Backend.Cpu] = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        _runtimes[Backend.IlgpuCpu] = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.IlgpuCpu });
    }

    [OneTimeTearDown]
    public void DisposeRuntimes()
    {
        foreach (var runtime in _runtimes.Values)
            runtime.Dispose();
    }

    private MethodInfo Run(string kernel) => _assembly.GetType("User." + kernel, throwOnError: true)!.GetMethod("Run", BindingFlags.Public | BindingFlags.Static)!;

    private static float[] Logits(int count, int seed)
    {
        var random = new System.Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 12 - 6)).ToArray();
    }

    private delegate ulong RunCategorical(KernelRuntime runtime, ReadOnlySpan<float> logits, Span<int> tokens, int rows, int cols, float temperature, RngKey key, ulong offset, Span<float> logProbs, int samples);

    [Test]
    public void CategoricalWithAFusedTransformDrawsTheSameTokensOnBothBackends()
    {
        const int rows = 6, cols = 517, samples = 4;
        var x = Logits(rows * cols, seed: 1);
        var results = new Dictionary<Backend, (int[] Tokens, float[] LogProbs)>();
        foreach (var (backend, runtime) in _runtimes)
        {
            var run = Run("Banned").CreateDelegate<RunCategorical>();
            var tokens = new int[rows * samples];
            var logProbs = new float[rows * samples];
            Assert.That(run(runtime, x, tokens, rows, cols, 0.7f, new RngKey(5), 9, logProbs, samples), Is.EqualTo(10UL));
            Assert.That(tokens, Is.All.InRange(3, cols - 1), $"{backend}: banned columns are never drawn");
            results[backend] = (tokens, logProbs);
        }
        Assert.That(results[Backend.IlgpuCpu].Tokens, Is.EqualTo(results[Backend.Cpu].Tokens));
        // The reference: inverse-CDF of softmax(Ban(x)/T) at the keyed uniforms.
        for (int r = 0; r < rows; r++)
        {
            var z = Enumerable.Range(0, cols).Select(c => c < 3 ? double.NegativeInfinity : Math.Min(x[r * cols + c], 8.0) / 0.7).ToArray();
            double max = z.Max(), sum = z.Sum(v => Math.Exp(v - max));
            for (int s = 0; s < samples; s++)
            {
                double u = Variates.Uniform(Rng.Block(Rng.RowKey(new RngKey(5), r), (uint)s, 9).Low64), c = 0;
                int expected = -1;
                for (int i = 0; i < cols && expected < 0; i++)
                {
                    c += Math.Exp(z[i] - max) / sum;
                    if (c > u) expected = i;
                }
                int token = results[Backend.Cpu].Tokens[r * samples + s];
                Assert.That(token, Is.EqualTo(expected), $"row {r} draw {s}");
                Assert.That(results[Backend.Cpu].LogProbs[r * samples + s], Is.EqualTo(z[token] - max - Math.Log(sum)).Within(1e-5));
            }
        }
    }

    private delegate ulong RunTopK(KernelRuntime runtime, ReadOnlySpan<float> logits, Span<int> indices, Span<float> scores, int rows, int cols, int k, ReadOnlySpan<float> temperatures, ReadOnlySpan<RngKey> keys, ulong offset);

    [Test]
    public void GumbelTopKWithPerRowTemperaturesAndKeysAgreesAcrossBackends()
    {
        const int rows = 4, cols = 300, k = 6;
        var x = Logits(rows * cols, seed: 2);
        var temperatures = new[] { 0.5f, 1f, 2f, 0f };
        var keys = Enumerable.Range(0, rows).Select(r => new RngKey(77, (uint)(10 * r))).ToArray();
        var outputs = new List<int[]>();
        foreach (var runtime in _runtimes.Values)
        {
            var run = Run("Drafts").CreateDelegate<RunTopK>();
            var indices = new int[rows * k];
            var scores = new float[rows * k];
            run(runtime, x, indices, scores, rows, cols, k, temperatures, keys, 0);
            for (int r = 0; r < rows - 1; r++)
            {
                Assert.That(indices.Skip(r * k).Take(k).Distinct().Count(), Is.EqualTo(k));
                Assert.That(scores.Skip(r * k).Take(k), Is.Ordered.Descending);
            }
            Assert.That(indices.Skip((rows - 1) * k), Is.All.EqualTo(-1), "temperature 0 invalidates its row");
            outputs.Add(indices);
        }
        Assert.That(outputs[1], Is.EqualTo(outputs[0]));
    }

    private delegate ulong RunRelaxed(KernelRuntime runtime, ReadOnlySpan<float> logits, Span<float> output, int rows, int cols, float tau, RngKey key, ulong offset, float scale);

    [Test]
    public void GumbelSoftmaxWithATransformSumsToOneOnBothBackends()
    {
        const int rows = 3, cols = 40;
        var x = Logits(rows * cols, seed: 3);
        var outputs = new List<float[]>();
        foreach (var runtime in _runtimes.Values)
        {
            var output = new float[rows * cols];
            Run("Relaxed").CreateDelegate<RunRelaxed>()(runtime, x, output, rows, cols, 0.5f, new RngKey(4), 1, 2f);
            for (int r = 0; r < rows; r++)
                Assert.That(output.Skip(r * cols).Take(cols).Sum(), Is.EqualTo(1f).Within(1e-5f));
            outputs.Add(output);
        }
        for (int i = 0; i < outputs[0].Length; i++)
            Assert.That(outputs[1][i], Is.EqualTo(outputs[0][i]).Within(1e-5f * Math.Max(1e-3f, outputs[0][i])));
    }
}
