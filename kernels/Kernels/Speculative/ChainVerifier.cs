using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// One generated chain verifier (speculative decoding with a single draft): its ILGPU and CPU entry points. Generated
/// launchers hold one in a static field and call <see cref="Launch"/> or <see cref="Run"/>; validation and dispatch live
/// here once.
/// </summary>
/// <remarks>
/// <para><b>Inputs</b> (row-major): target probabilities p [B, L+1, V], draft probabilities q [B, L, V] and the drafted
/// tokens x [B, L] (x_k drawn from q_k). <b>Outputs</b>: accepted [B], the number n of drafts accepted (0..L), and
/// emitted [B, L+1]: x_0..x_{n−1}, then one more token, then −1.</para>
/// <para><b>Algorithm</b> (every backend, the same decisions): for k = 0..L−1, accept x_k when u_k·q_k(x_k) &lt;
/// p_k(x_k), i.e. with probability min(1, p/q); at the first rejection n = k, draw the extra token from
/// norm(max(0, p_n − q_n)); when all L are accepted, draw the bonus token from p_L. Draws are exact inverse-CDF with a
/// double running sum (p_L and the residual are normalised by their sums). The accept tests compare raw values, so the
/// rows p_k and q_k (k &lt; L) must be normalised distributions — e.g. renormalised after top-k/top-p
/// (<see cref="TruncatedProbabilities"/>); the multi-draft and tree verifiers normalise their rows themselves. The
/// emitted tokens then follow the target exactly: P(x_0 = v) = p_0(v), and each later emitted token follows its p_k given
/// the earlier ones.</para>
/// <para><b>Residual mass 0</b>: when p ≈ q the residual Σ max(0, p_n − q_n) can be exactly 0 in float (p and q equal, or
/// p ≤ q everywhere through rounding of their normalisation) although the draft was rejected; the extra token is then
/// drawn from p_n itself (no NaN; documented fallback, exact in the limit p = q).</para>
/// <para><b>Randomness</b>: row b uses its own key (<see cref="PerRowKeys"/>) or the launch key with stream
/// <c>Stream + b</c>; the accept test of draft k uses <c>Rng.Block(key, k, offset)</c> and the final draw position L,
/// each as a 52-bit open uniform. A launch consumes <see cref="OffsetsPerLaunch"/> offset. Accept decisions are exact
/// (a double product of a float and a 52-bit uniform) and identical on every backend; the final draw agrees except at
/// near-ties of the running sum (≈1e-12 relative), as for <see cref="CategoricalSampler"/>.</para>
/// <para><b>Invalid rows</b>: a drafted token outside [0, V), or a NaN, negative or infinite value among the
/// probabilities verification reads (p_k(x_k) and q_k(x_k) for the positions tested, the whole of p_n and q_n for the
/// final draw), or a final row with no mass at all, gives accepted = −1 and every emitted token −1. Values verification
/// never reads (the rest of the rows of accepted positions) are not checked: <see cref="ExpectedAcceptanceKernel"/> reads
/// everything. <b>q = 0 at a drafted token</b> (impossible under the draft law) accepts when p &gt; 0 (the limit of
/// min(1, p/q)) and rejects when p = 0. Nothing is ever read or written outside the buffers.</para>
/// <para><b>Cost</b>: L accept tests read two floats each; the final draw reads one or two rows. Per row about 2V floats
/// of traffic instead of (2L + 1)·V.</para>
/// </remarks>
public sealed unsafe class ChainVerifier
{
    /// <summary>The signature of a generated CPU kernel.</summary>
    public delegate void CpuEntry(nint target, nint draft, nint draftTokens, nint keys, nint uniforms, nint accepted, nint emitted, ChainArgs args);

    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<RngKey>, ArrayView<double>, ArrayView<int>, ArrayView<int>, ChainArgs> _ilgpu;
    private readonly CpuEntry _cpu;

    /// <summary>Describes a generated verifier.</summary>
    public ChainVerifier(bool perRowKeys,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<RngKey>, ArrayView<double>, ArrayView<int>, ArrayView<int>, ChainArgs> ilgpu,
        CpuEntry cpu)
    {
        PerRowKeys = perRowKeys;
        _ilgpu = ilgpu;
        _cpu = cpu;
    }

    /// <summary>Whether keys come per row from a buffer.</summary>
    public bool PerRowKeys { get; }

    /// <summary>RNG offsets one launch consumes: 1.</summary>
    public const ulong OffsetsPerLaunch = 1;

