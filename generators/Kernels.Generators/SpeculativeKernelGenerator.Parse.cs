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
            bool perRowKeys = false;
            foreach (var pair in attribute.NamedArguments)
            {
                // An argument that does not bind (a compile error the compiler reports) has no value: keep the default.
                if (pair.Key == "PerRowKeys" && pair.Value.Value is bool value)
                    perRowKeys = value;
            }
            var location = attribute.ApplicationSyntaxReference?.GetSyntax(token).GetLocation() ?? type.Locations.FirstOrDefault();
            if (!Enum.IsDefined(typeof(SpeculativeKind), kind))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, location,
                    "Kind", ((int)kind).ToString(), string.Join(", ", Enum.GetNames(typeof(SpeculativeKind)))));
            else if (perRowKeys && kind == SpeculativeKind.ExpectedAcceptance)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SpeculativeOptionNotApplicable, location,
                    "PerRowKeys", type.Name, kind.ToString()));
            return hierarchy is null ? null : new SpeculativeKernelInfo(hierarchy, kind, perRowKeys);
        }
    }
}
