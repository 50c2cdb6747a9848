using System;
using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Kernels.Generators;

/// <summary>
/// Emits, for each <c>[SoftmaxKernel]</c> declaration, the ILGPU kernel, the vectorised CPU kernel and the typed
/// launcher. Pipeline: parse (symbol → equatable model + diagnostics), then emit from the model alone.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class SoftmaxKernelGenerator : IIncrementalGenerator
{
    /// <summary>The attribute's metadata name.</summary>
    public const string AttributeName = "Kernels.SoftmaxKernelAttribute";

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var results = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                AttributeName,
                static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                static (ctx, token) => Parse.Run(ctx, token))
            .WithTrackingName(TrackingNames.Parse);

        var diagnostics = results
            .Select(static (r, _) => r.Diagnostics)
            .Where(static d => !d.IsEmpty)
            .WithTrackingName(TrackingNames.Diagnostics);
        context.RegisterSourceOutput(diagnostics, static (spc, list) =>
        {
            foreach (var info in list)
                spc.ReportDiagnostic(info.ToDiagnostic());
        });

        var models = results
            .Where(static r => r.Model is not null)
            .Select(static (r, _) => r.Model!)
            .WithTrackingName(TrackingNames.Model);
        context.RegisterSourceOutput(models, static (spc, model) => Emit.Run(spc, model));
    }
}

/// <summary>Step names of the generator pipelines, for incrementality tests.</summary>
public static class TrackingNames
{
    /// <summary>Attribute → parse result.</summary>
    public const string Parse = "Parse";

    /// <summary>Diagnostics split from the results.</summary>
    public const string Diagnostics = "Diagnostics";

    /// <summary>Models that will be emitted.</summary>
    public const string Model = "Model";
}
