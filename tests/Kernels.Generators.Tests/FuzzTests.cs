using System;
using System.Diagnostics;
using System.Linq;
using System.Text;
using NUnit.Framework;

namespace Kernels.Generators.Tests;

/// <summary>
/// A fuzzed corpus of declarations for every generator (softmax, sampler, sparse-product, speculative and attention families) — random attribute arguments (right, wrong and ill-typed), random modifiers and
/// nesting, transforms that exist or not with random signatures and bodies, and random truncation (code mid-edit) —
/// must only ever produce diagnostics: no generator exception, no KRN9001, and a bounded time per input.
/// </summary>
public sealed class FuzzTests
{
    private const int Cases = 400;
    private static readonly TimeSpan PerCaseLimit = TimeSpan.FromSeconds(5);

    private static readonly string[] Outputs = { "", "SoftmaxOutput.Probabilities", "SoftmaxOutput.LogSumExp", "(SoftmaxOutput)9", "1", "\"x\"", "null", "SoftmaxOutput.", "Output" };
    private static readonly string[] Named =
    {
        "Temperature = TemperatureMode.Scalar", "Temperature = TemperatureMode.PerRow", "Temperature = (TemperatureMode)(-1)",
        "Temperature = 3", "Temperature = ", "Activation = SoftmaxActivation.StableMax", "Activation = (SoftmaxActivation)5",
        "Mask = true", "Mask = 1", "Mask = \"yes\"", "Transform = nameof(F)", "Transform = \"F\"", "Transform = \"Missing\"",
        "Transform = null", "Transform = nameof(Helper)", "Transform = 42", "Bogus = 1", "Transform = nameof(P)",
    };
    private static readonly string[] SamplerArguments =
    {
        "SamplerKind.Categorical", "SamplerKind.GumbelTopK", "SamplerKind.GumbelSoftmax", "(SamplerKind)99", "PerRowKeys = true",
        "PerRowKeys = 2", "LogProbabilities = true", "Mode = GumbelSoftmaxMode.Hard", "Mode = (GumbelSoftmaxMode)9",
        "Temperature = TemperatureMode.PerRow", "Transform = nameof(F)", "Transform = \"Nope\"", "Mode = ",
        "SamplerKind.Decode", "SamplerKind.TopK", "SamplerKind.TopH", "SamplerKind.Mirostat", "SamplerKind.Truncate", "Output = TruncationOutput.Masked", "TopHMode = TopHMode.Normalized", "TopK = true", "TopP = true", "MinP = true", "TopP = 1",
    };
    private static readonly string[] SparseArguments =
    {
        "2, 4", "1, 1", "4, 2", "0, 4", "2, 64", "\"2\", 4", "2", "2, 4, Epilogue = nameof(F)", "2, 8, Epilogue = \"Nope\"",
        "16, 32, Epilogue = null", "int.MaxValue, -1", "2, 4, Epilogue = nameof(Helper)", "3, 6, Bogus = 1",
    };
    private static readonly string[] SpeculativeArguments =
    {
        "SpeculativeKind.Chain", "SpeculativeKind.ExpectedAcceptance", "SpeculativeKind.RecursiveRejection", "SpeculativeKind.KSeq", "SpeculativeKind.Tree", "(SpeculativeKind)5", "PerRowKeys = true", "PerRowKeys = 1", "Kind = ", "Transform = nameof(F)",
        "Temperature = TemperatureMode.PerRow", "Temperature = (TemperatureMode)9", "TopK = true", "TopP = 1", "MinP = true", "Transform = \"Missing\"",
    };
    private static readonly string[] AttentionArguments =
    {
        "AttentionKind.Block", "AttentionKind.Decode", "AttentionKind.HyperAttention", "AttentionKind.Linear", "(AttentionKind)7", "HeadDim = 64", "HeadDim = 128", "HeadDim = 96", "HeadDim = -1",
        "HeadDim = 512", "GroupSize = 4", "GroupSize = -2", "ChunkKeys = 256", "ChunkKeys = 100", "ChunkKeys = 0", "Masks = AttentionMasks.Length",
        "Masks = AttentionMasks.Causal", "Masks = (AttentionMasks)12", "Sink = true", "Sink = 1", "HeadDim = ", "Kind = AttentionKind.Decode",
    };
    private static readonly string[] Modifiers = { "public static partial class", "static partial class", "public partial class", "public static class", "partial struct", "public static partial record", "internal static partial class" };
    private static readonly string[] Transforms =
    {
        "public static float F(float x) => 30f * MathF.Tanh(x / 30f);",
        "static float F(float x, int column) => column < 4 ? x - 1f : MathF.Max(x, -5f);",
        "static float F(float x) { var t = x * 0.5f; return t > 0 ? t : -t; }",
        "static float F(float x) { if (x > 0) return x; return 0f; }",
        "static double F(float x) => x;",
        "float F(float x) => x;",
        "static float F(ref float x) => x;",
        "static float F(float x, int c, int d) => x;",
        "static float F<T>(float x) => x;",
        "static float F(float x) => Helper(x);",
        "static float F(float x) => x % 3f;",
        "static float F(float x) => (int)x / 2;",
        "static float F(float x) =>",
        "",
    };

