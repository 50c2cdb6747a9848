using Kernels.Generators.Helpers;

namespace Kernels.Generators.Models;

/// <summary>Where a declaration lives: its namespace and the chain of type declarations, outermost first.</summary>
/// <param name="MetadataName">The fully qualified metadata name, used for the hint name.</param>
/// <param name="Namespace">The namespace, empty for the global namespace.</param>
/// <param name="Types">The type chain, outermost first.</param>
internal sealed record HierarchyInfo(string MetadataName, string Namespace, EquatableArray<TypeInfo> Types)
{
    /// <summary>The declared (innermost) type's name.</summary>
    public string Name => Types[Types.Count - 1].Name;
}

/// <summary>One type declaration of a hierarchy: its keyword ("class", "struct", "record", "interface") and name.</summary>
internal sealed record TypeInfo(string Keyword, string Name, bool IsStatic);
