using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace Kernels.Benchmarks.Suite;

/// <summary>One generated kernel: where it lives, its generator options and the backends it can run on.</summary>
/// <param name="Family">Family (from the descriptor type, e.g. <c>SoftmaxKernel</c> → <c>softmax</c>, else the namespace).</param>
/// <param name="Kernel">The generated class.</param>
/// <param name="Assembly">The assembly that declares it.</param>
/// <param name="Options">The generator attribute's arguments and the descriptor's properties.</param>
/// <param name="EntryPoints">Its <c>[KernelEntryPoint]</c> methods (ILGPU kernels).</param>
/// <param name="Backends">Backends it can run on: <c>cpu</c> with a CPU entry, the ILGPU backends with an entry point.</param>
public sealed record CatalogueEntry(string Family, string Kernel, string Assembly, string Options, IReadOnlyList<string> EntryPoints, IReadOnlyList<string> Backends);

/// <summary>
/// Every generated kernel, found by reflection: types with <c>[KernelEntryPoint]</c> methods or a static descriptor
/// property (a type named <c>*Kernel</c> from the library), in the library and in this assembly.
/// </summary>
public static class KernelCatalogue
{
    private static readonly string[] IlgpuBackends = ["ilgpu-cpu", "opencl", "cuda"];

    /// <summary>Builds the catalogue from the library and the benchmark assemblies (and <paramref name="extra"/>).</summary>
    public static IReadOnlyList<CatalogueEntry> Build(params Assembly[] extra)
    {
        var library = typeof(KernelEntryPointAttribute).Assembly;
        var assemblies = new[] { library, typeof(KernelCatalogue).Assembly }.Concat(extra).Distinct();
        var entries = new List<CatalogueEntry>();
        foreach (var type in assemblies.SelectMany(SafeTypes))
        {
            const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly;
            var entryPoints = type.GetMethods(all).Where(m => m.GetCustomAttribute<KernelEntryPointAttribute>() is not null).ToList();
            var descriptor = type.GetProperties(all).FirstOrDefault(p =>
                p.PropertyType.Assembly == library && p.PropertyType.Name.EndsWith("Kernel", StringComparison.Ordinal) && p.GetMethod is not null);
            if (entryPoints.Count == 0 && descriptor is null) continue;

            object? value = null;
            try { value = descriptor?.GetValue(null); }
            catch (TargetInvocationException) { }

            var options = new List<string>();
            foreach (var attribute in type.CustomAttributes.Where(a => a.AttributeType.Assembly == library))
            {
                options.AddRange(attribute.ConstructorArguments.Select(a => $"{attribute.AttributeType.Name[..^"Attribute".Length]}({Format(a)})"));
                options.AddRange(attribute.NamedArguments.Select(a => $"{a.MemberName}={Format(a.TypedValue)}"));
            }
            if (value is not null)
            {
                foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
                {
                    if (!(property.PropertyType.IsEnum || property.PropertyType.IsPrimitive || property.PropertyType == typeof(string))) continue;
                    string item = $"{property.Name}={Format(property.GetValue(value))}";
                    if (!options.Contains(item)) options.Add(item);
                }
            }

            // The descriptor type (SoftmaxKernel -> softmax), else the generator attribute (SamplerKernelAttribute -> sampler),
            // else the namespace below Kernels.
            var generatorAttribute = type.CustomAttributes.FirstOrDefault(a => a.AttributeType.Assembly == library
                && a.AttributeType.Name.EndsWith("KernelAttribute", StringComparison.Ordinal) && a.AttributeType.Name.Length > "KernelAttribute".Length);
            string family = descriptor is not null && descriptor.PropertyType.Name.Length > "Kernel".Length
                ? descriptor.PropertyType.Name[..^"Kernel".Length].ToLowerInvariant()
                : generatorAttribute is not null
                    ? generatorAttribute.AttributeType.Name[..^"KernelAttribute".Length].ToLowerInvariant()
                    : (type.Namespace ?? "kernels").Split('.')[^1].ToLowerInvariant();
            bool cpu = value is not null || type.GetMethods(all).Any(m => m.Name.StartsWith("Cpu", StringComparison.Ordinal));
            var backends = (cpu ? new[] { "cpu" } : []).Concat(entryPoints.Count > 0 ? IlgpuBackends : []).ToList();
            entries.Add(new CatalogueEntry(family, type.FullName ?? type.Name, type.Assembly.GetName().Name ?? "",
                string.Join(", ", options), entryPoints.Select(m => m.Name).ToList(), backends));
        }
        return entries.OrderBy(e => e.Family, StringComparer.Ordinal).ThenBy(e => e.Kernel, StringComparer.Ordinal).ToList();
    }

    private static string Format(CustomAttributeTypedArgument argument) =>
        argument.ArgumentType.IsEnum && argument.Value is not null ? Enum.ToObject(argument.ArgumentType, argument.Value).ToString() ?? "" : Format(argument.Value);

    private static string Format(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };

    private static IEnumerable<Type> SafeTypes(Assembly assembly)
    {
        try { return assembly.GetTypes(); }
        catch (ReflectionTypeLoadException e) { return e.Types.Where(t => t is not null)!; }
    }
}
