using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// One generated Top-H or Mirostat sampler (<see cref="SamplerKind.TopH"/>, <see cref="SamplerKind.Mirostat"/>):
/// one token per row from the kept set their rule chooses (<see cref="AdaptiveRules"/>), with per-row parameters, keys
/// and, for Mirostat, the per-row state μ in a caller buffer that the kernel reads and updates. Generated launchers hold
/// one in a static field; validation and dispatch live here once.
/// </summary>
/// <remarks>
/// <para><b>Law</b>: the kept set (a prefix of the row in the order w descending, column ascending) is drawn with
/// probability proportional to e = 2^(w − max w), by inverse CDF in column order with the row's uniform
/// <c>Variates.Uniform(Rng.Block(key, 0, offset).Low64)</c>.</para>
/// <para><b>Parameters</b>: Top-H takes α ∈ [0, 1] per row and n ∈ [1, 3000] per launch (default 100); Mirostat takes
/// τ ≥ 0, η ≥ 0 and a finite μ per row (initialise μ to 2τ), with m = 3000 and N = cols. A row whose temperature or
/// parameter is out of its domain gets token −1 and <see cref="SampleStatus.InvalidParameter"/>; NaN or +inf logits
/// −1 and <see cref="SampleStatus.InvalidData"/>; an all −inf row −1 and <see cref="SampleStatus.Empty"/>. μ is updated
/// only for rows that drew a token (<see cref="SampleStatus.Sampled"/>).</para>
/// <para>Same keys and offset, same tokens (and μ) on every backend except at near-ties of float64 sums and of the
/// logarithms in Mirostat's k (≈1e-12 relative). ILGPU backends need double support. The ILGPU kernel (specialised on
/// its rule: <see cref="TopHRule"/> or <see cref="MirostatRule"/>) ranks the top
/// min(n, cols) (Top-H) or min(3001, cols) (Mirostat) columns in shared memory (36 KiB) by counting.</para>
/// </remarks>
public sealed unsafe class AdaptiveSampler
{
    /// <summary>The signature of a generated CPU kernel.</summary>
    public delegate void CpuEntry(nint logits, nint temperatures, nint keys, nint alpha, nint tau, nint eta, nint mu, nint tokens, nint status, nint kept, AdaptiveArgs args);

    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<RngKey>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, AdaptiveArgs> _ilgpu;
    private readonly CpuEntry _cpu;

