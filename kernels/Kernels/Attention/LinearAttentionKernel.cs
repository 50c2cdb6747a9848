using System;
using ILGPU;

namespace Kernels;

/// <summary>
/// The entry points of one declared linear-attention kernel (<c>[AttentionKernel(AttentionKind.Linear)]</c>): the ILGPU
/// and CPU state kernels, specialised on the declared head dimension. A <see cref="LinearAttention"/> runs through one.
/// </summary>
public sealed class LinearAttentionKernel
{
    /// <summary>The signature of a CPU kernel.</summary>
    public delegate void CpuEntry(nint q, nint k, nint v, nint o, nint state, nint projection, LinearAttentionArgs args);

    /// <summary>Describes a declared kernel.</summary>
    /// <param name="headDim">The declared head dimension (1 to <see cref="LinearAttentionDevice.MaxFeatures"/>), or 0 for any.</param>
    /// <param name="ilgpu">The ILGPU kernel.</param>
    /// <param name="cpu">The CPU kernel.</param>
    public LinearAttentionKernel(int headDim,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LinearAttentionArgs> ilgpu,
        CpuEntry cpu)
    {
        if (headDim < 0 || headDim > LinearAttentionDevice.MaxFeatures)
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, $"headDim must be 0 (any) or 1 to {LinearAttentionDevice.MaxFeatures}.");
        HeadDim = headDim;
        Ilgpu = ilgpu ?? throw new ArgumentNullException(nameof(ilgpu));
        Cpu = cpu ?? throw new ArgumentNullException(nameof(cpu));
    }

    /// <summary>The declared head dimension, 0 for any.</summary>
    public int HeadDim { get; }

    internal Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LinearAttentionArgs> Ilgpu { get; }

    internal CpuEntry Cpu { get; }
}
