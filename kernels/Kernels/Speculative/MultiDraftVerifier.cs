using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// One generated multi-draft verifier (<see cref="SpeculativeKind.RecursiveRejection"/> or
/// <see cref="SpeculativeKind.KSeq"/>): its ILGPU and CPU entry points, validation and dispatch.
/// </summary>
/// <remarks>
/// <para><b>Inputs</b> (row-major): target probabilities p [B, V], draft probabilities q [B, V] (neither needs to be
/// normalised: each is divided by its sum) and k drafted tokens [B, k]. For RSD the drafts are drawn from q without
/// replacement, in drawing order (e.g. <see cref="GumbelTopK"/>'s order); for K-SEQ they are i.i.d. from q.
/// <b>Outputs</b>: slots [B], the index of the accepted draft or −1 when all were rejected, and tokens [B], the accepted
/// draft or the draw from the final residual. The token follows p exactly.</para>
/// <para><b>Algorithms</b> and the randomness layout: <see cref="DraftMachine"/>. Draft i's test uses
/// <c>Rng.Block(key, i, offset)</c>, the final draw position k, so k = 1 uses the counters of a chain of length 1. Row b
/// uses its own key (<see cref="PerRowKeys"/>) or the launch key with stream <c>Stream + b</c>. The same keys give the
/// same decisions on every backend, except at near-ties (≈1e-12 relative) of double sums taken in a different order
/// (the final draw's running sum, and for K-SEQ the β sums of the root search).</para>
/// <para><b>Invalid rows</b> (token −1, slot −1): a draft outside [0, V); for RSD two equal drafts (drafts without
/// replacement are distinct); a NaN, negative or infinite value anywhere in the row's p or q (both are read whole);
/// p or q with no mass. <b>q = 0 at a drafted token</b> (impossible under the draft law) accepts it when its residual
/// p is positive and rejects it otherwise, as chain verification does.</para>
/// <para><b>Cost</b>: RSD reads p and q once (validating sums), plus p and q once per rejected draft and once for the
/// final draw; K-SEQ reads them about a dozen times (ρ by safeguarded regula falsi). ILGPU: one group per row;
/// <c>cpu</c>: eight lanes.</para>
/// </remarks>
public sealed unsafe class MultiDraftVerifier
{
    /// <summary>The signature of a generated CPU kernel.</summary>
    public delegate void CpuEntry(nint target, nint draft, nint draftTokens, nint keys, nint uniforms, nint slots, nint tokens, DraftArgs args);

    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<RngKey>, ArrayView<double>, ArrayView<int>, ArrayView<int>, DraftArgs> _ilgpu;
    private readonly CpuEntry _cpu;
    private readonly int _method;

