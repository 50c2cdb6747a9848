using System.Collections.Generic;
using System.Linq;
using Kernels.Generators.Diagnostics;
using Kernels.Generators.Helpers;
using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Kernels.Generators;

/// <summary>Checks shared by every kernel family: the declaration is a non-generic static partial class in partial types.</summary>
internal static class Declarations
{
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
