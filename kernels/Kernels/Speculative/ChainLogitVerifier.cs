using System;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// One generated chain verifier on logits: the target and draft distributions both come from the same decode pipeline
/// (temperature, top-k, top-p, min-p, a user transform — <see cref="DecodeStages"/>, as the decode sampler and the
/// truncation kernel declare them), request b's per-row parameters applying to its L + 1 target and L draft rows.
/// Generated launchers hold one in a static field; validation and dispatch live here once.
/// </summary>
/// <remarks>
/// <para><b>Same decisions as</b> <see cref="ChainVerifier"/> on the probabilities <see cref="Pipeline"/> writes for those
/// rows (renormalised over the kept set, <see cref="TruncationOutput.Probabilities"/>), with the same keys and offset.</para>
/// <para><b>cpu</b>: fused — each request stages the rows verification reaches into two thread-local rows (a position
/// costs one read of its two logit rows; positions after the first rejection are never read), no [B, L+1, V]
/// intermediate. <b>ILGPU</b>: the pipeline's kernel writes the processed rows into device scratch buffers allocated per
/// launch, then the chain kernel verifies them (two passes more over the rows than the fused form).</para>
/// <para><b>Rows</b>: a row the pipeline finds invalid (NaN or +inf logits, an invalid per-row parameter in a device
/// buffer) is a row of NaN, so a request that reads it is invalid (accepted = −1, emitted all −1); an all −inf row is a row of
/// zeros (a draft row: q = 0 at the drafted token, accepted when p &gt; 0; a target row: its drafts are rejected, and a
/// final row without mass makes the request invalid). Per-row parameters passed in host spans are checked and throw.</para>
/// </remarks>
public sealed unsafe class ChainLogitVerifier
{
    /// <summary>The signature of a generated fused CPU kernel.</summary>
    public delegate void CpuEntry(nint targetLogits, nint draftLogits, nint draftTokens, nint keys, nint temperatures, nint topK, nint topP,
        nint minP, nint accepted, nint emitted, ChainArgs args, DecodeArgs stages);

    private readonly TruncationKernel _pipeline;
    private readonly ChainVerifier _verifier;
    private readonly CpuEntry _cpu;

