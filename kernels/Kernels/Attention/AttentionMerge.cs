using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Cpu;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// Merges attention states computed over disjoint key sets: (O_a, LSE_a) ⊕ (O_b, LSE_b) = (O, LSE) with
/// LSE = ln(e^LSE_a + e^LSE_b) and O = (w_a·O_a + w_b·O_b)/(w_a + w_b), w = e^(LSE − max(LSE_a, LSE_b)): the attention
/// over the union of the key sets. The weights are relative to the larger LSE, so nothing overflows whatever the
/// difference (1000 nats included) and no epsilon biases the result.
/// </summary>
/// <remarks>
/// The merge is commutative bit for bit and associative up to float rounding; the empty state (O = 0, LSE = −inf) is its
/// identity and two empty states merge to an empty state (never NaN). A NaN LSE makes the merged row NaN; two +inf
/// LSEs (overflowed states) merge to NaN. Outputs may be the first state's buffers (in place).
/// </remarks>
public static unsafe class AttentionMerge
{
    /// <summary>
    /// Writes (O, LSE) = (O_a, LSE_a) ⊕ (O_b, LSE_b) for <paramref name="rows"/> rows on buffers of
    /// <paramref name="runtime"/> and waits. <paramref name="output"/>/<paramref name="lse"/> may be
    /// <paramref name="outputA"/>/<paramref name="lseA"/> (in place), not the second state's.
    /// </summary>
    public static void Launch(KernelRuntime runtime, KernelBuffer<float> outputA, KernelBuffer<float> lseA,
        KernelBuffer<float> outputB, KernelBuffer<float> lseB, KernelBuffer<float> output, KernelBuffer<float> lse, int rows, int headDim)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(rows, headDim);
        long elements = Guard.Elements(rows, headDim);
        Guard.Buffer(runtime, outputA, elements, nameof(outputA));
        Guard.Buffer(runtime, lseA, rows, nameof(lseA));
        Guard.Buffer(runtime, outputB, elements, nameof(outputB));
        Guard.Buffer(runtime, lseB, rows, nameof(lseB));
        Guard.Buffer(runtime, output, elements, nameof(output));
        Guard.Buffer(runtime, lse, rows, nameof(lse));
        if (ReferenceEquals(output, outputB) || ReferenceEquals(lse, lseB))
            throw new ArgumentException("the merged state may overwrite the first state, not the second.", nameof(output));
        if (ReferenceEquals(output, lse) || ReferenceEquals(outputA, lseA) || ReferenceEquals(outputB, lseB))
            throw new ArgumentException("outputs and LSEs must be distinct buffers.", nameof(lse));
        if (rows == 0)
            return;
        if (runtime.IsIlgpu)
            LaunchIlgpu(runtime, outputA, lseA, outputB, lseB, output, lse, args);
        else
        {
            runtime.ThrowIfDisposed();
            CpuKernel((nint)outputA.Host, (nint)lseA.Host, (nint)outputB.Host, (nint)lseB.Host, (nint)output.Host, (nint)lse.Host, args);
        }
    }

    /// <summary>(O, LSE) ⊕= (O_other, LSE_other) in place on buffers of <paramref name="runtime"/>.</summary>
    public static void LaunchInPlace(KernelRuntime runtime, KernelBuffer<float> output, KernelBuffer<float> lse,
        KernelBuffer<float> otherOutput, KernelBuffer<float> otherLse, int rows, int headDim) =>
        Launch(runtime, output, lse, otherOutput, otherLse, output, lse, rows, headDim);

    // Kept out of Launch: its closure would otherwise be allocated on every call, cpu launches included.
    private static void LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> outputA, KernelBuffer<float> lseA,
        KernelBuffer<float> outputB, KernelBuffer<float> lseB, KernelBuffer<float> output, KernelBuffer<float> lse, AttentionMergeArgs args)
    {
        var kernel = runtime.GetKernel(typeof(AttentionMerge), accelerator =>
            accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionMergeArgs>(IlgpuKernel));
        runtime.LaunchAndWait(() => kernel(new KernelConfig(args.Rows, runtime.GroupSize),
            outputA.View, lseA.View, outputB.View, lseB.View, output.View, lse.View, args));
    }

    /// <summary>
    /// Writes (O, LSE) = (O_a, LSE_a) ⊕ (O_b, LSE_b) on host memory (zero-copy on <c>cpu</c>). The output may be the
    /// first state's memory exactly (in place); no other overlap is allowed.
    /// </summary>
    public static void Run(KernelRuntime runtime, ReadOnlySpan<float> outputA, ReadOnlySpan<float> lseA,
        ReadOnlySpan<float> outputB, ReadOnlySpan<float> lseB, Span<float> output, Span<float> lse, int rows, int headDim)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(rows, headDim);
        int elements = checked((int)Guard.Elements(rows, headDim));
        Guard.Span(outputA.Length, elements, nameof(outputA));
        Guard.Span(lseA.Length, rows, nameof(lseA));
        Guard.Span(outputB.Length, elements, nameof(outputB));
        Guard.Span(lseB.Length, rows, nameof(lseB));
        Guard.Span(output.Length, elements, nameof(output));
        Guard.Span(lse.Length, rows, nameof(lse));
        ReadOnlySpan<float> o = output[..elements], l = lse[..rows];
        if (!Exactly(o, outputA[..elements]) && (o.Overlaps(outputA) || o.Overlaps(lseA)))
            throw new ArgumentException("output may be the first state's output exactly, or not overlap it.", nameof(output));
        if (!Exactly(l, lseA[..rows]) && (l.Overlaps(lseA) || l.Overlaps(outputA)))
            throw new ArgumentException("lse may be the first state's LSE exactly, or not overlap it.", nameof(lse));
        if (o.Overlaps(outputB) || o.Overlaps(lseB) || l.Overlaps(outputB) || l.Overlaps(lseB) || o.Overlaps(l))
            throw new ArgumentException("the merged state must not overlap the second state, and its output not its LSE.", nameof(output));
        if (rows == 0)
            return;
        if (!runtime.IsIlgpu)
        {
            fixed (float* oa = outputA, la = lseA, ob = outputB, lb = lseB, op = output, lp = lse)
            {
                runtime.ThrowIfDisposed();
                CpuKernel((nint)oa, (nint)la, (nint)ob, (nint)lb, (nint)op, (nint)lp, args);
            }
            return;
        }
        using var aBuffer = runtime.Upload(outputA[..elements]);
        using var laBuffer = runtime.Upload(lseA[..rows]);
        using var bBuffer = runtime.Upload(outputB[..elements]);
        using var lbBuffer = runtime.Upload(lseB[..rows]);
        Launch(runtime, aBuffer, laBuffer, bBuffer, lbBuffer, aBuffer, laBuffer, rows, headDim);
        aBuffer.CopyTo(output[..elements]);
        laBuffer.CopyTo(lse[..rows]);
    }

    /// <summary>(O, LSE) ⊕= (O_other, LSE_other) in place on host memory.</summary>
    public static void RunInPlace(KernelRuntime runtime, Span<float> output, Span<float> lse,
        ReadOnlySpan<float> otherOutput, ReadOnlySpan<float> otherLse, int rows, int headDim) =>
        Run(runtime, output, lse, otherOutput, otherLse, output, lse, rows, headDim);

    /// <summary><paramref name="state"/> ⊕= <paramref name="other"/> (same rows and head dimension).</summary>
    public static void RunInPlace(KernelRuntime runtime, AttentionState state, AttentionState other)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(other);
        if (state.Rows != other.Rows || state.HeadDim != other.HeadDim)
            throw new ArgumentException($"other holds {other.Rows} rows of {other.HeadDim}; state holds {state.Rows} rows of {state.HeadDim}.", nameof(other));
        if (ReferenceEquals(state, other))
            throw new ArgumentException("a state cannot be merged with itself (its keys are not disjoint from its own).", nameof(other));
        RunInPlace(runtime, state.Output, state.Lse, other.Output, other.Lse, checked((int)state.Rows), state.HeadDim);
    }

    /// <summary>The ILGPU kernel: one group per row, threads over the output dimensions.</summary>
    [KernelEntryPoint]
    public static void IlgpuKernel(ArrayView<float> outputA, ArrayView<float> lseA, ArrayView<float> outputB, ArrayView<float> lseB,
        ArrayView<float> output, ArrayView<float> lse, AttentionMergeArgs args)
    {
        int row = Grid.IdxX;
        if (row >= args.Rows)
            return;
        int tid = Group.IdxX, size = Group.DimX, d = args.HeadDim;
        float merged = AttentionMath.Merge(lseA[row], lseB[row], out float wa, out float wb);
        float inverse = AttentionMath.InverseWeight(wa, wb);
        long start = (long)row * d;
        for (int c0 = 0; c0 < d; c0 += size)
        {
            int c = c0 + tid;
            if (c < d)
                output[start + c] = (wa * outputA[start + c] + wb * outputB[start + c]) * inverse;
        }
        // In place, lse is lseA: every thread has read it before thread 0 overwrites it.
        Group.Barrier();
        if (tid == 0)
            lse[row] = merged;
    }

    /// <summary>The CPU kernel: rows spread over cores, each row vectorised.</summary>
    public static void CpuKernel(nint outputA, nint lseA, nint outputB, nint lseB, nint output, nint lse, AttentionMergeArgs args) =>
        RowScheduler.For(args.Rows, args.HeadDim, new Job((float*)outputA, (float*)lseA, (float*)outputB, (float*)lseB, (float*)output, (float*)lse, args));

    private readonly struct Job(float* outputA, float* lseA, float* outputB, float* lseB, float* output, float* lse, AttentionMergeArgs args) : IRowJob
    {
        public void Run(int start, int end)
        {
            int d = args.HeadDim;
            for (int row = start; row < end; row++)
            {
                float merged = AttentionMath.Merge(lseA[row], lseB[row], out float wa, out float wb);
                long offset = (long)row * d;
                AttentionVectors.Combine(output + offset, wa, outputA + offset, wb, outputB + offset, AttentionMath.InverseWeight(wa, wb), d);
                lse[row] = merged;
            }
        }
    }

    private static bool Exactly(ReadOnlySpan<float> a, ReadOnlySpan<float> b) =>
        a.Length == b.Length && System.Runtime.CompilerServices.Unsafe.AreSame(
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(a), ref System.Runtime.InteropServices.MemoryMarshal.GetReference(b));

    private static AttentionMergeArgs Arguments(int rows, int headDim)
    {
        Guard.AtLeast(rows, 0, nameof(rows));
        Guard.AtLeast(headDim, 1, nameof(headDim));
        return new AttentionMergeArgs { Rows = rows, HeadDim = headDim };
    }
}
