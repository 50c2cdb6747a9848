using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// One generated Gumbel-top-k sampler: k distinct indices per row drawn without replacement from softmax(z/T), in order,
/// with their perturbed keys κ = z/T + g (g standard Gumbel, one per column). Generated launchers hold one in a static
/// field; validation and dispatch live here once.
/// </summary>
/// <remarks>
/// <para><b>Law</b>: the indices of the k largest κ (ties to the lowest index) are an ordered sample without replacement:
/// P(i₁..i_k) = Π_j p(i_j) / (1 − Σ_{l&lt;j} p(i_l)) with p = softmax(z/T). k = 1 is Gumbel-max, an exact categorical
/// sample (and works without doubles).</para>
/// <para><b>Noise</b>: column c of a row uses <see cref="GumbelNoise.At"/> (position c of the row's key at the launch
/// offset), in the construction of <see cref="Rng.PrecisionOf"/> for the runtime: float64 (cap 36.7) where doubles
/// exist, the float32-safe construction (cap 44.4) elsewhere. A launch consumes <see cref="OffsetsPerLaunch"/> offset.</para>
/// <para><b>Per-row outcomes</b>: a row holding NaN or +inf gives indices −1 and scores NaN; columns whose z is −inf
/// are never drawn, so a row with fewer than k finite columns ends with indices −1 and scores −inf.</para>
/// <para><b>Cross-backend identity</b>: with the float32 construction the keys are bit-identical on every backend; with
/// float64 they may differ by an ulp (the device's double log), so indices agree except at near-ties of keys.</para>
/// </remarks>
public sealed unsafe class GumbelTopKSampler
{
    /// <summary>The signature of a generated CPU kernel.</summary>
    public delegate void CpuEntry(nint logits, nint temperatures, nint keys, nint noise, nint indices, nint scores, GumbelTopKArgs args);

    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<RngKey>, ArrayView<float>, ArrayView<int>, ArrayView<float>, GumbelTopKArgs> _ilgpu;
    private readonly CpuEntry _cpu;

    /// <summary>Describes a generated sampler.</summary>
    public GumbelTopKSampler(TemperatureMode temperature, bool perRowKeys,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<RngKey>, ArrayView<float>, ArrayView<int>, ArrayView<float>, GumbelTopKArgs> ilgpu,
        CpuEntry cpu)
    {
        Temperature = temperature;
        PerRowKeys = perRowKeys;
        _ilgpu = ilgpu;
        _cpu = cpu;
    }

    /// <summary>How the sampler takes its temperature.</summary>
    public TemperatureMode Temperature { get; }

    /// <summary>Whether keys come per row from a buffer.</summary>
    public bool PerRowKeys { get; }

    /// <summary>RNG offsets one launch consumes: 1.</summary>
    public const ulong OffsetsPerLaunch = 1;

    /// <summary>
    /// Draws <paramref name="k"/> indices per row of <paramref name="logits"/> [rows, cols] into <paramref name="indices"/>
    /// [rows, k] and their perturbed keys into <paramref name="scores"/> [rows, k], in decreasing order of key, and waits.
    /// 1 ≤ k ≤ cols. Returns the offset for the next call.
    /// </summary>
    public ulong Launch(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<int> indices, KernelBuffer<float> scores,
        int rows, int cols, int k, float temperature = 1f, KernelBuffer<float>? temperatures = null, RngKey key = default,
        KernelBuffer<RngKey>? keys = null, ulong offset = 0) =>
        LaunchCore(runtime, logits, indices, scores, rows, cols, k, temperature, temperatures, key, keys, offset, null, null);