    /// <summary>Describes a generated verifier: its pipeline (the declaration's stages and transform), its verification and its fused CPU kernel.</summary>
    public ChainLogitVerifier(TruncationKernel pipeline, ChainVerifier verifier, CpuEntry cpu)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(verifier);
        if (pipeline.Output != TruncationOutput.Probabilities || pipeline.Stages.Context || pipeline.Stages.Probabilities)
            throw new ArgumentException("The pipeline must write renormalised probabilities from logits, without a context.", nameof(pipeline));
        _pipeline = pipeline;
        _verifier = verifier;
        _cpu = cpu;
    }

    /// <summary>The decode pipeline both distributions go through: the probabilities this verifier decides on, row by row.</summary>
    public TruncationKernel Pipeline => _pipeline;

    /// <summary>Whether keys come per row from a buffer.</summary>
    public bool PerRowKeys => _verifier.PerRowKeys;

    /// <summary>
    /// Verifies <paramref name="batch"/> requests of <paramref name="length"/> drafted tokens: target logits [B, L+1, V],
    /// draft logits [B, L, V], drafted tokens [B, L] → accepted [B] and emitted [B, L+1], on buffers of
    /// <paramref name="runtime"/>, and waits. The stage parameters the declaration names are per request ([B]). Every
    /// argument is checked first; on an exception nothing has been launched. Returns <paramref name="offset"/> + 1.
    /// </summary>
    public ulong Launch(KernelRuntime runtime, KernelBuffer<float> targetLogits, KernelBuffer<float> draftLogits, KernelBuffer<int> draftTokens,
        KernelBuffer<int> accepted, KernelBuffer<int> emitted, int batch, int length, int cols,
        float temperature = 1f, KernelBuffer<float>? temperatures = null, KernelBuffer<int>? topK = null, KernelBuffer<float>? topP = null,
        KernelBuffer<float>? minP = null, RngKey key = default, KernelBuffer<RngKey>? keys = null, ulong offset = 0)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = _verifier.CheckBuffers(runtime, targetLogits, draftLogits, draftTokens, accepted, emitted, batch, length, cols, key, keys, offset,
            true, nameof(targetLogits), nameof(draftLogits));
        var stages = StageArguments(batch, length, cols, temperature);
        _pipeline.Stages.CheckBuffers(runtime, batch, cols, temperatures, topK, topP, minP, null, null);
        ulong next = unchecked(offset + ChainVerifier.OffsetsPerLaunch);
        if (batch == 0)
            return next;
        if (runtime.IsIlgpu)
            return LaunchIlgpu(runtime, targetLogits, draftLogits, draftTokens, accepted, emitted, batch, length, cols, temperature, temperatures,
                topK, topP, minP, key, keys, offset);
        runtime.ThrowIfDisposed();
        _cpu((nint)targetLogits.Host, (nint)draftLogits.Host, (nint)draftTokens.Host, HostAddress.Of(keys), HostAddress.Of(temperatures),
            HostAddress.Of(topK), HostAddress.Of(topP), HostAddress.Of(minP), (nint)accepted.Host, (nint)emitted.Host, args, stages);
        return next;
    }

    // The pipeline into device scratch (request b's parameters for its rows), then the chain kernel on the probabilities.
    private ulong LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> targetLogits, KernelBuffer<float> draftLogits, KernelBuffer<int> draftTokens,
        KernelBuffer<int> accepted, KernelBuffer<int> emitted, int batch, int length, int cols, float temperature, KernelBuffer<float>? temperatures,
        KernelBuffer<int>? topK, KernelBuffer<float>? topP, KernelBuffer<float>? minP, RngKey key, KernelBuffer<RngKey>? keys, ulong offset)
    {
        using var p = runtime.Allocate<float>(Guard.Elements(batch * (length + 1), cols));
        using var q = runtime.Allocate<float>(Math.Max(1, Guard.Elements(batch * length, cols)));
        _pipeline.LaunchGrouped(runtime, targetLogits, p, batch * (length + 1), cols, length + 1, temperature, temperatures, topK, topP, minP);
        if (length > 0)
            _pipeline.LaunchGrouped(runtime, draftLogits, q, batch * length, cols, length, temperature, temperatures, topK, topP, minP);
        return _verifier.Launch(runtime, p, q, draftTokens, accepted, emitted, batch, length, cols, key, keys, offset);
    }

    /// <summary>
    /// Runs on host memory: fused in place on the <c>cpu</c> backend, through temporary device buffers elsewhere. Same
    /// checks, outcomes and return value as <see cref="Launch"/>; per-row parameters are checked too (they are arguments here).
    /// </summary>
    public ulong Run(KernelRuntime runtime, ReadOnlySpan<float> targetLogits, ReadOnlySpan<float> draftLogits, ReadOnlySpan<int> draftTokens,
        Span<int> accepted, Span<int> emitted, int batch, int length, int cols,
        float temperature = 1f, ReadOnlySpan<float> temperatures = default, ReadOnlySpan<int> topK = default, ReadOnlySpan<float> topP = default,
        ReadOnlySpan<float> minP = default, RngKey key = default, ReadOnlySpan<RngKey> keys = default, ulong offset = 0)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = _verifier.CheckSpans(runtime, targetLogits.Length, draftLogits.Length, draftTokens.Length, accepted.Length, emitted.Length,
            keys.Length, batch, length, cols, key, offset, nameof(targetLogits), nameof(draftLogits));
        var stages = StageArguments(batch, length, cols, temperature);
        _pipeline.Stages.CheckSpans(batch, cols, temperatures, topK, topP, minP, default, default);
        ulong next = unchecked(offset + ChainVerifier.OffsetsPerLaunch);
        if (batch == 0)
            return next;
        if (!runtime.IsIlgpu)
        {
            fixed (float* p = targetLogits, q = draftLogits, t = temperatures, pp = topP, mp = minP)
            fixed (int* x = draftTokens, n = accepted, e = emitted, kk = topK)
            fixed (RngKey* k = keys)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)p, (nint)q, (nint)x, (nint)k, (nint)t, (nint)kk, (nint)pp, (nint)mp, (nint)n, (nint)e, args, stages);
            }
            return next;
        }
        int targetElements = (int)Guard.Elements(batch * (length + 1), cols), draftElements = (int)Guard.Elements(batch * length, cols);
        var stage = _pipeline.Stages;
        using var targetBuffer = runtime.Upload(targetLogits[..targetElements]);
        // L = 0 (bonus token only): no draft rows, but device buffers are never empty.
        using var draftBuffer = draftElements == 0 ? runtime.Allocate<float>(1) : runtime.Upload(draftLogits[..draftElements]);
        using var tokenBuffer = length == 0 ? runtime.Allocate<int>(1) : runtime.Upload(draftTokens[..(batch * length)]);
        using var acceptedBuffer = runtime.Allocate<int>(batch);
        using var emittedBuffer = runtime.Allocate<int>(batch * (length + 1));
        using var keyBuffer = PerRowKeys ? runtime.Upload(keys[..batch]) : null;
        using var temperatureBuffer = stage.Temperature == TemperatureMode.PerRow ? runtime.Upload(temperatures[..batch]) : null;
        using var topKBuffer = stage.TopK ? runtime.Upload(topK[..batch]) : null;
        using var topPBuffer = stage.TopP ? runtime.Upload(topP[..batch]) : null;
        using var minPBuffer = stage.MinP ? runtime.Upload(minP[..batch]) : null;
        next = Launch(runtime, targetBuffer, draftBuffer, tokenBuffer, acceptedBuffer, emittedBuffer, batch, length, cols, temperature,
            temperatureBuffer, topKBuffer, topPBuffer, minPBuffer, key, keyBuffer, offset);
        acceptedBuffer.CopyTo(accepted[..batch]);
        emittedBuffer.CopyTo(emitted[..(batch * (length + 1))]);
        return next;
    }

    // The pipeline's arguments; its rows are indexed as int, so B·(L+1) must fit one.
    private DecodeArgs StageArguments(int batch, int length, int cols, float temperature)
    {
        SpeculativeShape.RowsFit(batch, length + 1, nameof(length));
        return _pipeline.Stages.Arguments(batch, cols, temperature, false);
    }
}