    /// <summary>Describes a generated verifier.</summary>
    public MultiDraftVerifier(SpeculativeKind kind, bool perRowKeys,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<RngKey>, ArrayView<double>, ArrayView<int>, ArrayView<int>, DraftArgs> ilgpu,
        CpuEntry cpu)
    {
        if (kind is not (SpeculativeKind.RecursiveRejection or SpeculativeKind.KSeq))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "a multi-draft verifier is RecursiveRejection or KSeq.");
        Kind = kind;
        _method = kind == SpeculativeKind.KSeq ? DraftRules.KSeq : DraftRules.RecursiveRejection;
        PerRowKeys = perRowKeys;
        _ilgpu = ilgpu;
        _cpu = cpu;
    }

    /// <summary>The algorithm.</summary>
    public SpeculativeKind Kind { get; }

    /// <summary>Whether keys come per row from a buffer.</summary>
    public bool PerRowKeys { get; }

    /// <summary>RNG offsets one launch consumes: 1.</summary>
    public const ulong OffsetsPerLaunch = 1;

    /// <summary>
    /// Verifies <paramref name="batch"/> rows of <paramref name="drafts"/> drafted tokens over a vocabulary of
    /// <paramref name="cols"/> on buffers of <paramref name="runtime"/>, and waits. Every argument is checked first; on an
    /// exception nothing has been launched. Returns <paramref name="offset"/> + <see cref="OffsetsPerLaunch"/>.
    /// </summary>
    public ulong Launch(KernelRuntime runtime, KernelBuffer<float> target, KernelBuffer<float> draft, KernelBuffer<int> draftTokens,
        KernelBuffer<int> slots, KernelBuffer<int> tokens, int batch, int drafts, int cols,
        RngKey key = default, KernelBuffer<RngKey>? keys = null, ulong offset = 0) =>
        LaunchCore(runtime, target, draft, draftTokens, slots, tokens, batch, drafts, cols, key, keys, offset, null);

    /// <summary><see cref="Launch"/> with the uniforms [B, k + 1] given explicitly (tests: the same decisions as a reference).</summary>
    internal void LaunchWithUniforms(KernelRuntime runtime, KernelBuffer<float> target, KernelBuffer<float> draft, KernelBuffer<int> draftTokens,
        KernelBuffer<int> slots, KernelBuffer<int> tokens, int batch, int drafts, int cols, KernelBuffer<double> uniforms)
    {
        ArgumentNullException.ThrowIfNull(uniforms);
        LaunchCore(runtime, target, draft, draftTokens, slots, tokens, batch, drafts, cols, default, null, 0, uniforms);
    }

    // Kept out of LaunchCore: its closure would otherwise be allocated on every call, cpu launches included.
    private void LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> target, KernelBuffer<float> draft, KernelBuffer<int> draftTokens,
        KernelBuffer<RngKey>? keys, KernelBuffer<double>? uniforms, KernelBuffer<int> slots, KernelBuffer<int> tokens, DraftArgs args)
    {
        var kernel = runtime.GetKernel(_ilgpu.Method, accelerator => KernelLoaders.LoadStreamKernel(accelerator, _ilgpu));
        runtime.LaunchAndWait(() => kernel(
            new KernelConfig(args.Batch, runtime.GroupSize), // one group per row
            target.View, draft.View, draftTokens.View, keys is null ? default : keys.View, uniforms is null ? default : uniforms.View,
            slots.View, tokens.View, args));
    }

    private ulong LaunchCore(KernelRuntime runtime, KernelBuffer<float> target, KernelBuffer<float> draft, KernelBuffer<int> draftTokens,
        KernelBuffer<int> slots, KernelBuffer<int> tokens, int batch, int drafts, int cols, RngKey key, KernelBuffer<RngKey>? keys,
        ulong offset, KernelBuffer<double>? uniforms)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(runtime, batch, drafts, cols, key, offset);
        Guard.Buffer(runtime, target, Guard.Elements(batch, cols), nameof(target));
        Guard.Buffer(runtime, draft, Guard.Elements(batch, cols), nameof(draft));
        Guard.Buffer(runtime, draftTokens, Guard.Elements(batch, drafts), nameof(draftTokens));
        Guard.Buffer(runtime, slots, batch, nameof(slots));
        Guard.Buffer(runtime, tokens, batch, nameof(tokens));
        Guard.Distinct(draftTokens, slots, nameof(slots), nameof(draftTokens));
        Guard.Distinct(draftTokens, tokens, nameof(tokens), nameof(draftTokens));
        Guard.Distinct(slots, tokens, nameof(tokens), nameof(slots));
        if (PerRowKeys && uniforms is null)
            Guard.Buffer(runtime, keys, batch, nameof(keys));
        if (uniforms is not null)
        {
            Guard.Buffer(runtime, uniforms, Guard.Elements(batch, drafts + 1), nameof(uniforms));
            args.ExplicitUniforms = 1;
        }
        if (batch == 0)
            return unchecked(offset + OffsetsPerLaunch);
        if (runtime.IsIlgpu)
            LaunchIlgpu(runtime, target, draft, draftTokens, keys, uniforms, slots, tokens, args);
        else
        {
            runtime.ThrowIfDisposed();
            _cpu((nint)target.Host, (nint)draft.Host, (nint)draftTokens.Host, keys is null ? 0 : (nint)keys.Host,
                uniforms is null ? 0 : (nint)uniforms.Host, (nint)slots.Host, (nint)tokens.Host, args);
        }
        return unchecked(offset + OffsetsPerLaunch);
    }

    /// <summary>
    /// Runs on host memory: in place on the <c>cpu</c> backend, through temporary device buffers elsewhere. Same checks,
    /// outcomes and return value as <see cref="Launch"/>.
    /// </summary>
    public ulong Run(KernelRuntime runtime, ReadOnlySpan<float> target, ReadOnlySpan<float> draft, ReadOnlySpan<int> draftTokens,
        Span<int> slots, Span<int> tokens, int batch, int drafts, int cols,
        RngKey key = default, ReadOnlySpan<RngKey> keys = default, ulong offset = 0)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(runtime, batch, drafts, cols, key, offset);
        long rowElements = Guard.Elements(batch, cols);
        long tokenElements = Guard.Elements(batch, drafts);
        Guard.Span(target.Length, rowElements, nameof(target));
        Guard.Span(draft.Length, rowElements, nameof(draft));
        Guard.Span(draftTokens.Length, tokenElements, nameof(draftTokens));
        Guard.Span(slots.Length, batch, nameof(slots));
        Guard.Span(tokens.Length, batch, nameof(tokens));
        if (PerRowKeys)
            Guard.Span(keys.Length, batch, nameof(keys));
        if (batch == 0)
            return unchecked(offset + OffsetsPerLaunch);
        if (!runtime.IsIlgpu)
        {
            fixed (float* p = target, q = draft)
            fixed (int* x = draftTokens, s = slots, t = tokens)
            fixed (RngKey* k = keys)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)p, (nint)q, (nint)x, (nint)k, 0, (nint)s, (nint)t, args);
            }
            return unchecked(offset + OffsetsPerLaunch);
        }
        using var targetBuffer = runtime.Upload(target[..(int)rowElements]);
        using var draftBuffer = runtime.Upload(draft[..(int)rowElements]);
        using var tokenBuffer = runtime.Upload(draftTokens[..(int)tokenElements]);
        using var slotBuffer = runtime.Allocate<int>(batch);
        using var outBuffer = runtime.Allocate<int>(batch);
        using var keyBuffer = PerRowKeys ? runtime.Upload(keys[..batch]) : null;
        ulong next = Launch(runtime, targetBuffer, draftBuffer, tokenBuffer, slotBuffer, outBuffer, batch, drafts, cols, key, keyBuffer, offset);
        slotBuffer.CopyTo(slots[..batch]);
        outBuffer.CopyTo(tokens[..batch]);
        return next;
    }

    private DraftArgs Arguments(KernelRuntime runtime, int batch, int drafts, int cols, RngKey key, ulong offset)
    {
        Guard.AtLeast(batch, 0, nameof(batch));
        Guard.AtLeast(drafts, 1, nameof(drafts));
        Guard.AtLeast(cols, 1, nameof(cols));
        if (drafts == int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(drafts), drafts, "drafts + 1 uniforms per row must fit an int.");
        Rng.RequireFloat64(runtime, "Multi-draft verification's float64 sums and accept tests need");
        return new DraftArgs
        {
            Batch = batch,
            Nodes = drafts + 1,
            Cols = cols,
            Method = _method,
            PerRowKeys = PerRowKeys ? 1 : 0,
            Key = key,
            Offset = offset,
        };
    }
}