    /// <summary>Describes a generated sampler of kind <see cref="SamplerKind.TopH"/> or <see cref="SamplerKind.Mirostat"/>.</summary>
    public AdaptiveSampler(SamplerKind kind, TemperatureMode temperature, bool perRowKeys,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<RngKey>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, AdaptiveArgs> ilgpu,
        CpuEntry cpu, TopHMode mode = TopHMode.Reference)
    {
        if (kind != SamplerKind.TopH && kind != SamplerKind.Mirostat)
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "An adaptive sampler is Top-H or Mirostat.");
        Kind = kind;
        Temperature = temperature;
        PerRowKeys = perRowKeys;
        Mode = mode;
        _ilgpu = ilgpu;
        _cpu = cpu;
    }

    /// <summary>Top-H or Mirostat.</summary>
    public SamplerKind Kind { get; }

    /// <summary>Top-H's stopping rule.</summary>
    public TopHMode Mode { get; }

    /// <summary>How the sampler takes its temperature.</summary>
    public TemperatureMode Temperature { get; }

    /// <summary>Whether keys come per row from a buffer.</summary>
    public bool PerRowKeys { get; }

    /// <summary>RNG offsets one launch consumes: 1.</summary>
    public const ulong OffsetsPerLaunch = 1;

    private bool IsMirostat => Kind == SamplerKind.Mirostat;

    /// <summary>
    /// Draws one token per row of <paramref name="logits"/> [rows, cols] into <paramref name="tokens"/> [rows] (and the
    /// row's <see cref="SampleStatus"/> into <paramref name="status"/>, and the kept count — Top-H's prefix length, Mirostat's k; 0 for a row not drawn — into
    /// <paramref name="kept"/>, when given), on buffers of
    /// <paramref name="runtime"/>, and waits. Top-H needs <paramref name="alpha"/> [rows]; Mirostat needs
    /// <paramref name="tau"/>, <paramref name="eta"/> and the state <paramref name="mu"/> [rows] (updated). Every argument
    /// is checked first; on an exception nothing has been launched. Returns <paramref name="offset"/> + <see cref="OffsetsPerLaunch"/>.
    /// </summary>
    public ulong Launch(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<int> tokens, int rows, int cols,
        float temperature = 1f, KernelBuffer<float>? temperatures = null, KernelBuffer<float>? alpha = null, KernelBuffer<float>? tau = null,
        KernelBuffer<float>? eta = null, KernelBuffer<float>? mu = null, RngKey key = default, KernelBuffer<RngKey>? keys = null,
        ulong offset = 0, int topN = AdaptiveRules.DefaultTopN, KernelBuffer<int>? status = null, KernelBuffer<int>? kept = null)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(rows, cols, temperature, key, offset, topN, status is not null, kept is not null);
        Rng.RequireFloat64(runtime, "The Top-H and Mirostat samplers' float64 sums need");
        Guard.Buffer(runtime, logits, Guard.Elements(rows, cols), nameof(logits));
        Guard.Buffer(runtime, tokens, rows, nameof(tokens));
        if (Temperature == TemperatureMode.PerRow)
            Guard.Buffer(runtime, temperatures, rows, nameof(temperatures));
        if (IsMirostat)
        {
            Guard.Buffer(runtime, tau, rows, nameof(tau));
            Guard.Buffer(runtime, eta, rows, nameof(eta));
            Guard.Buffer(runtime, mu, rows, nameof(mu));
        }
        else
            Guard.Buffer(runtime, alpha, rows, nameof(alpha));
        if (PerRowKeys)
            Guard.Buffer(runtime, keys, rows, nameof(keys));
        if (status is not null)
            Guard.Buffer(runtime, status, rows, nameof(status));
        if (kept is not null)
            Guard.Buffer(runtime, kept, rows, nameof(kept));
        if (rows == 0)
            return unchecked(offset + OffsetsPerLaunch);

        if (runtime.IsIlgpu)
        {
            LaunchIlgpu(runtime, logits, tokens, temperatures, alpha, tau, eta, mu, keys, status, kept, args);
        }
        else
        {
            runtime.ThrowIfDisposed();
            _cpu((nint)logits.Host, HostAddress.Of(temperatures), HostAddress.Of(keys), HostAddress.Of(alpha), HostAddress.Of(tau), HostAddress.Of(eta), HostAddress.Of(mu), (nint)tokens.Host, HostAddress.Of(status), HostAddress.Of(kept), args);
        }
        return unchecked(offset + OffsetsPerLaunch);
    }


    // Kept out of Launch: its closure would otherwise be allocated on every call, cpu launches included.
    private void LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<int> tokens, KernelBuffer<float>? temperatures,
        KernelBuffer<float>? alpha, KernelBuffer<float>? tau, KernelBuffer<float>? eta, KernelBuffer<float>? mu, KernelBuffer<RngKey>? keys,
        KernelBuffer<int>? status, KernelBuffer<int>? kept, AdaptiveArgs args)
    {
        var kernel = runtime.GetKernel(_ilgpu.Method, accelerator =>
            global::ILGPU.Runtime.KernelLoaders.LoadStreamKernel(accelerator, _ilgpu));
        runtime.LaunchAndWait(() => kernel(
            new KernelConfig(args.Rows, runtime.GroupSize),
            logits.View, (temperatures ?? logits).View, keys is null ? default : keys.View, (alpha ?? logits).View,
            (tau ?? logits).View, (eta ?? logits).View, (mu ?? logits).View, tokens.View, (status ?? tokens).View, (kept ?? tokens).View, args));
    }

    /// <summary>
    /// Runs on host memory: in place on the <c>cpu</c> backend, through temporary device buffers elsewhere (μ is copied
    /// back). Same checks, outcomes and return value as <see cref="Launch"/>.
    /// </summary>
    public ulong Run(KernelRuntime runtime, ReadOnlySpan<float> logits, Span<int> tokens, int rows, int cols,
        float temperature = 1f, ReadOnlySpan<float> temperatures = default, ReadOnlySpan<float> alpha = default, ReadOnlySpan<float> tau = default,
        ReadOnlySpan<float> eta = default, Span<float> mu = default, RngKey key = default, ReadOnlySpan<RngKey> keys = default,
        ulong offset = 0, int topN = AdaptiveRules.DefaultTopN, Span<int> status = default, Span<int> kept = default)
    {
        Guard.Runtime(runtime, nameof(runtime));
        bool writeStatus = status.Length > 0, writeKept = kept.Length > 0;
        var args = Arguments(rows, cols, temperature, key, offset, topN, writeStatus, writeKept);
        Rng.RequireFloat64(runtime, "The Top-H and Mirostat samplers' float64 sums need");
        Guard.Span(logits.Length, Guard.Elements(rows, cols), nameof(logits));
        Guard.Span(tokens.Length, rows, nameof(tokens));
        if (Temperature == TemperatureMode.PerRow)
            Guard.Span(temperatures.Length, rows, nameof(temperatures));
        if (IsMirostat)
        {
            Guard.Span(tau.Length, rows, nameof(tau));
            Guard.Span(eta.Length, rows, nameof(eta));
            Guard.Span(mu.Length, rows, nameof(mu));
        }
        else
            Guard.Span(alpha.Length, rows, nameof(alpha));
        if (PerRowKeys)
            Guard.Span(keys.Length, rows, nameof(keys));
        if (writeStatus)
            Guard.Span(status.Length, rows, nameof(status));
        if (writeKept)
            Guard.Span(kept.Length, rows, nameof(kept));
        // Host spans are arguments: their values are checked here (in device buffers they are data: a per-row status).
        PerRowValues.Check(temperatures[..(Temperature == TemperatureMode.PerRow ? rows : 0)], PerRowValues.ValidTemperature, PerRowValues.TemperatureDomain, nameof(temperatures));
        if (IsMirostat)
        {
            PerRowValues.Check(tau[..rows], AdaptiveRules.ValidRate, "finite and non-negative", nameof(tau));
            PerRowValues.Check(eta[..rows], AdaptiveRules.ValidRate, "finite and non-negative", nameof(eta));
            PerRowValues.Check(mu[..rows], AdaptiveRules.ValidMu, "finite", nameof(mu));
        }
        else
            PerRowValues.Check(alpha[..rows], AdaptiveRules.ValidAlpha, "in [0, 1]", nameof(alpha));
        if (rows == 0)
            return unchecked(offset + OffsetsPerLaunch);

        if (!runtime.IsIlgpu)
        {
            fixed (float* x = logits, t = temperatures, a = alpha, ta = tau, et = eta, m = mu)
            fixed (int* y = tokens, st = status, kc = kept)
            fixed (RngKey* k = keys)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)x, (nint)t, (nint)k, (nint)a, (nint)ta, (nint)et, (nint)m, (nint)y, (nint)st, (nint)kc, args);
            }
            return unchecked(offset + OffsetsPerLaunch);
        }
        using var logitBuffer = runtime.Upload(logits[..(int)Guard.Elements(rows, cols)]);
        using var tokenBuffer = runtime.Allocate<int>(rows);
        using var temperatureBuffer = Temperature == TemperatureMode.PerRow ? runtime.Upload(temperatures[..rows]) : null;
        using var alphaBuffer = IsMirostat ? null : runtime.Upload(alpha[..rows]);
        using var tauBuffer = IsMirostat ? runtime.Upload(tau[..rows]) : null;
        using var etaBuffer = IsMirostat ? runtime.Upload(eta[..rows]) : null;
        using var muBuffer = IsMirostat ? runtime.Upload<float>(mu[..rows]) : null;
        using var keyBuffer = PerRowKeys ? runtime.Upload(keys[..rows]) : null;
        using var statusBuffer = writeStatus ? runtime.Allocate<int>(rows) : null;
        using var keptBuffer = writeKept ? runtime.Allocate<int>(rows) : null;
        ulong next = Launch(runtime, logitBuffer, tokenBuffer, rows, cols, temperature, temperatureBuffer, alphaBuffer, tauBuffer,
            etaBuffer, muBuffer, key, keyBuffer, offset, topN, statusBuffer, keptBuffer);
        tokenBuffer.CopyTo(tokens[..rows]);
        muBuffer?.CopyTo(mu[..rows]);
        statusBuffer?.CopyTo(status[..rows]);
        keptBuffer?.CopyTo(kept[..rows]);
        return next;
    }


    private AdaptiveArgs Arguments(int rows, int cols, float temperature, RngKey key, ulong offset, int topN, bool writeStatus, bool writeKept)
    {
        Guard.AtLeast(rows, 0, nameof(rows));
        Guard.AtLeast(cols, 1, nameof(cols));
        if (Temperature == TemperatureMode.Scalar)
            Guard.PositiveFinite(temperature, nameof(temperature));
        if (!IsMirostat && (topN < 1 || topN > AdaptiveRules.MaxTopN))
            throw new ArgumentOutOfRangeException(nameof(topN), topN, $"Top-H's n must be between 1 and {AdaptiveRules.MaxTopN}.");
        return new AdaptiveArgs
        {
            Rows = rows,
            Cols = cols,
            Mirostat = IsMirostat ? 1 : 0,
            TopN = topN,
            Normalized = !IsMirostat && Mode == TopHMode.Normalized ? 1 : 0,
            Scale = Temperature == TemperatureMode.Scalar ? SamplingMath.Log2Scale(temperature) : (float)SamplingMath.Log2E,
            PerRowTemperature = Temperature == TemperatureMode.PerRow ? 1 : 0,
            PerRowKeys = PerRowKeys ? 1 : 0,
            WriteStatus = writeStatus ? 1 : 0,
            WriteKept = writeKept ? 1 : 0,
            Key = key,
            Offset = offset,
        };
    }
}
