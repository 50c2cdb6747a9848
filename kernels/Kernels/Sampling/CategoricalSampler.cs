using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// One generated categorical sampler: its ILGPU and CPU entry points and its shape. Generated launchers hold one in a
/// static field and call <see cref="Launch"/> or <see cref="Run"/>; validation and dispatch live here once.
/// </summary>
/// <remarks>
/// <para><b>Algorithm</b> (every backend): exact inverse-CDF. With w_i = Transform(x_i)·log2(e)/T and
/// e_i = 2^(w_i − max w), each draw takes one open-interval uniform u (52 bits, <see cref="Variates.Uniform"/>) and
/// returns the first column k whose float64 running sum Σ_{i≤k} e_i exceeds u·Σ_i e_i. The law is softmax(z) up to the
/// float rounding of w and e (≈3e-7 relative per probability), with no cap on rare tokens (the smallest probability
/// drawn is limited only by 2^-52 and float underflow of e below 2^-126 relative to the largest term).</para>
/// <para><b>Randomness</b>: draw s of a row uses <c>Rng.Block(key, position: s, offset)</c> (its first 64 bits), with
/// the row's key (per-row keys) or the launch key with stream <c>Stream + row</c>. A launch consumes
/// <see cref="OffsetsPerLaunch"/> offset; <see cref="Launch"/> returns the offset for the next call.</para>
/// <para><b>Cross-backend identity</b>: w and e are computed with the same float operations on every backend
/// (<see cref="PortableMath"/>); only the order of the double additions differs. Tokens are therefore identical on
/// <c>cpu</c>, <c>ilgpu-cpu</c> and OpenCL except when u·Σ lies within about 1e-12·Σ of a boundary of the running sum
/// (a near-tie, probability ≈1e-12 per draw), for transforms made of exactly rounded operations.</para>
/// <para>ILGPU backends need double support (ILGPU's OpenCL <c>Float64</c> capability); elsewhere use a
/// <see cref="SamplerKind.GumbelTopK"/> sampler with k = 1, which is Gumbel-max with float32-safe noise.</para>
/// </remarks>
public sealed unsafe class CategoricalSampler
{
    /// <summary>The signature of a generated CPU kernel.</summary>
    public delegate void CpuEntry(nint logits, nint temperatures, nint keys, nint uniforms, nint tokens, nint logProbs, CategoricalArgs args);

    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<RngKey>, ArrayView<double>, ArrayView<int>, ArrayView<float>, CategoricalArgs> _ilgpu;
    private readonly CpuEntry _cpu;

    /// <summary>Describes a generated sampler.</summary>
    public CategoricalSampler(
        TemperatureMode temperature,
        bool perRowKeys,
        bool logProbabilities,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<RngKey>, ArrayView<double>, ArrayView<int>, ArrayView<float>, CategoricalArgs> ilgpu,
        CpuEntry cpu)
    {
        Temperature = temperature;
        PerRowKeys = perRowKeys;
        LogProbabilities = logProbabilities;
        _ilgpu = ilgpu;
        _cpu = cpu;
    }

    /// <summary>How the sampler takes its temperature.</summary>
    public TemperatureMode Temperature { get; }

    /// <summary>Whether keys come per row from a buffer.</summary>
    public bool PerRowKeys { get; }

    /// <summary>Whether log-probabilities are written.</summary>
    public bool LogProbabilities { get; }

    /// <summary>RNG offsets one launch consumes, whatever the number of draws: 1.</summary>
    public const ulong OffsetsPerLaunch = 1;

