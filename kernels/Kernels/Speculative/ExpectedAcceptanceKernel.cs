using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// One generated expected-acceptance diagnostic: β[b, k] = Σ_v min(p[b, k, v], q[b, k, v]) = 1 − TV(p_k, q_k), the
/// probability that chain verification accepts position k's draft once it reaches it, for target p [B, L+1, V] and
/// draft q [B, L, V] laid out as for <see cref="ChainVerifier"/>. The expected number of accepted drafts of a row is
/// Σ_n Π_{k&lt;n} β_k (n = 1..L) when the positions' distributions do not depend on the drafted prefix.
/// </summary>
/// <remarks>
/// Reads every value once; a pair whose p or q holds a NaN, negative or infinite value gives NaN. Sums run in double
/// (on `cpu`: float within 64-column blocks, blocks added in double),
/// rounded to float at the end. The optimal acceptance of multi-draft verification is
/// <see cref="MultiDraft.OptimalAcceptance"/> (host side, V ≤ 16).
/// </remarks>
public sealed unsafe class ExpectedAcceptanceKernel
{
    /// <summary>The signature of a generated CPU kernel.</summary>
    public delegate void CpuEntry(nint target, nint draft, nint acceptance, AcceptanceArgs args);

    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, AcceptanceArgs> _ilgpu;
    private readonly CpuEntry _cpu;

    /// <summary>Describes a generated diagnostic kernel.</summary>
    public ExpectedAcceptanceKernel(Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, AcceptanceArgs> ilgpu, CpuEntry cpu)
    {
        _ilgpu = ilgpu;
        _cpu = cpu;
    }

    /// <summary>
    /// Writes β [B, L] for <paramref name="batch"/> rows of <paramref name="length"/> positions on buffers of
    /// <paramref name="runtime"/>, and waits. Every argument is checked first.
    /// </summary>
    public void Launch(KernelRuntime runtime, KernelBuffer<float> target, KernelBuffer<float> draft, KernelBuffer<float> acceptance,
        int batch, int length, int cols)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(runtime, batch, length, cols);
        Guard.Buffer(runtime, target, SpeculativeShape.Elements(batch, length + 1L, cols, nameof(length)), nameof(target));
        Guard.Buffer(runtime, draft, SpeculativeShape.Elements(batch, length, cols, nameof(length)), nameof(draft));
        Guard.Buffer(runtime, acceptance, Guard.Elements(batch, length), nameof(acceptance));
        Guard.Distinct(target, acceptance, nameof(acceptance), nameof(target));
        Guard.Distinct(draft, acceptance, nameof(acceptance), nameof(draft));
        if (batch == 0 || length == 0)
            return;
        if (runtime.IsIlgpu)
            LaunchIlgpu(runtime, target, draft, acceptance, args);
        else
        {
            runtime.ThrowIfDisposed();
            _cpu((nint)target.Host, (nint)draft.Host, (nint)acceptance.Host, args);
        }
    }

    // Kept out of Launch: its closure would otherwise be allocated on every call, cpu launches included.
    private void LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> target, KernelBuffer<float> draft, KernelBuffer<float> acceptance, AcceptanceArgs args)
    {
        var kernel = runtime.GetKernel(_ilgpu.Method, accelerator =>
            global::ILGPU.Runtime.KernelLoaders.LoadStreamKernel(accelerator, _ilgpu));
        runtime.LaunchAndWait(() => kernel(new KernelConfig(args.Batch * args.Length, runtime.GroupSize), target.View, draft.View, acceptance.View, args));
    }

    /// <summary>Runs on host memory: in place on the <c>cpu</c> backend, through temporary device buffers elsewhere.</summary>
    public void Run(KernelRuntime runtime, ReadOnlySpan<float> target, ReadOnlySpan<float> draft, Span<float> acceptance, int batch, int length, int cols)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(runtime, batch, length, cols);
        long targetElements = SpeculativeShape.Elements(batch, length + 1L, cols, nameof(length));
        long draftElements = SpeculativeShape.Elements(batch, length, cols, nameof(length));
        Guard.Span(target.Length, targetElements, nameof(target));
        Guard.Span(draft.Length, draftElements, nameof(draft));
        Guard.Span(acceptance.Length, Guard.Elements(batch, length), nameof(acceptance));
        if (batch == 0 || length == 0)
            return;
        if (!runtime.IsIlgpu)
        {
            fixed (float* p = target, q = draft, beta = acceptance)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)p, (nint)q, (nint)beta, args);
            }
            return;
        }
        using var targetBuffer = runtime.Upload(target[..(int)targetElements]);
        using var draftBuffer = runtime.Upload(draft[..(int)draftElements]);
        using var betaBuffer = runtime.Allocate<float>(batch * length);
        Launch(runtime, targetBuffer, draftBuffer, betaBuffer, batch, length, cols);
        betaBuffer.CopyTo(acceptance[..(batch * length)]);
    }

    private static AcceptanceArgs Arguments(KernelRuntime runtime, int batch, int length, int cols)
    {
        Guard.AtLeast(batch, 0, nameof(batch));
        Guard.AtLeast(length, 0, nameof(length));
        Guard.AtLeast(cols, 1, nameof(cols));
        SpeculativeShape.PlusOneFits(length, nameof(length));
        Rng.RequireFloat64(runtime, "The expected-acceptance kernel's float64 sums need");
        SpeculativeShape.RowsFit(batch, length, nameof(length));
        return new AcceptanceArgs { Batch = batch, Length = length, Cols = cols };
    }
}
