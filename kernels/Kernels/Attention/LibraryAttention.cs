using System;
using ILGPU;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// Block attention over any head dimension up to <see cref="BlockAttentionKernel.MaxHeadDim"/>: (O, LSE) of queries
/// against keys and values, with GQA, causal and key-length masks and an optional bias. See
/// <see cref="BlockAttentionKernel"/> for the layout and outcomes.
/// </summary>
public static class BlockAttention
{
    /// <summary>The ILGPU kernel (CUDA, OpenCL, ilgpu-cpu): one group per (head, query row).</summary>
    [KernelEntryPoint]
    public static void IlgpuKernel(ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> bias,
        ArrayView<float> o, ArrayView<float> lse, AttentionArgs args) =>
        BlockAttentionDevice.Row(q, k, v, bias, o, lse, args);

    /// <summary>The CPU kernel (cpu backend); arguments are addresses of the data.</summary>
    public static void CpuKernel(nint q, nint k, nint v, nint bias, nint o, nint lse, AttentionArgs args) =>
        BlockAttentionCpu.Run(q, k, v, bias, o, lse, args);

    /// <summary>This declaration's descriptor: both entry points, validation and dispatch.</summary>
    public static BlockAttentionKernel Kernel { get; } = new(IlgpuKernel, CpuKernel);

    /// <summary>(O, LSE) on buffers of <paramref name="runtime"/>; see <see cref="BlockAttentionKernel.Launch"/>.</summary>
    public static void Launch(KernelRuntime runtime, KernelBuffer<float> q, KernelBuffer<float> k, KernelBuffer<float> v,
        KernelBuffer<float> output, KernelBuffer<float> lse, AttentionShape shape, BlockAttentionOptions options = default,
        KernelBuffer<float>? bias = null) =>
        Kernel.Launch(runtime, q, k, v, output, lse, shape, options, bias);

    /// <summary>(O, LSE) on host memory; see <see cref="BlockAttentionKernel.Run(KernelRuntime, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, AttentionShape, BlockAttentionOptions, ReadOnlySpan{float})"/>.</summary>
    public static void Run(KernelRuntime runtime, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        Span<float> output, Span<float> lse, AttentionShape shape, BlockAttentionOptions options = default,
        ReadOnlySpan<float> bias = default) =>
        Kernel.Run(runtime, q, k, v, output, lse, shape, options, bias);

    /// <summary>(O, LSE) into a host state.</summary>
    public static void Run(KernelRuntime runtime, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        AttentionState state, AttentionShape shape, BlockAttentionOptions options = default, ReadOnlySpan<float> bias = default) =>
        Kernel.Run(runtime, q, k, v, state, shape, options, bias);
}
