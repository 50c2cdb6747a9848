using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using NUnit.Framework;

namespace Kernels.Generators.Tests;

/// <summary>The pipeline caches: untouched declarations are not re-emitted, changed attributes are.</summary>
[TestFixture]
public sealed class IncrementalityTests
{
    private const string Declaration = """
        using System;
        using Kernels;
        namespace Demo;

        [SoftmaxKernel(Temperature = TemperatureMode.Scalar, Transform = nameof(SoftCap))]
        public static partial class Capped
        {
            static float SoftCap(float x) => 30f * MathF.Tanh(x / 30f);
        }
        """;

    private const string SecondDeclaration = """
        using Kernels;
        namespace Demo;

        [SoftmaxKernel(SoftmaxOutput.LogProbabilities, Mask = true)]
        public static partial class Masked;
        """;

    private const string Unrelated = """
        namespace Demo;
        public static class Helpers
        {
            public static int Twice(int x) => 2 * x;
        }
        """;

    private static readonly IncrementalStepRunReason[] Reused = { IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged };

    private static (GeneratorDriver Driver, Compilation Compilation) FirstRun()
    {
        var compilation = GeneratorHarness.Compilation(Declaration, SecondDeclaration, Unrelated);
        var driver = GeneratorHarness.Driver(trackSteps: true).RunGenerators(compilation);
        var result = driver.GetRunResult().Results.Single();
        Assert.That(result.Exception, Is.Null);
        Assert.That(result.GeneratedSources, Has.Length.EqualTo(2));
        return (driver, compilation);
    }

    private static GeneratorRunResult Rerun(GeneratorDriver driver, Compilation compilation)
    {
        var result = driver.RunGenerators(compilation).GetRunResult().Results.Single();
        Assert.That(result.Exception, Is.Null);
        return result;
    }

    private static IEnumerable<(object Value, IncrementalStepRunReason Reason)> Outputs(GeneratorRunResult result, string step)
    {
        Assert.That(result.TrackedSteps.ContainsKey(step), $"no tracked step '{step}'; have: {string.Join(", ", result.TrackedSteps.Keys)}");
        return result.TrackedSteps[step].SelectMany(s => s.Outputs);
    }

