using System;
using System.Threading;
using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Kernels.Generators;

/// <summary>
/// The one pipeline shape of every kernel family: ForAttributeWithMetadataName with a syntax-only predicate → parse
/// (symbol → equatable model + diagnostics) → diagnostics reported on their own branch → emit from the model alone.
/// Step names (<see cref="TrackingNames"/>) are the same for every family, for the incrementality tests.
/// </summary>
internal static class Pipeline
{
    public static void Register<TModel>(
        IncrementalGeneratorInitializationContext context,
        string attributeName,
        Func<GeneratorAttributeSyntaxContext, CancellationToken, ParseResult<TModel>> parse,
        Action<SourceProductionContext, TModel> emit)
        where TModel : class
    {
        var results = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                attributeName,
                static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                (ctx, token) => parse(ctx, token))
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
        context.RegisterSourceOutput(models, (spc, model) => emit(spc, model));
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
