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

        public static ParseResult<SamplerKernelInfo> Run(GeneratorAttributeSyntaxContext context, CancellationToken token)
        {
            var diagnostics = new List<DiagnosticInfo>();
            var type = (INamedTypeSymbol)context.TargetSymbol;
            try
            {
                if (!IsFirstApplication(context, type) || HasMissingName(type))
                    return new ParseResult<SamplerKernelInfo>(null, EquatableArray<DiagnosticInfo>.Empty);
                var model = Build(context, type, diagnostics, token);
                return new ParseResult<SamplerKernelInfo>(
                    diagnostics.Any(d => DiagnosticDescriptors.ById(d.Id).DefaultSeverity == DiagnosticSeverity.Error) ? null : model,
                    new EquatableArray<DiagnosticInfo>(diagnostics));
            }
            catch (OperationCanceledException)
            {
                throw;
            }
            catch (Exception e)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, type.Locations.FirstOrDefault(), type.Name, e.Message));
                return new ParseResult<SamplerKernelInfo>(null, new EquatableArray<DiagnosticInfo>(diagnostics));
            }
        }

        /// <summary>Only the first [SamplerKernel] of a partial class is parsed (a second one is CS0579).</summary>
        private static bool IsFirstApplication(GeneratorAttributeSyntaxContext context, INamedTypeSymbol type)
        {
            var attributeClass = context.Attributes[0].AttributeClass;
            var first = type.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, attributeClass));
            if (first?.ApplicationSyntaxReference is not { } reference)
                return true;
            return reference.SyntaxTree == context.TargetNode.SyntaxTree && context.TargetNode.FullSpan.Contains(reference.Span);
        }

        private static bool HasMissingName(INamedTypeSymbol type)
        {
            for (var current = type; current is not null; current = current.ContainingType)
            {
                if (current.Name.Length == 0)
                    return true;
            }
            return false;
        }

        private static SamplerKernelInfo? Build(GeneratorAttributeSyntaxContext context, INamedTypeSymbol type, List<DiagnosticInfo> diagnostics, CancellationToken token)
        {
            var attribute = context.Attributes[0];
            var location = type.Locations.FirstOrDefault();
            var hierarchy = Declarations.GetHierarchy(type, context.TargetNode, "SamplerKernel", diagnostics);

            var kind = (SamplerKind)(attribute.ConstructorArguments.FirstOrDefault().Value as int? ?? 0);
            var temperature = TemperatureMode.None;
            bool perRowKeys = false, logProbabilities = false;
            var mode = GumbelSoftmaxMode.Soft;
            bool modeSet = false;
            string? transformName = null;
            foreach (var pair in attribute.NamedArguments)
            {
                switch (pair.Key)
                {
                    // An argument that does not bind (a compile error the compiler reports) has no value: keep the default.
                    case "Temperature" when pair.Value.Value is int value: temperature = (TemperatureMode)value; break;
                    case "PerRowKeys" when pair.Value.Value is bool value: perRowKeys = value; break;
                    case "LogProbabilities" when pair.Value.Value is bool value: logProbabilities = value; break;
                    case "Mode" when pair.Value.Value is int value: mode = (GumbelSoftmaxMode)value; modeSet = true; break;
                    case "Transform": transformName = pair.Value.Value as string; break;
                }
            }
            var attributeLocation = attribute.ApplicationSyntaxReference?.GetSyntax(token).GetLocation() ?? location;
            CheckDefined(kind, "Kind", attributeLocation, diagnostics);
            CheckDefined(temperature, "Temperature", attributeLocation, diagnostics);
            CheckDefined(mode, "Mode", attributeLocation, diagnostics);
            if (logProbabilities && kind != SamplerKind.Categorical)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SamplerOptionNotApplicable, attributeLocation,
                    "LogProbabilities", nameof(SamplerKind.Categorical), type.Name, kind.ToString()));
            if (modeSet && kind != SamplerKind.GumbelSoftmax)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SamplerOptionNotApplicable, attributeLocation,
                    "Mode", nameof(SamplerKind.GumbelSoftmax), type.Name, kind.ToString()));

            token.ThrowIfCancellationRequested();
            var transform = transformName is null ? null : Transform(context, type, transformName, attributeLocation, diagnostics, token);
            return hierarchy is null ? null : new SamplerKernelInfo(hierarchy, kind, temperature, perRowKeys, logProbabilities, mode, transform);
        }

        private static void CheckDefined<TEnum>(TEnum value, string name, Location? location, List<DiagnosticInfo> diagnostics) where TEnum : struct, Enum
        {
            if (!Enum.IsDefined(typeof(TEnum), value))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, location,
                    name, Convert.ToInt32(value).ToString(), string.Join(", ", Enum.GetNames(typeof(TEnum)))));
        }

        /// <summary>The same rules and diagnostics (KRN1001–KRN1003, KRN1005) as the softmax family's transforms, plus KRN1102.</summary>
        private static TransformInfo? Transform(GeneratorAttributeSyntaxContext context, INamedTypeSymbol type, string name, Location? location, List<DiagnosticInfo> diagnostics, CancellationToken token)
        {
            var candidates = type.GetMembers(name).OfType<IMethodSymbol>().ToArray();
            if (candidates.Length == 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TransformNotFound, location, name, type.Name));
                return null;
            }
            if (candidates.Length > 1)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TransformAmbiguous, location, name, candidates.Length.ToString(), type.Name));
                return null;
            }
            var method = candidates[0];
            var methodLocation = method.Locations.FirstOrDefault() ?? location;
            bool shapeOk = method.IsStatic
                && !method.IsGenericMethod
                && method.ReturnType.SpecialType == SpecialType.System_Single
                && method.Parameters.Length is 1 or 2
                && method.Parameters[0].Type.SpecialType == SpecialType.System_Single
                && (method.Parameters.Length == 1 || method.Parameters[1].Type.SpecialType == SpecialType.System_Int32)
                && method.Parameters.All(p => p.RefKind == RefKind.None);
            if (!shapeOk)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TransformSignature, methodLocation, name));
                return null;
            }

            VectorBody? vector = null;
            string reason = "its source is not part of this compilation";
            if (method.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(token) is MethodDeclarationSyntax syntax)
            {
                var semanticModel = context.SemanticModel.Compilation.GetSemanticModel(syntax.SyntaxTree);
                vector = VectorTranslator.TryTranslate(syntax, semanticModel, out reason);
                if (FirstNonPortableCall(syntax, semanticModel, token) is { } call)
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SamplerTransformNotPortable, methodLocation, name, call));
            }
            if (vector is null)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TransformNotVectorised, methodLocation, name, reason));
            return new TransformInfo(Declarations.Identifier(name), method.Parameters.Length == 2, vector);
        }

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
