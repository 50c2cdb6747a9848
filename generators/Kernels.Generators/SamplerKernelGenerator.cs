using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Kernels.Generators;

/// <summary>
/// Emits, for each <c>[SamplerKernel]</c> declaration, the ILGPU kernel, the CPU kernel and the typed launcher of a
/// categorical, Gumbel-top-k or Gumbel-softmax sampler. Same pipeline as the softmax family: parse (symbol → equatable
/// model + diagnostics), then emit from the model alone.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class SamplerKernelGenerator : IIncrementalGenerator
{
    /// <summary>The attribute's metadata name.</summary>
    public const string AttributeName = "Kernels.SamplerKernelAttribute";

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
