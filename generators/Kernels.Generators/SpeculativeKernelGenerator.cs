using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;

namespace Kernels.Generators;

/// <summary>
/// Emits, for each <c>[SpeculativeKernel]</c> declaration, the ILGPU kernel, the CPU kernel and the typed launcher of a
/// chain verifier or of the expected-acceptance diagnostic. Same pipeline as every family: parse (symbol → equatable
/// model + diagnostics), then emit from the model alone.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class SpeculativeKernelGenerator : IIncrementalGenerator
{
    /// <summary>The attribute's metadata name.</summary>
    public const string AttributeName = "Kernels.SpeculativeKernelAttribute";

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context) =>
        Pipeline.Register<SpeculativeKernelInfo>(context, AttributeName, Parse.Run, Emit.Run);
}
