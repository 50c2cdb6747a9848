using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;

namespace Kernels.Generators;

/// <summary>
/// Emits, for each <c>[SparseMatMulKernel(N, M)]</c> declaration, the ILGPU kernel, the CPU kernel (both specialised on the
/// fused epilogue) and the typed launcher of an N:M product. Same pipeline as every family.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class SparseMatMulKernelGenerator : IIncrementalGenerator
{
    /// <summary>The attribute's metadata name.</summary>
    public const string AttributeName = "Kernels.SparseMatMulKernelAttribute";

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context) =>
        Pipeline.Register<SparseMatMulKernelInfo>(context, AttributeName, Parse.Run, Emit.Run);
}
