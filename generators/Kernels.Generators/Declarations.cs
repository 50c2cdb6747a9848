using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Kernels.Generators.Diagnostics;
using Kernels.Generators.Helpers;
using Kernels.Generators.Models;
using Kernels.Generators.Translation;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Kernels.Generators;

/// <summary>The parse steps shared by every kernel family: the declaration's shape, its hierarchy, its fused Transform.</summary>
internal static class Declarations
{
    /// <summary>
    /// The parse step every family shares: skips a second application of the attribute on another part of the same
    /// partial class (the compiler reports CS0579) and declarations still being typed, runs <paramref name="build"/>,
    /// drops the model when an error was reported, and turns any failure into KRN9001 — the generator never throws.
    /// </summary>
    public static ParseResult<TModel> Parse<TModel>(GeneratorAttributeSyntaxContext context, Func<INamedTypeSymbol, List<DiagnosticInfo>, TModel?> build)
        where TModel : class
    {
        var diagnostics = new List<DiagnosticInfo>();
        var type = (INamedTypeSymbol)context.TargetSymbol;
        try
        {
            if (!IsFirstApplication(context, type) || HasMissingName(type))
                return new ParseResult<TModel>(null, EquatableArray<DiagnosticInfo>.Empty);
            var model = build(type, diagnostics);
            return new ParseResult<TModel>(
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
            return new ParseResult<TModel>(null, new EquatableArray<DiagnosticInfo>(diagnostics));
        }
    }

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

/// <summary>
/// Resolves the user function a declaration names as its Transform (KRN1001–1003), translates its body for the CPU
/// kernel (KRN1005 when it stays scalar), and lets a family inspect the body further (<paramref name="inspect"/>). A
/// function taking a context is KRN1103 unless the declaration passes one (<paramref name="noContext"/> is null; else
/// it describes the declaration, as "a softmax kernel").
/// </summary>
public static TransformInfo? Transform(GeneratorAttributeSyntaxContext context, INamedTypeSymbol type, string name, Location? location,
    List<DiagnosticInfo> diagnostics, CancellationToken token, Action<MethodDeclarationSyntax, SemanticModel, Location?>? inspect = null,
    string? noContext = "this kind of kernel")
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
            && method.Parameters.Length is 1 or 2 or 4
            && method.Parameters[0].Type.SpecialType == SpecialType.System_Single
            && (method.Parameters.Length == 1 || method.Parameters[1].Type.SpecialType == SpecialType.System_Int32)
            && method.Parameters.Skip(2).All(p => p.Type.SpecialType == SpecialType.System_Single)
            && method.Parameters.All(p => p.RefKind == RefKind.None);
        if (!shapeOk)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TransformSignature, methodLocation, name));
            return null;
        }
        if (method.Parameters.Length == 4 && noContext is not null)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TransformContextNotApplicable, methodLocation, name, type.Name, noContext));
            return null;
        }

        VectorBody? vector = null;
        string reason = "its source is not part of this compilation";
        if (method.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(token) is MethodDeclarationSyntax syntax)
        {
            var semanticModel = context.SemanticModel.Compilation.GetSemanticModel(syntax.SyntaxTree);
            vector = VectorTranslator.TryTranslate(syntax, semanticModel, out reason);
            inspect?.Invoke(syntax, semanticModel, methodLocation);
        }
        if (vector is null)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TransformNotVectorised, methodLocation, name, reason));
        return new TransformInfo(Declarations.Identifier(name), method.Parameters.Length >= 2, method.Parameters.Length == 4, vector);
    }

    /// <summary>The declaration's hierarchy, or null (with diagnostics) when it cannot carry generated members.</summary>
    public static HierarchyInfo? GetHierarchy(INamedTypeSymbol type, SyntaxNode node, string attributeName, List<DiagnosticInfo> diagnostics)
    {
        var location = type.Locations.FirstOrDefault();
        bool ok = true;
        if (node is not ClassDeclarationSyntax declaration || !type.IsStatic || !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotStaticPartialClass, location, type.Name, attributeName));
            ok = false;
        }

        var types = new List<Models.TypeInfo>();
        for (var current = type; current is not null; current = current.ContainingType)
        {
            if (current.IsGenericType)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.GenericDeclaration, location, type.Name));
                return null;
            }
            if (!SymbolEqualityComparer.Default.Equals(current, type) && !IsPartial(current))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ContainingTypeNotPartial, location, type.Name, current.Name));
                ok = false;
            }
            types.Insert(0, new Models.TypeInfo(Keyword(current), Identifier(current.Name), current.IsStatic));
        }
        if (!ok)
            return null;

        // The display string escapes keywords (namespace @class): right for source, but '@' is not allowed in a hint name.
        string ns = type.ContainingNamespace.IsGlobalNamespace ? string.Empty : type.ContainingNamespace.ToDisplayString();
        string metadataName = ((ns.Length == 0 ? "" : ns + ".") + string.Join("+", types.Select(t => t.Name))).Replace("@", "");
        return new HierarchyInfo(metadataName, ns, new EquatableArray<Models.TypeInfo>(types));
    }

    /// <summary>A name as it must be written in source: reserved keywords get an '@' (class @event).</summary>
    public static string Identifier(string name) =>
        SyntaxFacts.IsReservedKeyword(SyntaxFacts.GetKeywordKind(name)) ? "@" + name : name;

    private static bool IsPartial(INamedTypeSymbol type) =>
        type.DeclaringSyntaxReferences.Any(r => r.GetSyntax() is TypeDeclarationSyntax t && t.Modifiers.Any(SyntaxKind.PartialKeyword));

    private static string Keyword(INamedTypeSymbol type) => type switch
    {
        { IsRecord: true, TypeKind: TypeKind.Struct } => "record struct",
        { IsRecord: true } => "record",
        { TypeKind: TypeKind.Struct } => "struct",
        { TypeKind: TypeKind.Interface } => "interface",
        _ => "class",
    };
}
