using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// One generated Gumbel-softmax forward kernel: y = softmax((κ·z + g)/τ) per row (z = Transform(x), g standard Gumbel
/// per column, κ the logit scale), its one-hot argmax (an exact sample of softmax(κ·z)), or both for the
/// straight-through estimator. The backward pass is <see cref="GumbelSoftmaxBackward"/>.
/// </summary>
/// <remarks>
/// <para><b>Stability</b>: the maximum of κ·z + g is subtracted before scaling by 1/τ, so every exponent is ≤ 0 and
/// κ/τ of 1e5 (MaskLLM's schedule reaches 1e4/0.1) cannot overflow; at such scales the soft sample is essentially
/// one-hot and the float rounding of κ·z (relative 6e-8) is the limit of its accuracy. Float only, so it runs on
/// devices without doubles.</para>
/// <para><b>Noise and outcomes</b>: as <see cref="GumbelTopKSampler"/> (position = column; one offset per launch). A row
/// holding NaN or +inf (after κ), or with an invalid τ, is written as NaN; a row of all −inf gives zeros (no one-hot).</para>
/// </remarks>
public sealed unsafe class GumbelSoftmaxSampler
{
    /// <summary>The signature of a generated CPU kernel.</summary>
    public delegate void CpuEntry(nint logits, nint temperatures, nint keys, nint noise, nint output, nint soft, GumbelSoftmaxArgs args);

    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<RngKey>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GumbelSoftmaxArgs> _ilgpu;
    private readonly CpuEntry _cpu;

    /// <summary>Describes a generated kernel.</summary>
    public GumbelSoftmaxSampler(TemperatureMode temperature, bool perRowKeys, GumbelSoftmaxMode mode,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<RngKey>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GumbelSoftmaxArgs> ilgpu,
        CpuEntry cpu)
    {
        Temperature = temperature;
        PerRowKeys = perRowKeys;
        Mode = mode;
        _ilgpu = ilgpu;
        _cpu = cpu;
    }

    /// <summary>How the kernel takes τ.</summary>
    public TemperatureMode Temperature { get; }

    /// <summary>Whether keys come per row from a buffer.</summary>
    public bool PerRowKeys { get; }

    /// <summary>Soft, hard or straight-through.</summary>
    public GumbelSoftmaxMode Mode { get; }

    /// <summary>RNG offsets one launch consumes: 1.</summary>
    public const ulong OffsetsPerLaunch = 1;

    /// <summary>
    /// Writes the sample of <paramref name="logits"/> [rows, cols] into <paramref name="output"/> [rows, cols] (soft y, or
    /// the one-hot in hard and straight-through modes) and, in straight-through mode, the soft y into
    /// <paramref name="soft"/> [rows, cols] for the backward pass; waits; returns the offset for the next call.
    /// </summary>
    public ulong Launch(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<float> output, KernelBuffer<float>? soft,
        int rows, int cols, float tau = 1f, KernelBuffer<float>? taus = null, RngKey key = default, KernelBuffer<RngKey>? keys = null,
        ulong offset = 0, float scale = 1f) =>
        LaunchCore(runtime, logits, output, soft, rows, cols, tau, taus, key, keys, offset, scale, null, null);

