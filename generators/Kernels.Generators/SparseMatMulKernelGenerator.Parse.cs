using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Kernels.Generators.Diagnostics;
using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;

namespace Kernels.Generators;

public sealed partial class SparseMatMulKernelGenerator
{
    /// <summary>Symbol → model. Never throws: failures become KRN9001.</summary>
    internal static class Parse
    {
        private const int MaxM = 32;

        public static ParseResult<SparseMatMulKernelInfo> Run(GeneratorAttributeSyntaxContext context, CancellationToken token) =>
            Declarations.Parse(context, (type, diagnostics) => Build(context, type, diagnostics, token));

        private static SparseMatMulKernelInfo? Build(GeneratorAttributeSyntaxContext context, INamedTypeSymbol type, List<DiagnosticInfo> diagnostics, CancellationToken token)
        {
            var attribute = context.Attributes[0];
            var hierarchy = Declarations.GetHierarchy(type, context.TargetNode, "SparseMatMulKernel", diagnostics);
            var attributeLocation = attribute.ApplicationSyntaxReference?.GetSyntax(token).GetLocation() ?? type.Locations.FirstOrDefault();

            // Arguments that do not bind (a compile error the compiler reports) have no value: nothing to check or emit.
            if (attribute.ConstructorArguments.Length != 2
                || attribute.ConstructorArguments[0].Value is not int n || attribute.ConstructorArguments[1].Value is not int m)
                return null;
            if (n < 1 || m > MaxM || n > m)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SparsePatternInvalid, attributeLocation, type.Name, n.ToString(), m.ToString()));

            string? epilogueName = null;
            foreach (var pair in attribute.NamedArguments)
            {
                if (pair.Key == "Epilogue")
                    epilogueName = pair.Value.Value as string;
            }
            token.ThrowIfCancellationRequested();
            var epilogue = epilogueName is null ? null : Declarations.Transform(context, type, epilogueName, attributeLocation, diagnostics, token, noContext: "a sparse product");
            return hierarchy is null ? null : new SparseMatMulKernelInfo(hierarchy, n, m, epilogue);
        }
    }
}