    private static string Describe(GeneratorRunResult result, string step) =>
        string.Join("; ", result.TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => $"{o.Reason}: {o.Value}"));

    private static void AssertAllReused(GeneratorRunResult result)
    {
        foreach (var step in new[] { TrackingNames.Parse, TrackingNames.Model })
        {
            var outputs = Outputs(result, step).ToList();
            Assert.That(outputs, Is.Not.Empty, step);
            Assert.That(outputs.Select(o => o.Reason), Has.All.AnyOf(IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged), () => step + ": " + Describe(result, step));
        }
        // Nothing is emitted again.
        var emitted = result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).ToList();
        Assert.That(emitted.Select(o => o.Reason), Has.All.AnyOf(IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged));
    }

    [Test]
    public void AddingAnUnrelatedFileReusesEverything()
    {
        var (driver, compilation) = FirstRun();
        var result = Rerun(driver, compilation.AddSyntaxTrees(GeneratorHarness.Parse("namespace Demo; public class Added { }", "Added.cs")));
        AssertAllReused(result);
    }

    [Test]
    public void EditingAnUnrelatedFileReusesEverything()
    {
        var (driver, compilation) = FirstRun();
        var old = compilation.SyntaxTrees.Single(t => t.FilePath == "Test2.cs");
        var edited = GeneratorHarness.Parse(Unrelated.Replace("2 * x", "3 * x", StringComparison.Ordinal), "Test2.cs");
        var result = Rerun(driver, compilation.ReplaceSyntaxTree(old, edited));
        AssertAllReused(result);
    }

    [Test]
    public void EditingTheDeclarationFileElsewhereKeepsTheModel()
    {
        var (driver, compilation) = FirstRun();
        var old = compilation.SyntaxTrees.Single(t => t.FilePath == "Test0.cs");
        var edited = GeneratorHarness.Parse(
            Declaration.Replace("namespace Demo;", "namespace Demo;\n// a comment that moves every span\ninternal static class Nearby { }", StringComparison.Ordinal),
            "Test0.cs");
        var result = Rerun(driver, compilation.ReplaceSyntaxTree(old, edited));
        AssertAllReused(result);
    }

    [Test]
    public void ChangingTheAttributeModifiesOnlyThatDeclaration()
    {
        var (driver, compilation) = FirstRun();
        var old = compilation.SyntaxTrees.Single(t => t.FilePath == "Test0.cs");
        var edited = GeneratorHarness.Parse(
            Declaration.Replace("TemperatureMode.Scalar", "TemperatureMode.PerRow", StringComparison.Ordinal), "Test0.cs");
        var result = Rerun(driver, compilation.ReplaceSyntaxTree(old, edited));

        var parse = Outputs(result, TrackingNames.Parse).ToList();
        Assert.That(parse.Count(o => o.Reason == IncrementalStepRunReason.Modified), Is.EqualTo(1), () => Describe(result, TrackingNames.Parse));
        Assert.That(parse.Count(o => Reused.Contains(o.Reason)), Is.EqualTo(1), () => Describe(result, TrackingNames.Parse));

        var model = Outputs(result, TrackingNames.Model).ToList();
        Assert.That(model.Where(o => o.Reason == IncrementalStepRunReason.Modified).Select(o => o.Value.ToString()),
            Has.Exactly(1).Contains("PerRow"), () => Describe(result, TrackingNames.Model));
        Assert.That(model.Count(o => Reused.Contains(o.Reason)), Is.EqualTo(1), () => Describe(result, TrackingNames.Model));

        var emitted = result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).ToList();
        Assert.That(emitted.Select(o => o.Reason), Has.Member(IncrementalStepRunReason.Modified));

        var source = result.GeneratedSources.Single(s => s.HintName == "Demo.Capped.Softmax.g.cs").SourceText.ToString();
        Assert.That(source, Does.Contain("global::Kernels.TemperatureMode.PerRow"));
        Assert.That(source, Does.Contain("temperatures"));
    }

    [Test]
    public void ChangingTheTransformBodyModifiesTheModel()
    {
        var (driver, compilation) = FirstRun();
        var old = compilation.SyntaxTrees.Single(t => t.FilePath == "Test0.cs");
        var edited = GeneratorHarness.Parse(Declaration.Replace("30f * MathF.Tanh(x / 30f)", "20f * MathF.Tanh(x / 20f)", StringComparison.Ordinal), "Test0.cs");
        var result = Rerun(driver, compilation.ReplaceSyntaxTree(old, edited));
        Assert.That(Outputs(result, TrackingNames.Model).Select(o => o.Reason), Has.Member(IncrementalStepRunReason.Modified));
        var source = result.GeneratedSources.Single(s => s.HintName == "Demo.Capped.Softmax.g.cs").SourceText.ToString();
        Assert.That(source, Does.Contain("Vector256.Create(20f)"));
    }

    [Test]
    public void ModelsHoldNoSymbolsOrSyntax()
    {
        var (driver, _) = FirstRun();
        var result = driver.GetRunResult().Results.Single();
        foreach (var step in new[] { TrackingNames.Parse, TrackingNames.Diagnostics, TrackingNames.Model })
        {
            if (!result.TrackedSteps.TryGetValue(step, out var steps))
                continue;
            foreach (var output in steps.SelectMany(s => s.Outputs))
                AssertPlainData(output.Value, step, new HashSet<object>(ReferenceEqualityComparer.Instance));
        }
    }

    /// <summary>Walks an object graph and fails on anything that would pin a compilation in the cache.</summary>
    private static void AssertPlainData(object? value, string path, HashSet<object> seen)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum)
            return;
        Assert.That(value, Is.Not.InstanceOf<ISymbol>().And.Not.InstanceOf<Compilation>().And.Not.InstanceOf<SyntaxNode>()
            .And.Not.InstanceOf<SemanticModel>().And.Not.InstanceOf<Location>().And.Not.InstanceOf<SyntaxTree>(), path);
        if (!value.GetType().IsValueType && !seen.Add(value))
            return;
        if (value is IEnumerable sequence)
        {
            int i = 0;
            foreach (var item in sequence)
                AssertPlainData(item, $"{path}[{i++}]", seen);
        }
        for (var type = value.GetType(); type is not null && type != typeof(object); type = type.BaseType)
        {
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (field.FieldType.IsPointer)
                    continue;
                AssertPlainData(field.GetValue(value), path + "." + field.Name, seen);
            }
        }
    }
}