    /// <summary>
    /// Draws <paramref name="samples"/> tokens per row of <paramref name="logits"/> [rows, cols] into
    /// <paramref name="tokens"/> [rows, samples] (and their log-probabilities into <paramref name="logProbs"/>), on
    /// buffers of <paramref name="runtime"/>, and waits. Every argument is checked first; on an exception nothing has been
    /// launched. Returns <paramref name="offset"/> + <see cref="OffsetsPerLaunch"/>, the offset for the next call.
    /// </summary>
    public ulong Launch(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<int> tokens, int rows, int cols,
        float temperature = 1f, KernelBuffer<float>? temperatures = null, RngKey key = default, KernelBuffer<RngKey>? keys = null,
        ulong offset = 0, KernelBuffer<float>? logProbs = null, int samples = 1) =>
        LaunchCore(runtime, logits, tokens, rows, cols, temperature, temperatures, key, keys, offset, logProbs, samples, null);

    /// <summary>
    /// <see cref="Launch"/> with the uniforms given explicitly, [rows, samples] in (0, 1), instead of drawn from the keys:
    /// a test makes the kernel and a reference take the same decisions.
    /// </summary>
    internal void LaunchWithUniforms(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<int> tokens, int rows, int cols,
        float temperature, KernelBuffer<float>? temperatures, KernelBuffer<float>? logProbs, int samples, KernelBuffer<double> uniforms)
    {
        ArgumentNullException.ThrowIfNull(uniforms);
        LaunchCore(runtime, logits, tokens, rows, cols, temperature, temperatures, default, null, 0, logProbs, samples, uniforms);
    }