    /// <summary><see cref="Launch"/> with the Gumbel noise [rows, cols] given explicitly (tests) or the precision forced.</summary>
    internal ulong LaunchCore(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<float> output, KernelBuffer<float>? soft,
        int rows, int cols, float tau, KernelBuffer<float>? taus, RngKey key, KernelBuffer<RngKey>? keys, ulong offset, float scale,
        KernelBuffer<float>? noise, VariatePrecision? precision)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(runtime, rows, cols, tau, scale, key, offset, precision);
        long elements = Guard.Elements(rows, cols);
        Guard.Buffer(runtime, logits, elements, nameof(logits));
        Guard.Buffer(runtime, output, elements, nameof(output));
        if (Mode == GumbelSoftmaxMode.StraightThrough)
        {
            Guard.Buffer(runtime, soft, elements, nameof(soft));
            Guard.Distinct(output, soft!, nameof(soft), nameof(output));
        }
        if (Temperature == TemperatureMode.PerRow)
            Guard.Buffer(runtime, taus, rows, nameof(taus));
        if (PerRowKeys && noise is null)
            Guard.Buffer(runtime, keys, rows, nameof(keys));
        if (noise is not null)
        {
            Guard.Buffer(runtime, noise, elements, nameof(noise));
            args.ExplicitNoise = 1;
        }
        Guard.Distinct(logits, output, nameof(output), nameof(logits));
        if (rows == 0)
            return unchecked(offset + OffsetsPerLaunch);
        if (runtime.IsIlgpu)
        {
            var kernel = runtime.GetKernel(_ilgpu.Method, accelerator =>
                global::ILGPU.Runtime.KernelLoaders.LoadStreamKernel(accelerator, _ilgpu));
            runtime.LaunchAndWait(() => kernel(
                new KernelConfig(rows, runtime.GroupSize),
                logits.View, (taus ?? logits).View, keys is null ? default : keys.View, (noise ?? logits).View,
                output.View, (soft ?? output).View, args));
        }
        else
        {
            runtime.ThrowIfDisposed();
            _cpu((nint)logits.Host, taus is null ? 0 : (nint)taus.Host, keys is null ? 0 : (nint)keys.Host,
                noise is null ? 0 : (nint)noise.Host, (nint)output.Host, soft is null ? 0 : (nint)soft.Host, args);
        }
        return unchecked(offset + OffsetsPerLaunch);
    }

    /// <summary>Runs on host memory (zero-copy on <c>cpu</c>). Same checks, outcomes and return value as <see cref="Launch"/>.</summary>
    public ulong Run(KernelRuntime runtime, ReadOnlySpan<float> logits, Span<float> output, Span<float> soft, int rows, int cols,
        float tau = 1f, ReadOnlySpan<float> taus = default, RngKey key = default, ReadOnlySpan<RngKey> keys = default, ulong offset = 0, float scale = 1f)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(runtime, rows, cols, tau, scale, key, offset, null);
        long elements = Guard.Elements(rows, cols);
        Guard.Span(logits.Length, elements, nameof(logits));
        Guard.Span(output.Length, elements, nameof(output));
        if (Mode == GumbelSoftmaxMode.StraightThrough)
            Guard.Span(soft.Length, elements, nameof(soft));
        if (Temperature == TemperatureMode.PerRow)
            Guard.Span(taus.Length, rows, nameof(taus));
        if (PerRowKeys)
            Guard.Span(keys.Length, rows, nameof(keys));
        if (logits.Overlaps(output) || (Mode == GumbelSoftmaxMode.StraightThrough && (soft.Overlaps(output) || soft.Overlaps(logits))))
            throw new ArgumentException("output and soft must not overlap the logits or each other.", nameof(output));
        if (rows == 0)
            return unchecked(offset + OffsetsPerLaunch);
        if (!runtime.IsIlgpu)
        {
            fixed (float* x = logits, t = taus, y = output, sp = soft)
            fixed (RngKey* kp = keys)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)x, (nint)t, (nint)kp, 0, (nint)y, (nint)sp, args);
            }
            return unchecked(offset + OffsetsPerLaunch);
        }
        int n = (int)elements;
        using var logitBuffer = runtime.Upload(logits[..n]);
        using var outputBuffer = runtime.Allocate<float>(n);
        using var softBuffer = Mode == GumbelSoftmaxMode.StraightThrough ? runtime.Allocate<float>(n) : null;
        using var tauBuffer = Temperature == TemperatureMode.PerRow ? runtime.Upload(taus[..rows]) : null;
        using var keyBuffer = PerRowKeys ? runtime.Upload(keys[..rows]) : null;
        ulong next = Launch(runtime, logitBuffer, outputBuffer, softBuffer, rows, cols, tau, tauBuffer, key, keyBuffer, offset, scale);
        outputBuffer.CopyTo(output[..n]);
        softBuffer?.CopyTo(soft[..n]);
        return next;
    }

    private GumbelSoftmaxArgs Arguments(KernelRuntime runtime, int rows, int cols, float tau, float scale, RngKey key, ulong offset, VariatePrecision? precision)
    {
        Guard.AtLeast(rows, 0, nameof(rows));
        Guard.AtLeast(cols, 1, nameof(cols));
        if (Temperature == TemperatureMode.Scalar)
            Guard.PositiveFinite(tau, nameof(tau));
        Guard.PositiveFinite(scale, nameof(scale));
        var chosen = precision ?? Rng.PrecisionOf(runtime);
        if (chosen == VariatePrecision.Float64 && !Rng.SupportsFloat64(runtime))
            throw new NotSupportedException($"{runtime} has no double support: use VariatePrecision.Float32.");
        return new GumbelSoftmaxArgs
        {
            Rows = rows,
            Cols = cols,
            InverseTau = Temperature == TemperatureMode.Scalar ? SoftmaxMath.InverseTemperature(tau) : 1f,
            Scale = scale,
            PerRowTemperature = Temperature == TemperatureMode.PerRow ? 1 : 0,
            PerRowKeys = PerRowKeys ? 1 : 0,
            Precision = (int)chosen,
            Mode = (int)Mode,
            Key = key,
            Offset = offset,
        };
    }
}
