using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;

namespace Kernels.Generators;

/// <summary>
/// Emits, for each <c>[SamplerKernel]</c> declaration, the ILGPU kernel, the CPU kernel and the typed launcher of a
/// categorical, Gumbel-top-k or Gumbel-softmax sampler. Same pipeline as the softmax family: parse (symbol → equatable
/// model + diagnostics), then emit from the model alone.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class SamplerKernelGenerator : IIncrementalGenerator
{
    /// <summary>The attribute's metadata name.</summary>
    public const string AttributeName = "Kernels.SamplerKernelAttribute";

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context) =>
        Pipeline.Register<SamplerKernelInfo>(context, AttributeName, Parse.Run, Emit.Run);
}
