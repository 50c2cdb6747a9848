using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;

namespace Kernels.Generators;

/// <summary>
/// Emits, for each <c>[SoftmaxKernel]</c> declaration, the ILGPU kernel, the vectorised CPU kernel and the typed
/// launcher. Pipeline: parse (symbol → equatable model + diagnostics), then emit from the model alone.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class SoftmaxKernelGenerator : IIncrementalGenerator
{
    /// <summary>The attribute's metadata name.</summary>
    public const string AttributeName = "Kernels.SoftmaxKernelAttribute";

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context) =>
        Pipeline.Register<SoftmaxKernelInfo>(context, AttributeName, Parse.Run, Emit.Run);
}
