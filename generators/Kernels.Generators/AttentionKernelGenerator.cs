using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;

namespace Kernels.Generators;

/// <summary>
/// Emits, for each <c>[AttentionKernel]</c> declaration, the ILGPU kernel(s), the CPU kernel (specialised on the head
/// dimension) and the typed launcher of a block- or decode-attention kernel. Same pipeline as every family: parse
/// (symbol → equatable model + diagnostics), then emit from the model alone.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class AttentionKernelGenerator : IIncrementalGenerator
{
    /// <summary>The attribute's metadata name.</summary>
    public const string AttributeName = "Kernels.AttentionKernelAttribute";

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context) =>
        Pipeline.Register<AttentionKernelInfo>(context, AttributeName, Parse.Run, Emit.Run);
}