    /// <summary><see cref="Launch"/> with the Gumbel noise [rows, cols] given explicitly (tests) or the precision forced.</summary>
    internal ulong LaunchCore(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<int> indices, KernelBuffer<float> scores,
        int rows, int cols, int k, float temperature, KernelBuffer<float>? temperatures, RngKey key, KernelBuffer<RngKey>? keys,
        ulong offset, KernelBuffer<float>? noise, VariatePrecision? precision)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(runtime, rows, cols, k, temperature, key, offset, precision);
        long outputs = checked((long)rows * k);
        Guard.Buffer(runtime, logits, Guard.Elements(rows, cols), nameof(logits));
        Guard.Buffer(runtime, indices, outputs, nameof(indices));
        Guard.Buffer(runtime, scores, outputs, nameof(scores));
        if (Temperature == TemperatureMode.PerRow)
            Guard.Buffer(runtime, temperatures, rows, nameof(temperatures));
        if (PerRowKeys && noise is null)
            Guard.Buffer(runtime, keys, rows, nameof(keys));
        if (noise is not null)
        {
            Guard.Buffer(runtime, noise, Guard.Elements(rows, cols), nameof(noise));
            args.ExplicitNoise = 1;
        }
        if (rows == 0)
            return unchecked(offset + OffsetsPerLaunch);
        if (runtime.IsIlgpu)
        {
            var kernel = runtime.GetKernel(_ilgpu.Method, accelerator =>
                global::ILGPU.Runtime.KernelLoaders.LoadStreamKernel(accelerator, _ilgpu));
            runtime.LaunchAndWait(() => kernel(
                new KernelConfig(rows, runtime.GroupSize),
                logits.View, (temperatures ?? logits).View, keys is null ? default : keys.View, (noise ?? logits).View,
                indices.View, scores.View, args));
        }
        else
        {
            runtime.ThrowIfDisposed();
            _cpu((nint)logits.Host, temperatures is null ? 0 : (nint)temperatures.Host, keys is null ? 0 : (nint)keys.Host,
                noise is null ? 0 : (nint)noise.Host, (nint)indices.Host, (nint)scores.Host, args);
        }
        return unchecked(offset + OffsetsPerLaunch);
    }

    /// <summary>Runs on host memory (zero-copy on <c>cpu</c>). Same checks, outcomes and return value as <see cref="Launch"/>.</summary>
    public ulong Run(KernelRuntime runtime, ReadOnlySpan<float> logits, Span<int> indices, Span<float> scores, int rows, int cols, int k,
        float temperature = 1f, ReadOnlySpan<float> temperatures = default, RngKey key = default, ReadOnlySpan<RngKey> keys = default, ulong offset = 0)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(runtime, rows, cols, k, temperature, key, offset, null);
        long outputs = checked((long)rows * k);
        Guard.Span(logits.Length, Guard.Elements(rows, cols), nameof(logits));
        Guard.Span(indices.Length, outputs, nameof(indices));
        Guard.Span(scores.Length, outputs, nameof(scores));
        if (Temperature == TemperatureMode.PerRow)
            Guard.Span(temperatures.Length, rows, nameof(temperatures));
        if (PerRowKeys)
            Guard.Span(keys.Length, rows, nameof(keys));
        if (rows == 0)
            return unchecked(offset + OffsetsPerLaunch);
        if (!runtime.IsIlgpu)
        {
            fixed (float* x = logits, t = temperatures, sc = scores)
            fixed (RngKey* kp = keys)
            fixed (int* ix = indices)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)x, (nint)t, (nint)kp, 0, (nint)ix, (nint)sc, args);
            }
            return unchecked(offset + OffsetsPerLaunch);
        }
        int n = (int)outputs;
        using var logitBuffer = runtime.Upload(logits[..(int)Guard.Elements(rows, cols)]);
        using var indexBuffer = runtime.Allocate<int>(n);
        using var scoreBuffer = runtime.Allocate<float>(n);
        using var temperatureBuffer = Temperature == TemperatureMode.PerRow ? runtime.Upload(temperatures[..rows]) : null;
        using var keyBuffer = PerRowKeys ? runtime.Upload(keys[..rows]) : null;
        ulong next = Launch(runtime, logitBuffer, indexBuffer, scoreBuffer, rows, cols, k, temperature, temperatureBuffer, key, keyBuffer, offset);
        indexBuffer.CopyTo(indices[..n]);
        scoreBuffer.CopyTo(scores[..n]);
        return next;
    }

    private GumbelTopKArgs Arguments(KernelRuntime runtime, int rows, int cols, int k, float temperature, RngKey key, ulong offset, VariatePrecision? precision)
    {
        Guard.AtLeast(rows, 0, nameof(rows));
        Guard.AtLeast(cols, 1, nameof(cols));
        if (k < 1 || k > cols)
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be between 1 and cols ({cols}).");
        if (Temperature == TemperatureMode.Scalar)
            Guard.PositiveFinite(temperature, nameof(temperature));
        var chosen = precision ?? Rng.PrecisionOf(runtime);
        if (chosen == VariatePrecision.Float64 && !Rng.SupportsFloat64(runtime))
            throw new NotSupportedException($"{runtime} has no double support: use VariatePrecision.Float32.");
        return new GumbelTopKArgs
        {
            Rows = rows,
            Cols = cols,
            K = k,
            InverseTemperature = Temperature == TemperatureMode.Scalar ? SoftmaxMath.InverseTemperature(temperature) : 1f,
            PerRowTemperature = Temperature == TemperatureMode.PerRow ? 1 : 0,
            PerRowKeys = PerRowKeys ? 1 : 0,
            Precision = (int)chosen,
            Key = key,
            Offset = offset,
        };
    }
}
