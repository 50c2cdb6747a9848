using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// One generated decode sampler: temperature, an optional fused transform, and the top-k, top-p and min-p stages its
/// declaration names, with per-row (per-request) parameters and keys. Generated launchers hold one in a static field;
/// validation and dispatch live here once.
/// </summary>
/// <remarks>
/// <para><b>Law</b>: the kept set of <see cref="TruncationRules"/> (top-k, then min-p, then top-p on the renormalised
/// survivors), drawn with probability proportional to e = 2^(w − max w). Exact up to the float rounding of w and e.</para>
/// <para><b>Per-row parameters</b>: k ≤ 0 or k ≥ cols keeps every column (no top-k); p must lie in (0, 1] (1: no
/// top-p); min-p in [0, 1] (0: no min-p). A row whose temperature, p or min-p is out of its domain gets token −1 and
/// <see cref="SampleStatus.InvalidParameter"/>; NaN or +inf logits give −1 and <see cref="SampleStatus.InvalidData"/>;
/// an all −inf row −1 and <see cref="SampleStatus.Empty"/>. Tokens are otherwise in [0, cols) and inside the kept set.</para>
/// <para><b>Randomness</b>: round r of a row uses <c>Rng.Block(key, r, offset)</c>, with offset the launch offset plus,
/// with <c>PerRowOffsets</c>, the row's offsets[r] (each request its own counter); a launch consumes
/// <see cref="OffsetsPerLaunch"/> offset. Same keys and offset, same tokens on every backend except at near-ties of the
/// float64 running sums (≈1e-12 relative).</para>
/// <para><b>From probabilities</b> (<c>Probabilities = true</c>, no temperature): w = Transform(x) and e = w, min-p keeps
/// w ≥ min-p·max w; a negative, NaN or +inf value makes the row <see cref="SampleStatus.InvalidData"/>, an all-zero row
/// <see cref="SampleStatus.Empty"/>. Rows need not sum to 1.</para>
/// <para>ILGPU backends need double support (the float64 sums).</para>
/// </remarks>
public sealed unsafe class DecodeSampler
{
    /// <summary>The signature of a generated CPU kernel.</summary>
    public delegate void CpuEntry(nint logits, nint temperatures, nint keys, nint topK, nint topP, nint minP, nint offsets, nint context, nint parameters, nint tokens, nint status, DecodeArgs args);

    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<RngKey>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<ulong>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, DecodeArgs> _ilgpu;
    private readonly CpuEntry _cpu;
    private readonly DecodeStages _stages;

    /// <summary>Describes a generated sampler.</summary>
    public DecodeSampler(DecodeStages stages, bool perRowKeys, bool perRowOffsets,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<RngKey>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<ulong>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, DecodeArgs> ilgpu,
        CpuEntry cpu)
    {
        _stages = stages;
        PerRowKeys = perRowKeys;
        PerRowOffsets = perRowOffsets;
        _ilgpu = ilgpu;
        _cpu = cpu;
    }

    /// <summary>The stages the declaration names.</summary>
    public DecodeStages Stages => _stages;

    /// <summary>How the sampler takes its temperature.</summary>
    public TemperatureMode Temperature => _stages.Temperature;

    /// <summary>Whether keys come per row from a buffer.</summary>
    public bool PerRowKeys { get; }

    /// <summary>Whether row r adds an offset from a buffer to the launch offset (each request its own counter).</summary>
    public bool PerRowOffsets { get; }

    /// <summary>Whether the sampler has a top-k stage.</summary>
    public bool TopK => _stages.TopK;

    /// <summary>Whether the sampler has a top-p stage.</summary>
    public bool TopP => _stages.TopP;

    /// <summary>Whether the sampler has a min-p stage.</summary>
    public bool MinP => _stages.MinP;

    /// <summary>Whether its rows are probabilities (non-negative, any scale) rather than logits.</summary>
    public bool Probabilities => _stages.Probabilities;

    /// <summary>RNG offsets one launch consumes: 1.</summary>
    public const ulong OffsetsPerLaunch = 1;

