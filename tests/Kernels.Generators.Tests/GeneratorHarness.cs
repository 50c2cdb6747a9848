using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Kernels.Generators.Tests;

/// <summary>Builds test compilations and runs <see cref="SoftmaxKernelGenerator"/> over them with <see cref="CSharpGeneratorDriver"/>.</summary>
internal static class GeneratorHarness
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    private static readonly Lazy<ImmutableArray<MetadataReference>> LazyReferences = new(BuildReferences);

    /// <summary>The framework's assemblies plus Kernels.dll, Kernels.Runtime.dll and ILGPU.dll.</summary>
    public static ImmutableArray<MetadataReference> References => LazyReferences.Value;

    private static ImmutableArray<MetadataReference> BuildReferences()
    {
        // Only the framework's own assemblies from the trusted platform list: the list also names this test's
        // dependencies, among them Kernels.Generators.dll, whose linked copies of the option enums would make
        // Kernels.SoftmaxOutput ambiguous in a test compilation.
        string frameworkDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p => string.Equals(Path.GetDirectoryName(p), frameworkDirectory, StringComparison.Ordinal))
            .ToList();
        paths.Add(typeof(Kernels.SoftmaxKernel).Assembly.Location);
        paths.Add(typeof(Kernels.Runtime.KernelRuntime).Assembly.Location);
        paths.Add(typeof(ILGPU.Context).Assembly.Location);
        return paths.Distinct(StringComparer.Ordinal)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();
    }

    public static CSharpCompilationOptions CompilationOptions { get; } = new CSharpCompilationOptions(
            OutputKind.DynamicallyLinkedLibrary,
            allowUnsafe: true,
            nullableContextOptions: NullableContextOptions.Enable,
            optimizationLevel: OptimizationLevel.Release);

    public static SyntaxTree Parse(string source, string path = "Test0.cs") =>
        CSharpSyntaxTree.ParseText(source, ParseOptions, path);

    public static CSharpCompilation Compilation(params string[] sources) =>
        CSharpCompilation.Create(
            "TestAssembly" + Guid.NewGuid().ToString("N"),
            sources.Select((s, i) => Parse(s, $"Test{i}.cs")),
            References,
            CompilationOptions);

    public static GeneratorDriver Driver(bool trackSteps = false) =>
        CSharpGeneratorDriver.Create(
            new[] { new SoftmaxKernelGenerator().AsSourceGenerator() },
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>Runs the generator once over <paramref name="sources"/>.</summary>
    public static GeneratorRun Run(params string[] sources) => RunWith(Driver(), sources);

    /// <summary>Runs every generator of the package (all kernel families) once over <paramref name="sources"/>.</summary>
    public static GeneratorRun RunAll(params string[] sources) =>
        RunWith(CSharpGeneratorDriver.Create(
            new[] { new SoftmaxKernelGenerator().AsSourceGenerator(), new SamplerKernelGenerator().AsSourceGenerator(), new SparseMatMulKernelGenerator().AsSourceGenerator(), new SpeculativeKernelGenerator().AsSourceGenerator(), new AttentionKernelGenerator().AsSourceGenerator() },
            parseOptions: ParseOptions), sources);

    private static GeneratorRun RunWith(GeneratorDriver driver, string[] sources)
    {
        var compilation = Compilation(sources);
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        return new GeneratorRun(compilation, output, driver.GetRunResult(), generatorDiagnostics);
    }
}

/// <summary>One generator run: the input compilation, the output compilation and what the generator reported.</summary>
internal sealed record GeneratorRun(Compilation Input, Compilation Output, GeneratorDriverRunResult Result, ImmutableArray<Diagnostic> GeneratorDiagnostics)
{
    /// <summary>Diagnostics the generator reported (KRNxxxx).</summary>
    public ImmutableArray<Diagnostic> Diagnostics => Result.Diagnostics;

    /// <summary>The single generated source; fails the test when there is not exactly one.</summary>
    public string GeneratedSource => Result.GeneratedTrees.Single().ToString();

    /// <summary>Every error of the output compilation (user code and generated code).</summary>
    public IReadOnlyList<Diagnostic> OutputErrors =>
        Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();

    /// <summary>Warnings and errors located in generated trees.</summary>
    public IReadOnlyList<Diagnostic> GeneratedTreeProblems =>
        Output.GetDiagnostics()
            .Where(d => d.Severity >= DiagnosticSeverity.Warning && d.Location.SourceTree is { } tree && Result.GeneratedTrees.Contains(tree))
            .ToList();

    /// <summary>The exception the generator threw, if any.</summary>
    public Exception? Exception => Result.Results.Single().Exception;
}