    /// <summary>
    /// Verifies <paramref name="batch"/> rows of <paramref name="length"/> drafted tokens over a vocabulary of
    /// <paramref name="cols"/>, on buffers of <paramref name="runtime"/>, and waits. Every argument is checked first; on
    /// an exception nothing has been launched. Returns <paramref name="offset"/> + <see cref="OffsetsPerLaunch"/>.
    /// </summary>
    public ulong Launch(KernelRuntime runtime, KernelBuffer<float> target, KernelBuffer<float> draft, KernelBuffer<int> draftTokens,
        KernelBuffer<int> accepted, KernelBuffer<int> emitted, int batch, int length, int cols,
        RngKey key = default, KernelBuffer<RngKey>? keys = null, ulong offset = 0) =>
        LaunchCore(runtime, target, draft, draftTokens, accepted, emitted, batch, length, cols, key, keys, offset, null);

    /// <summary><see cref="Launch"/> with the uniforms [B, L+1] given explicitly (tests: the same decisions as a reference).</summary>
    internal void LaunchWithUniforms(KernelRuntime runtime, KernelBuffer<float> target, KernelBuffer<float> draft, KernelBuffer<int> draftTokens,
        KernelBuffer<int> accepted, KernelBuffer<int> emitted, int batch, int length, int cols, KernelBuffer<double> uniforms)
    {
        ArgumentNullException.ThrowIfNull(uniforms);
        LaunchCore(runtime, target, draft, draftTokens, accepted, emitted, batch, length, cols, default, null, 0, uniforms);
    }