    [Test]
    public void RandomDeclarationsOnlyEverProduceDiagnostics()
    {
        var random = new System.Random(20261126);
        var slowest = TimeSpan.Zero;
        int withDiagnostics = 0;
        for (int i = 0; i < Cases; i++)
        {
            string source = Declaration(random);
            var watch = Stopwatch.StartNew();
            // On a worker task, so that a hang fails this test instead of stalling the whole run.
            var task = System.Threading.Tasks.Task.Run(() => GeneratorHarness.RunAll(source));
            Assert.That(task.Wait(PerCaseLimit * 4), $"case {i} did not finish:\n{source}");
            var run = task.Result;
            watch.Stop();
            slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;

            var failure = run.Result.Results.FirstOrDefault(r => r.Exception is not null).Exception;
            Assert.That(failure, Is.Null, $"generator threw on case {i}:\n{source}");
            Assert.That(run.Diagnostics.Select(d => d.Id), Has.None.EqualTo("KRN9001"), $"internal error on case {i}:\n{source}");
            Assert.That(run.GeneratorDiagnostics.Select(d => d.Id), Has.None.EqualTo("CS8784").And.None.EqualTo("CS8785"), $"case {i}:\n{source}");
            Assert.That(watch.Elapsed, Is.LessThan(PerCaseLimit), $"case {i} took {watch.Elapsed}:\n{source}");
            if (!run.Diagnostics.IsEmpty) withDiagnostics++;
        }
        TestContext.Out.WriteLine($"fuzzed {Cases} declarations: {withDiagnostics} reported KRN diagnostics, none threw; slowest {slowest.TotalMilliseconds:F0} ms");
    }

    private static string Declaration(System.Random random)
    {
        var args = Enumerable.Range(0, random.Next(0, 4)).Select(_ => Named[random.Next(Named.Length)]).ToList();
        string output = Outputs[random.Next(Outputs.Length)];
        if (output.Length > 0) args.Insert(0, output);
        var body = new StringBuilder();
        for (int k = random.Next(0, 3); k > 0; k--)
            body.AppendLine(Transforms[random.Next(Transforms.Length)]);
        if (random.Next(4) == 0) body.AppendLine("static float Helper(float x) => x; static float Helper(double x) => 0f;");
        if (random.Next(5) == 0) body.AppendLine("static float P => 1f;");
        // A fifth of the declarations go to each family's generator: softmax, sampler, sparse products, attention, speculative decoding.
        string attribute = random.Next(5) switch
        {
            0 => $"SoftmaxKernel({string.Join(", ", args)})",
            1 => $"SamplerKernel({string.Join(", ", Enumerable.Range(0, random.Next(0, 4)).Select(_ => SamplerArguments[random.Next(SamplerArguments.Length)]))})",
            2 => $"SparseMatMulKernel({SparseArguments[random.Next(SparseArguments.Length)]})",
            3 => $"AttentionKernel({string.Join(", ", Enumerable.Range(0, random.Next(0, 4)).Select(_ => AttentionArguments[random.Next(AttentionArguments.Length)]))})",
            _ => $"SpeculativeKernel({string.Join(", ", Enumerable.Range(0, random.Next(0, 3)).Select(_ => SpeculativeArguments[random.Next(SpeculativeArguments.Length)]))})",
        };
        string type = $"[{attribute}]\n{Modifiers[random.Next(Modifiers.Length)]} K{random.Next(1000)}\n{{\n{body}}}";
        if (random.Next(3) == 0)
            type = $"{(random.Next(2) == 0 ? "partial" : "")} class Outer{(random.Next(4) == 0 ? "<T>" : "")}\n{{\n{type}\n}}";
        string source = $"using System;\nusing Kernels;\nnamespace Fuzz{random.Next(3)};\n{type}\n";
        // Code mid-edit: cut the source at a random point a quarter of the time.
        return random.Next(4) == 0 ? source[..random.Next(source.Length / 2, source.Length)] : source;
    }
}