    /// <summary>
    /// Draws one token per row of <paramref name="logits"/> [rows, cols] into <paramref name="tokens"/> [rows] (and the
    /// row's <see cref="SampleStatus"/> into <paramref name="status"/> when given), on buffers of
    /// <paramref name="runtime"/>, and waits. Every argument is checked first; on an exception nothing has been launched.
    /// Returns <paramref name="offset"/> + <see cref="OffsetsPerLaunch"/>.
    /// </summary>
    public ulong Launch(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<int> tokens, int rows, int cols,
        float temperature = 1f, KernelBuffer<float>? temperatures = null, KernelBuffer<int>? topK = null, KernelBuffer<float>? topP = null,
        KernelBuffer<float>? minP = null, RngKey key = default, KernelBuffer<RngKey>? keys = null, ulong offset = 0,
        KernelBuffer<int>? status = null, KernelBuffer<ulong>? offsets = null, KernelBuffer<float>? context = null, KernelBuffer<float>? parameters = null) =>
        LaunchCore(runtime, logits, tokens, rows, cols, temperature, temperatures, topK, topP, minP, key, keys, offset, status, offsets, context, parameters, TruncationRules.MaxRounds);

    /// <summary><see cref="Launch"/> with a chosen number of rejection rounds (tests: 0 forces the exact-cutoff path).</summary>
    internal ulong LaunchWithRounds(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<int> tokens, int rows, int cols,
        float temperature, KernelBuffer<float>? temperatures, KernelBuffer<int>? topK, KernelBuffer<float>? topP,
        KernelBuffer<float>? minP, RngKey key, KernelBuffer<RngKey>? keys, ulong offset, KernelBuffer<int>? status, int rounds,
        KernelBuffer<ulong>? offsets = null, KernelBuffer<float>? context = null, KernelBuffer<float>? parameters = null) =>
        LaunchCore(runtime, logits, tokens, rows, cols, temperature, temperatures, topK, topP, minP, key, keys, offset, status, offsets, context, parameters, rounds);

    private ulong LaunchCore(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<int> tokens, int rows, int cols,
        float temperature, KernelBuffer<float>? temperatures, KernelBuffer<int>? topK, KernelBuffer<float>? topP,
        KernelBuffer<float>? minP, RngKey key, KernelBuffer<RngKey>? keys, ulong offset, KernelBuffer<int>? status, KernelBuffer<ulong>? offsets,
        KernelBuffer<float>? context, KernelBuffer<float>? parameters, int rounds)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(rows, cols, temperature, key, offset, status is not null, rounds);
        Rng.RequireFloat64(runtime, "The decode sampler's float64 running sums need");
        Guard.Buffer(runtime, logits, Guard.Elements(rows, cols), nameof(logits));
        Guard.Buffer(runtime, tokens, rows, nameof(tokens));
        _stages.CheckBuffers(runtime, rows, cols, temperatures, topK, topP, minP, context, parameters);
        if (PerRowKeys)
            Guard.Buffer(runtime, keys, rows, nameof(keys));
        if (PerRowOffsets)
            Guard.Buffer(runtime, offsets, rows, nameof(offsets));
        if (status is not null)
            Guard.Buffer(runtime, status, rows, nameof(status));
        if (rows == 0)
            return unchecked(offset + OffsetsPerLaunch);