    // Kept out of LaunchCore: its closure would otherwise be allocated on every call, cpu launches included.
    private void LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<int> tokens, KernelBuffer<float>? temperatures,
        KernelBuffer<RngKey>? keys, KernelBuffer<float>? logProbs, KernelBuffer<double>? uniforms, CategoricalArgs args)
    {
        var kernel = runtime.GetKernel(_ilgpu.Method, accelerator =>
            global::ILGPU.Runtime.KernelLoaders.LoadStreamKernel(accelerator, _ilgpu));
        runtime.LaunchAndWait(() => kernel(
            new KernelConfig(args.Rows, runtime.GroupSize),
            logits.View, (temperatures ?? logits).View, keys is null ? default : keys.View, uniforms is null ? default : uniforms.View,
            tokens.View, (logProbs ?? logits).View, args));
    }

    private ulong LaunchCore(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<int> tokens, int rows, int cols,
        float temperature, KernelBuffer<float>? temperatures, RngKey key, KernelBuffer<RngKey>? keys, ulong offset,
        KernelBuffer<float>? logProbs, int samples, KernelBuffer<double>? uniforms)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(rows, cols, samples, temperature, key, offset);
        Rng.RequireFloat64(runtime, "The categorical sampler's float64 running sum needs", " Declare a [SamplerKernel(SamplerKind.GumbelTopK)] sampler and draw k = 1 (Gumbel-max with float32-safe noise).");
        long draws = checked((long)rows * samples);
        Guard.Buffer(runtime, logits, Guard.Elements(rows, cols), nameof(logits));
        Guard.Buffer(runtime, tokens, draws, nameof(tokens));
        if (Temperature == TemperatureMode.PerRow)
            Guard.Buffer(runtime, temperatures, rows, nameof(temperatures));
        if (PerRowKeys && uniforms is null)
            Guard.Buffer(runtime, keys, rows, nameof(keys));
        if (LogProbabilities)
            Guard.Buffer(runtime, logProbs, draws, nameof(logProbs));
        if (uniforms is not null)
        {
            Guard.Buffer(runtime, uniforms, draws, nameof(uniforms));
            args.ExplicitUniforms = 1;
        }
        if (rows == 0)
            return unchecked(offset + OffsetsPerLaunch);

        if (runtime.IsIlgpu)
            LaunchIlgpu(runtime, logits, tokens, temperatures, keys, logProbs, uniforms, args);
        else
        {
            runtime.ThrowIfDisposed();
            _cpu((nint)logits.Host, temperatures is null ? 0 : (nint)temperatures.Host, keys is null ? 0 : (nint)keys.Host,
                uniforms is null ? 0 : (nint)uniforms.Host, (nint)tokens.Host, logProbs is null ? 0 : (nint)logProbs.Host, args);
        }
        return unchecked(offset + OffsetsPerLaunch);
    }

    /// <summary>
    /// Runs on host memory: in place on the <c>cpu</c> backend, through temporary device buffers elsewhere. Same checks,
    /// outcomes and return value as <see cref="Launch"/>.
    /// </summary>
    public ulong Run(KernelRuntime runtime, ReadOnlySpan<float> logits, Span<int> tokens, int rows, int cols,
        float temperature = 1f, ReadOnlySpan<float> temperatures = default, RngKey key = default, ReadOnlySpan<RngKey> keys = default,
        ulong offset = 0, Span<float> logProbs = default, int samples = 1)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(rows, cols, samples, temperature, key, offset);
        Rng.RequireFloat64(runtime, "The categorical sampler's float64 running sum needs", " Declare a [SamplerKernel(SamplerKind.GumbelTopK)] sampler and draw k = 1 (Gumbel-max with float32-safe noise).");
        long draws = checked((long)rows * samples);
        Guard.Span(logits.Length, Guard.Elements(rows, cols), nameof(logits));
        Guard.Span(tokens.Length, draws, nameof(tokens));
        if (Temperature == TemperatureMode.PerRow)
            Guard.Span(temperatures.Length, rows, nameof(temperatures));
        if (PerRowKeys)
            Guard.Span(keys.Length, rows, nameof(keys));
        if (LogProbabilities)
            Guard.Span(logProbs.Length, draws, nameof(logProbs));
        if (rows == 0)
            return unchecked(offset + OffsetsPerLaunch);

        if (!runtime.IsIlgpu)
        {
            fixed (float* x = logits, t = temperatures, lp = logProbs)
            fixed (RngKey* k = keys)
            fixed (int* y = tokens)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)x, (nint)t, (nint)k, 0, (nint)y, (nint)lp, args);
            }
            return unchecked(offset + OffsetsPerLaunch);
        }
        int n = (int)draws;
        using var logitBuffer = runtime.Upload(logits[..(int)Guard.Elements(rows, cols)]);
        using var tokenBuffer = runtime.Allocate<int>(n);
        using var temperatureBuffer = Temperature == TemperatureMode.PerRow ? runtime.Upload(temperatures[..rows]) : null;
        using var keyBuffer = PerRowKeys ? runtime.Upload(keys[..rows]) : null;
        using var logProbBuffer = LogProbabilities ? runtime.Allocate<float>(n) : null;
        ulong next = Launch(runtime, logitBuffer, tokenBuffer, rows, cols, temperature, temperatureBuffer, key, keyBuffer, offset, logProbBuffer, samples);
        tokenBuffer.CopyTo(tokens[..n]);
        logProbBuffer?.CopyTo(logProbs[..n]);
        return next;
    }


    private CategoricalArgs Arguments(int rows, int cols, int samples, float temperature, RngKey key, ulong offset)
    {
        Guard.AtLeast(rows, 0, nameof(rows));
        Guard.AtLeast(cols, 1, nameof(cols));
        Guard.AtLeast(samples, 1, nameof(samples));
        if (Temperature == TemperatureMode.Scalar)
            Guard.PositiveFinite(temperature, nameof(temperature));
        return new CategoricalArgs
        {
            Rows = rows,
            Cols = cols,
            Samples = samples,
            Scale = Temperature == TemperatureMode.Scalar ? SamplingMath.Log2Scale(temperature) : (float)SamplingMath.Log2E,
            PerRowTemperature = Temperature == TemperatureMode.PerRow ? 1 : 0,
            PerRowKeys = PerRowKeys ? 1 : 0,
            WriteLogProbs = LogProbabilities ? 1 : 0,
            Key = key,
            Offset = offset,
        };
    }
}