    // Kept out of LaunchCore: its closure would otherwise be allocated on every call, cpu launches included.
    private void LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> target, KernelBuffer<float> draft, KernelBuffer<int> draftTokens,
        KernelBuffer<RngKey>? keys, KernelBuffer<double>? uniforms, KernelBuffer<int> accepted, KernelBuffer<int> emitted, ChainArgs args)
    {
        var kernel = runtime.GetKernel(_ilgpu.Method, accelerator =>
            global::ILGPU.Runtime.KernelLoaders.LoadStreamKernel(accelerator, _ilgpu));
        runtime.LaunchAndWait(() => kernel(
            new KernelConfig(args.Batch, runtime.GroupSize), // one group per row
            target.View, draft.View, draftTokens.View, keys is null ? default : keys.View, uniforms is null ? default : uniforms.View,
            accepted.View, emitted.View, args));
    }

    private ulong LaunchCore(KernelRuntime runtime, KernelBuffer<float> target, KernelBuffer<float> draft, KernelBuffer<int> draftTokens,
        KernelBuffer<int> accepted, KernelBuffer<int> emitted, int batch, int length, int cols, RngKey key, KernelBuffer<RngKey>? keys,
        ulong offset, KernelBuffer<double>? uniforms)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = CheckBuffers(runtime, target, draft, draftTokens, accepted, emitted, batch, length, cols, key, keys, offset, uniforms is null,
            nameof(target), nameof(draft));
        if (uniforms is not null)
        {
            Guard.Buffer(runtime, uniforms, Guard.Elements(batch, length + 1), nameof(uniforms));
            args.ExplicitUniforms = 1;
        }
        if (batch == 0)
            return unchecked(offset + OffsetsPerLaunch);

        if (runtime.IsIlgpu)
            LaunchIlgpu(runtime, target, draft, draftTokens, keys, uniforms, accepted, emitted, args);
        else
        {
            runtime.ThrowIfDisposed();
            _cpu((nint)target.Host, (nint)draft.Host, (nint)draftTokens.Host, keys is null ? 0 : (nint)keys.Host,
                uniforms is null ? 0 : (nint)uniforms.Host, (nint)accepted.Host, (nint)emitted.Host, args);
        }
        return unchecked(offset + OffsetsPerLaunch);
    }

    /// <summary>
    /// Every check of a launch on buffers (the target and draft rows named <paramref name="targetName"/> and
    /// <paramref name="draftName"/>: probabilities here, logits for <see cref="ChainLogitVerifier"/>); returns its arguments.
    /// </summary>
    internal ChainArgs CheckBuffers<TRow>(KernelRuntime runtime, KernelBuffer<TRow> target, KernelBuffer<TRow> draft, KernelBuffer<int> draftTokens,
        KernelBuffer<int> accepted, KernelBuffer<int> emitted, int batch, int length, int cols, RngKey key, KernelBuffer<RngKey>? keys, ulong offset,
        bool needsKeys, string targetName, string draftName)
        where TRow : unmanaged
    {
        var args = Arguments(batch, length, cols, key, offset);
        Rng.RequireFloat64(runtime, "Chain verification's float64 running sum and accept test need");
        Guard.Buffer(runtime, target, SpeculativeShape.Elements(batch, length + 1L, cols, nameof(length)), targetName);
        Guard.Buffer(runtime, draft, SpeculativeShape.Elements(batch, length, cols, nameof(length)), draftName);
        Guard.Buffer(runtime, draftTokens, Guard.Elements(batch, length), nameof(draftTokens));
        Guard.Buffer(runtime, accepted, batch, nameof(accepted));
        Guard.Buffer(runtime, emitted, Guard.Elements(batch, length + 1), nameof(emitted));
        Guard.Distinct(draftTokens, accepted, nameof(accepted), nameof(draftTokens));
        Guard.Distinct(draftTokens, emitted, nameof(emitted), nameof(draftTokens));
        Guard.Distinct(accepted, emitted, nameof(emitted), nameof(accepted));
        if (PerRowKeys && needsKeys)
            Guard.Buffer(runtime, keys, batch, nameof(keys));
        return args;
    }

    /// <summary>
    /// Runs on host memory: in place on the <c>cpu</c> backend, through temporary device buffers elsewhere. Same checks,
    /// outcomes and return value as <see cref="Launch"/>.
    /// </summary>
    public ulong Run(KernelRuntime runtime, ReadOnlySpan<float> target, ReadOnlySpan<float> draft, ReadOnlySpan<int> draftTokens,
        Span<int> accepted, Span<int> emitted, int batch, int length, int cols,
        RngKey key = default, ReadOnlySpan<RngKey> keys = default, ulong offset = 0)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = CheckSpans(runtime, target.Length, draft.Length, draftTokens.Length, accepted.Length, emitted.Length, keys.Length,
            batch, length, cols, key, offset, nameof(target), nameof(draft));
        long targetElements = SpeculativeShape.Elements(batch, length + 1L, cols, nameof(length));
        long draftElements = SpeculativeShape.Elements(batch, length, cols, nameof(length));
        long tokenElements = Guard.Elements(batch, length);
        long emittedElements = Guard.Elements(batch, length + 1);
        if (batch == 0)
            return unchecked(offset + OffsetsPerLaunch);

        if (!runtime.IsIlgpu)
        {
            fixed (float* p = target, q = draft)
            fixed (int* x = draftTokens, n = accepted, e = emitted)
            fixed (RngKey* k = keys)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)p, (nint)q, (nint)x, (nint)k, 0, (nint)n, (nint)e, args);
            }
            return unchecked(offset + OffsetsPerLaunch);
        }
        using var targetBuffer = runtime.Upload(target[..(int)targetElements]);
        // L = 0 (bonus token only): the kernel reads no draft, but device buffers are never empty.
        using var draftBuffer = draftElements == 0 ? runtime.Allocate<float>(1) : runtime.Upload(draft[..(int)draftElements]);
        using var tokenBuffer = tokenElements == 0 ? runtime.Allocate<int>(1) : runtime.Upload(draftTokens[..(int)tokenElements]);
        using var acceptedBuffer = runtime.Allocate<int>(batch);
        using var emittedBuffer = runtime.Allocate<int>((int)emittedElements);
        using var keyBuffer = PerRowKeys ? runtime.Upload(keys[..batch]) : null;
        ulong next = Launch(runtime, targetBuffer, draftBuffer, tokenBuffer, acceptedBuffer, emittedBuffer, batch, length, cols, key, keyBuffer, offset);
        acceptedBuffer.CopyTo(accepted[..batch]);
        emittedBuffer.CopyTo(emitted[..(int)emittedElements]);
        return next;
    }


    /// <summary>Every check of a call on host spans (given by their lengths); returns its arguments.</summary>
    internal ChainArgs CheckSpans(KernelRuntime runtime, int target, int draft, int draftTokens, int accepted, int emitted, int keys,
        int batch, int length, int cols, RngKey key, ulong offset, string targetName, string draftName)
    {
        var args = Arguments(batch, length, cols, key, offset);
        Rng.RequireFloat64(runtime, "Chain verification's float64 running sum and accept test need");
        Guard.Span(target, SpeculativeShape.Elements(batch, length + 1L, cols, nameof(length)), targetName);
        Guard.Span(draft, SpeculativeShape.Elements(batch, length, cols, nameof(length)), draftName);
        Guard.Span(draftTokens, Guard.Elements(batch, length), nameof(draftTokens));
        Guard.Span(accepted, batch, nameof(accepted));
        Guard.Span(emitted, Guard.Elements(batch, length + 1), nameof(emitted));
        if (PerRowKeys)
            Guard.Span(keys, batch, nameof(keys));
        return args;
    }

    private ChainArgs Arguments(int batch, int length, int cols, RngKey key, ulong offset)
    {
        Guard.AtLeast(batch, 0, nameof(batch));
        Guard.AtLeast(length, 0, nameof(length));
        Guard.AtLeast(cols, 1, nameof(cols));
        SpeculativeShape.PlusOneFits(length, nameof(length));
        return new ChainArgs
        {
            Batch = batch,
            Length = length,
            Cols = cols,
            PerRowKeys = PerRowKeys ? 1 : 0,
            Key = key,
            Offset = offset,
        };
    }
}