        if (runtime.IsIlgpu)
        {
            LaunchIlgpu(runtime, logits, tokens, temperatures, topK, topP, minP, keys, offsets, context, parameters, status, args);
        }
        else
        {
            runtime.ThrowIfDisposed();
            _cpu((nint)logits.Host, HostAddress.Of(temperatures), HostAddress.Of(keys), HostAddress.Of(topK), HostAddress.Of(topP), HostAddress.Of(minP), HostAddress.Of(offsets), HostAddress.Of(context), HostAddress.Of(parameters), (nint)tokens.Host, HostAddress.Of(status), args);
        }
        return unchecked(offset + OffsetsPerLaunch);
    }


    // Kept out of LaunchCore: its closure would otherwise be allocated on every call, cpu launches included.
    private void LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<int> tokens, KernelBuffer<float>? temperatures,
        KernelBuffer<int>? topK, KernelBuffer<float>? topP, KernelBuffer<float>? minP, KernelBuffer<RngKey>? keys, KernelBuffer<ulong>? offsets,
        KernelBuffer<float>? context, KernelBuffer<float>? parameters, KernelBuffer<int>? status, DecodeArgs args)
    {
        var kernel = runtime.GetKernel(_ilgpu.Method, accelerator =>
            global::ILGPU.Runtime.KernelLoaders.LoadStreamKernel(accelerator, _ilgpu));
        runtime.LaunchAndWait(() => kernel(
            new KernelConfig(args.Rows, runtime.GroupSize),
            logits.View, (temperatures ?? logits).View, keys is null ? default : keys.View, (topK ?? tokens).View,
            (topP ?? logits).View, (minP ?? logits).View, offsets is null ? default : offsets.View,
            (context ?? logits).View, (parameters ?? logits).View, tokens.View, (status ?? tokens).View, args));
    }

    /// <summary>
    /// Runs on host memory: in place on the <c>cpu</c> backend, through temporary device buffers elsewhere. Same checks,
    /// outcomes and return value as <see cref="Launch"/>, and the per-row temperatures, p and min-p are checked too
    /// (<see cref="ArgumentOutOfRangeException"/> naming the span and the row) since they are on the host.
    /// </summary>
    public ulong Run(KernelRuntime runtime, ReadOnlySpan<float> logits, Span<int> tokens, int rows, int cols,
        float temperature = 1f, ReadOnlySpan<float> temperatures = default, ReadOnlySpan<int> topK = default, ReadOnlySpan<float> topP = default,
        ReadOnlySpan<float> minP = default, RngKey key = default, ReadOnlySpan<RngKey> keys = default, ulong offset = 0,
        Span<int> status = default, ReadOnlySpan<ulong> offsets = default, ReadOnlySpan<float> context = default,
        ReadOnlySpan<float> parameters = default)
    {
        Guard.Runtime(runtime, nameof(runtime));
        bool writeStatus = status.Length > 0;
        var args = Arguments(rows, cols, temperature, key, offset, writeStatus, TruncationRules.MaxRounds);
        Rng.RequireFloat64(runtime, "The decode sampler's float64 running sums need");
        Guard.Span(logits.Length, Guard.Elements(rows, cols), nameof(logits));
        Guard.Span(tokens.Length, rows, nameof(tokens));
        if (PerRowKeys)
            Guard.Span(keys.Length, rows, nameof(keys));
        if (PerRowOffsets)
            Guard.Span(offsets.Length, rows, nameof(offsets));
        if (writeStatus)
            Guard.Span(status.Length, rows, nameof(status));
        _stages.CheckSpans(rows, cols, temperatures, topK, topP, minP, context, parameters);
        if (rows == 0)
            return unchecked(offset + OffsetsPerLaunch);

        if (!runtime.IsIlgpu)
        {
            fixed (float* x = logits, t = temperatures, pp = topP, mp = minP)
            fixed (int* y = tokens, kk = topK, st = status)
            fixed (RngKey* k = keys)
            fixed (ulong* o = offsets)
            fixed (float* c = context, cp = parameters)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)x, (nint)t, (nint)k, (nint)kk, (nint)pp, (nint)mp, (nint)o, (nint)c, (nint)cp, (nint)y, (nint)st, args);
            }
            return unchecked(offset + OffsetsPerLaunch);
        }
        using var logitBuffer = runtime.Upload(logits[..(int)Guard.Elements(rows, cols)]);
        using var tokenBuffer = runtime.Allocate<int>(rows);
        using var temperatureBuffer = Temperature == TemperatureMode.PerRow ? runtime.Upload(temperatures[..rows]) : null;
        using var topKBuffer = TopK ? runtime.Upload(topK[..rows]) : null;
        using var topPBuffer = TopP ? runtime.Upload(topP[..rows]) : null;
        using var minPBuffer = MinP ? runtime.Upload(minP[..rows]) : null;
        using var keyBuffer = PerRowKeys ? runtime.Upload(keys[..rows]) : null;
        using var statusBuffer = writeStatus ? runtime.Allocate<int>(rows) : null;
        using var offsetBuffer = PerRowOffsets ? runtime.Upload(offsets[..rows]) : null;
        using var contextBuffer = _stages.Context ? runtime.Upload(context[..(int)Guard.Elements(rows, cols)]) : null;
        using var parameterBuffer = _stages.Context ? runtime.Upload(parameters[..rows]) : null;
        ulong next = Launch(runtime, logitBuffer, tokenBuffer, rows, cols, temperature, temperatureBuffer, topKBuffer, topPBuffer,
            minPBuffer, key, keyBuffer, offset, statusBuffer, offsetBuffer, contextBuffer, parameterBuffer);
        tokenBuffer.CopyTo(tokens[..rows]);
        statusBuffer?.CopyTo(status[..rows]);
        return next;
    }

    private DecodeArgs Arguments(int rows, int cols, float temperature, RngKey key, ulong offset, bool writeStatus, int rounds)
    {
        var args = _stages.Arguments(rows, cols, temperature, writeStatus);
        args.PerRowKeys = PerRowKeys ? 1 : 0;
        args.PerRowOffsets = PerRowOffsets ? 1 : 0;
        args.Rounds = rounds;
        args.Key = key;
        args.Offset = offset;
        return args;
    }
}
