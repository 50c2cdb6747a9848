using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Kernels.Generators.Diagnostics;
using Kernels.Generators.Helpers;
using Kernels.Generators.Models;
using Kernels.Generators.Translation;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Kernels.Generators;

public sealed partial class SoftmaxKernelGenerator
{
    /// <summary>Symbol → model. Never throws: failures become KRN9001.</summary>
    internal static class Parse
    {
        public static ParseResult<SoftmaxKernelInfo> Run(GeneratorAttributeSyntaxContext context, CancellationToken token) =>
            Declarations.Parse(context, (type, diagnostics) => Build(context, type, diagnostics, token));

        private static SoftmaxKernelInfo? Build(GeneratorAttributeSyntaxContext context, INamedTypeSymbol type, List<DiagnosticInfo> diagnostics, CancellationToken token)
        {
            var attribute = context.Attributes[0];
            var location = type.Locations.FirstOrDefault();
            var hierarchy = Declarations.GetHierarchy(type, context.TargetNode, "SoftmaxKernel", diagnostics);

            var output = (SoftmaxOutput)(attribute.ConstructorArguments.FirstOrDefault().Value as int? ?? 0);
            var activation = SoftmaxActivation.Softmax;
            var temperature = TemperatureMode.None;
            bool mask = false;
            string? transformName = null;
            foreach (var pair in attribute.NamedArguments)
            {
                switch (pair.Key)
                {
                    // An argument that does not bind (a compile error the compiler reports) has no value: keep the default.
                    case "Activation" when pair.Value.Value is int value: activation = (SoftmaxActivation)value; break;
                    case "Temperature" when pair.Value.Value is int value: temperature = (TemperatureMode)value; break;
                    case "Mask" when pair.Value.Value is bool value: mask = value; break;
                    case "Transform": transformName = pair.Value.Value as string; break;
                }
            }
            var attributeLocation = attribute.ApplicationSyntaxReference?.GetSyntax(token).GetLocation() ?? location;
            CheckDefined(output, "Output", attributeLocation, diagnostics);
            CheckDefined(activation, "Activation", attributeLocation, diagnostics);
            CheckDefined(temperature, "Temperature", attributeLocation, diagnostics);

            token.ThrowIfCancellationRequested();
            var transform = transformName is null ? null : Declarations.Transform(context, type, transformName, attributeLocation, diagnostics, token, noContext: "a softmax kernel");
            return hierarchy is null ? null : new SoftmaxKernelInfo(hierarchy, output, activation, temperature, mask, transform);
        }

        private static void CheckDefined<TEnum>(TEnum value, string name, Location? location, List<DiagnosticInfo> diagnostics) where TEnum : struct, Enum
        {
            if (!Enum.IsDefined(typeof(TEnum), value))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, location,
                    name, Convert.ToInt32(value).ToString(), string.Join(", ", Enum.GetNames(typeof(TEnum)))));
        }

    }
}
