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

public sealed partial class SamplerKernelGenerator
{
    /// <summary>Symbol → model. Never throws: failures become KRN9001.</summary>
    internal static class Parse
    {
        // Math/MathF members that are exactly rounded (or exact) on every backend: they keep samples bit-identical.
        private static readonly HashSet<string> PortableMathMembers = new(StringComparer.Ordinal)
        {
            "Min", "Max", "Abs", "Floor", "Ceiling", "Truncate", "Sign", "CopySign", "Clamp",
        };

        public static ParseResult<SamplerKernelInfo> Run(GeneratorAttributeSyntaxContext context, CancellationToken token) =>
            Declarations.Parse(context, (type, diagnostics) => Build(context, type, diagnostics, token));

        private static SamplerKernelInfo? Build(GeneratorAttributeSyntaxContext context, INamedTypeSymbol type, List<DiagnosticInfo> diagnostics, CancellationToken token)
        {
            var attribute = context.Attributes[0];
            var location = type.Locations.FirstOrDefault();
            var hierarchy = Declarations.GetHierarchy(type, context.TargetNode, "SamplerKernel", diagnostics);

            var kind = (SamplerKind)(attribute.ConstructorArguments.FirstOrDefault().Value as int? ?? 0);
            var temperature = TemperatureMode.None;
            bool perRowKeys = false, perRowOffsets = false, logProbabilities = false, topK = false, topP = false, minP = false, probabilities = false;
            var mode = GumbelSoftmaxMode.Soft;
            bool modeSet = false, outputSet = false;
            var output = TruncationOutput.Probabilities;
            var topHMode = TopHMode.Reference;
            bool topHModeSet = false;
            string? transformName = null;
            foreach (var pair in attribute.NamedArguments)
            {
                switch (pair.Key)
                {
                    // An argument that does not bind (a compile error the compiler reports) has no value: keep the default.
                    case "Temperature" when pair.Value.Value is int value: temperature = (TemperatureMode)value; break;
                    case "PerRowKeys" when pair.Value.Value is bool value: perRowKeys = value; break;
                    case "PerRowOffsets" when pair.Value.Value is bool value: perRowOffsets = value; break;
                    case "LogProbabilities" when pair.Value.Value is bool value: logProbabilities = value; break;
                    case "Mode" when pair.Value.Value is int value: mode = (GumbelSoftmaxMode)value; modeSet = true; break;
                    case "TopK" when pair.Value.Value is bool value: topK = value; break;
                    case "TopP" when pair.Value.Value is bool value: topP = value; break;
                    case "MinP" when pair.Value.Value is bool value: minP = value; break;
                    case "Probabilities" when pair.Value.Value is bool value: probabilities = value; break;
                    case "Output" when pair.Value.Value is int value: output = (TruncationOutput)value; outputSet = true; break;
                    case "TopHMode" when pair.Value.Value is int value: topHMode = (TopHMode)value; topHModeSet = true; break;
                    case "Transform": transformName = pair.Value.Value as string; break;
                }
            }
            var attributeLocation = attribute.ApplicationSyntaxReference?.GetSyntax(token).GetLocation() ?? location;
            CheckDefined(kind, "Kind", attributeLocation, diagnostics);
            CheckDefined(temperature, "Temperature", attributeLocation, diagnostics);
            CheckDefined(mode, "Mode", attributeLocation, diagnostics);
            CheckDefined(output, "Output", attributeLocation, diagnostics);
            CheckDefined(topHMode, "TopHMode", attributeLocation, diagnostics);
            if (topHModeSet && kind != SamplerKind.TopH)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SamplerOptionNotApplicable, attributeLocation,
                    "TopHMode", nameof(SamplerKind.TopH), type.Name, kind.ToString()));
            if (logProbabilities && kind != SamplerKind.Categorical)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SamplerOptionNotApplicable, attributeLocation,
                    "LogProbabilities", nameof(SamplerKind.Categorical), type.Name, kind.ToString()));
            if (modeSet && kind != SamplerKind.GumbelSoftmax)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SamplerOptionNotApplicable, attributeLocation,
                    "Mode", nameof(SamplerKind.GumbelSoftmax), type.Name, kind.ToString()));
            if (perRowOffsets && kind != SamplerKind.Decode)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SamplerOptionNotApplicable, attributeLocation,
                    "PerRowOffsets", nameof(SamplerKind.Decode), type.Name, kind.ToString()));
            if (outputSet && kind != SamplerKind.Truncate)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SamplerOptionNotApplicable, attributeLocation,
                    "Output", nameof(SamplerKind.Truncate), type.Name, kind.ToString()));

            if (kind == SamplerKind.TopK || kind == SamplerKind.Truncate)
            {
                // Deterministic kinds: no keys; top-k selection has no temperature either.
                foreach (var (option, set) in new[] { ("Temperature", kind == SamplerKind.TopK && temperature != TemperatureMode.None), ("PerRowKeys", perRowKeys) })
                {
                    if (set)
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SamplerOptionNotApplicable, attributeLocation,
                            option, "randomised", type.Name, kind.ToString()));
                }
            }
            if (probabilities && temperature != TemperatureMode.None)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SamplerOptionNotApplicable, attributeLocation,
                    "Temperature", "logit", type.Name, "probability"));
            foreach (var (stage, set) in new[] { ("TopK", topK), ("TopP", topP), ("MinP", minP), ("Probabilities", probabilities) })
            {
                if (set && kind != SamplerKind.Decode && kind != SamplerKind.Truncate)
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SamplerOptionNotApplicable, attributeLocation,
                        stage, nameof(SamplerKind.Decode), type.Name, kind.ToString()));
            }

            token.ThrowIfCancellationRequested();
            var transform = transformName is null ? null : Declarations.Transform(context, type, transformName, attributeLocation, diagnostics, token,
                (syntax, semanticModel, methodLocation) =>
                {
                    if (FirstNonPortableCall(syntax, semanticModel, token) is { } call)
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SamplerTransformNotPortable, methodLocation, transformName, call));
                },
                kind is SamplerKind.Decode or SamplerKind.Truncate ? null : $"a {kind} sampler");
            return hierarchy is null ? null : new SamplerKernelInfo(hierarchy, kind, temperature, perRowKeys, perRowOffsets, logProbabilities, mode, topK, topP, minP, probabilities, output, topHMode, transform);
        }

        private static void CheckDefined<TEnum>(TEnum value, string name, Location? location, List<DiagnosticInfo> diagnostics) where TEnum : struct, Enum
        {
            if (!Enum.IsDefined(typeof(TEnum), value))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, location,
                    name, Convert.ToInt32(value).ToString(), string.Join(", ", Enum.GetNames(typeof(TEnum)))));
        }

        /// <summary>The same rules and diagnostics (KRN1001–KRN1003, KRN1005) as the softmax family's transforms, plus KRN1102.</summary>

        /// <summary>The first call in the body to a Math/MathF function that is not exactly rounded, as "MathF.Tanh".</summary>
        private static string? FirstNonPortableCall(MethodDeclarationSyntax syntax, SemanticModel model, CancellationToken token)
        {
            foreach (var invocation in syntax.DescendantNodes().OfType<InvocationExpressionSyntax>())
            {
                if (model.GetSymbolInfo(invocation, token).Symbol is not IMethodSymbol target)
                    continue;
                string container = target.ContainingType.ToDisplayString();
                if ((container == "System.Math" || container == "System.MathF") && !PortableMathMembers.Contains(target.Name))
                    return target.ContainingType.Name + "." + target.Name;
            }
            return null;
        }
    }
}
