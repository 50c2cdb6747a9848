using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Kernels.Generators.Diagnostics;
using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;

namespace Kernels.Generators;

public sealed partial class SpeculativeKernelGenerator
{
    /// <summary>Symbol → model. Never throws: failures become KRN9001.</summary>
    internal static class Parse
    {
        public static ParseResult<SpeculativeKernelInfo> Run(GeneratorAttributeSyntaxContext context, CancellationToken token) =>
            Declarations.Parse(context, (type, diagnostics) => Build(context, type, diagnostics, token));

        private static SpeculativeKernelInfo? Build(GeneratorAttributeSyntaxContext context, INamedTypeSymbol type, List<DiagnosticInfo> diagnostics, CancellationToken token)
        {
            var attribute = context.Attributes[0];
            var hierarchy = Declarations.GetHierarchy(type, context.TargetNode, "SpeculativeKernel", diagnostics);
            var kind = (SpeculativeKind)(attribute.ConstructorArguments.FirstOrDefault().Value as int? ?? 0);
            bool perRowKeys = false, topK = false, topP = false, minP = false;
            var temperature = TemperatureMode.None;
            string? transformName = null;
            foreach (var pair in attribute.NamedArguments)
            {
                // An argument that does not bind (a compile error the compiler reports) has no value: keep the default.
                switch (pair.Key)
                {
                    case "PerRowKeys" when pair.Value.Value is bool value: perRowKeys = value; break;
                    case "Temperature" when pair.Value.Value is int value: temperature = (TemperatureMode)value; break;
                    case "TopK" when pair.Value.Value is bool value: topK = value; break;
                    case "TopP" when pair.Value.Value is bool value: topP = value; break;
                    case "MinP" when pair.Value.Value is bool value: minP = value; break;
                    case "Transform": transformName = pair.Value.Value as string; break;
                }
            }
            var location = attribute.ApplicationSyntaxReference?.GetSyntax(token).GetLocation() ?? type.Locations.FirstOrDefault();
            if (!Enum.IsDefined(typeof(SpeculativeKind), kind))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, location,
                    "Kind", ((int)kind).ToString(), string.Join(", ", Enum.GetNames(typeof(SpeculativeKind)))));
            else if (perRowKeys && kind == SpeculativeKind.ExpectedAcceptance)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SpeculativeOptionNotApplicable, location,
                    "PerRowKeys", type.Name, kind.ToString()));
            if (!Enum.IsDefined(typeof(TemperatureMode), temperature))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, location,
                    "Temperature", ((int)temperature).ToString(), string.Join(", ", Enum.GetNames(typeof(TemperatureMode)))));
            foreach (var (stage, set) in new[]
                     {
                         ("Temperature", temperature != TemperatureMode.None), ("TopK", topK), ("TopP", topP), ("MinP", minP), ("Transform", transformName is not null),
                     })
            {
                if (set && kind != SpeculativeKind.Chain && Enum.IsDefined(typeof(SpeculativeKind), kind))
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SpeculativeStageNotApplicable, location, stage, type.Name, kind.ToString()));
            }

            token.ThrowIfCancellationRequested();
            // The transform follows the sampler family's rules (KRN1001–KRN1003, KRN1005); no per-request context here (KRN1103).
            var transform = transformName is null ? null
                : Declarations.Transform(context, type, transformName, location, diagnostics, token, noContext: "a speculative verifier");
            return hierarchy is null ? null : new SpeculativeKernelInfo(hierarchy, kind, perRowKeys, temperature, topK, topP, minP, transform);
        }
    }
}
