using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// One generated truncation kernel (<see cref="SamplerKind.Truncate"/>): each row's distribution under the top-k,
/// top-p and min-p stages its declaration names, with temperature and an optional fused transform — renormalised
/// probabilities or masked values (<see cref="TruncationOutput"/>). Deterministic: the kept set is the decode sampler's
/// (<see cref="TruncationRules"/>), its top-p cutoff found exactly (no rejection rounds).
/// </summary>
/// <remarks>
/// <para><b>Values</b>: inside the kept set, probabilities e/Σ_kept e in float (e = 2^(w − max w), or the transformed
/// probability), masked values Transform(x)/T (Transform(x) from probabilities); outside it 0 (probabilities and masked
/// probabilities) or −inf (masked logits).</para>
/// <para><b>Rows</b>: invalid parameters (temperature, p ∉ (0, 1], min-p ∉ [0, 1]) or NaN/+inf (negative from
/// probabilities) data give a row of NaN and <see cref="SampleStatus.InvalidParameter"/> /
/// <see cref="SampleStatus.InvalidData"/>; an all −inf (all 0) row gives the outside value everywhere and
/// <see cref="SampleStatus.Empty"/>; otherwise <see cref="SampleStatus.Sampled"/>.</para>
/// <para>ILGPU backends need double support (the float64 sums).</para>
/// </remarks>
public sealed unsafe class TruncationKernel
{
    /// <summary>The signature of a generated CPU kernel (the keys are unused).</summary>
    public delegate void CpuEntry(nint logits, nint temperatures, nint keys, nint topK, nint topP, nint minP, nint context, nint parameters, nint output, nint status, DecodeArgs args);

    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<RngKey>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, DecodeArgs> _ilgpu;
    private readonly CpuEntry _cpu;
    private readonly DecodeStages _stages;

    /// <summary>Describes a generated truncation kernel.</summary>
    public TruncationKernel(DecodeStages stages, TruncationOutput output,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<RngKey>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, DecodeArgs> ilgpu,
        CpuEntry cpu)
    {
        _stages = stages;
        Output = output;
        _ilgpu = ilgpu;
        _cpu = cpu;
    }

    /// <summary>The stages the declaration names.</summary>
    public DecodeStages Stages => _stages;

    /// <summary>What the kernel writes.</summary>
    public TruncationOutput Output { get; }

    /// <summary>
    /// Writes the truncated distribution of each row of <paramref name="logits"/> [rows, cols] into
    /// <paramref name="output"/> [rows, cols] (a different buffer), and the row's <see cref="SampleStatus"/> into
    /// <paramref name="status"/> when given, on buffers of <paramref name="runtime"/>, and waits. Every argument is
    /// checked first; on an exception nothing has been launched.
    /// </summary>
    public void Launch(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<float> output, int rows, int cols,
        float temperature = 1f, KernelBuffer<float>? temperatures = null, KernelBuffer<int>? topK = null, KernelBuffer<float>? topP = null,
        KernelBuffer<float>? minP = null, KernelBuffer<int>? status = null, KernelBuffer<float>? context = null, KernelBuffer<float>? parameters = null)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(rows, cols, temperature, status is not null);
        Rng.RequireFloat64(runtime, "The truncation kernel's float64 sums need");
        Guard.Buffer(runtime, logits, Guard.Elements(rows, cols), nameof(logits));
        Guard.Buffer(runtime, output, Guard.Elements(rows, cols), nameof(output));
        Guard.Distinct(logits, output, nameof(output), nameof(logits));
        _stages.CheckBuffers(runtime, rows, cols, temperatures, topK, topP, minP, context, parameters);
        Guard.Distinct(context, output, nameof(output), nameof(context));
        if (status is not null)
            Guard.Buffer(runtime, status, rows, nameof(status));
        Dispatch(runtime, logits, output, temperatures, topK, topP, minP, context, parameters, status, args);
    }

    /// <summary>
    /// Launches on rows whose per-row parameters are shared in groups of <paramref name="rowsPerParameter"/> (row r reads
    /// entry r / rowsPerParameter; <see cref="DecodeArgs.RowsPerParameter"/>): speculative verification stages the target
    /// and draft rows of a request with its parameters. No status, no context; the caller has checked every argument.
    /// </summary>
    internal void LaunchGrouped(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<float> output, int rows, int cols, int rowsPerParameter,
        float temperature, KernelBuffer<float>? temperatures, KernelBuffer<int>? topK, KernelBuffer<float>? topP, KernelBuffer<float>? minP)
    {
        var args = Arguments(rows, cols, temperature, false);
        args.RowsPerParameter = rowsPerParameter;
        Dispatch(runtime, logits, output, temperatures, topK, topP, minP, null, null, null, args);
    }

    // A checked launch to the runtime's backend.
    private void Dispatch(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<float> output, KernelBuffer<float>? temperatures,
        KernelBuffer<int>? topK, KernelBuffer<float>? topP, KernelBuffer<float>? minP, KernelBuffer<float>? context, KernelBuffer<float>? parameters,
        KernelBuffer<int>? status, DecodeArgs args)
    {
        if (args.Rows == 0)
            return;
        if (runtime.IsIlgpu)
        {
            LaunchIlgpu(runtime, logits, output, temperatures, topK, topP, minP, context, parameters, status, args);
            return;
        }
        runtime.ThrowIfDisposed();
        _cpu((nint)logits.Host, HostAddress.Of(temperatures), 0, HostAddress.Of(topK), HostAddress.Of(topP), HostAddress.Of(minP), HostAddress.Of(context),
            HostAddress.Of(parameters), (nint)output.Host, HostAddress.Of(status), args);
    }

    // Kept out of Launch: its closure would otherwise be allocated on every call, cpu launches included.
    private void LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<float> output, KernelBuffer<float>? temperatures,
        KernelBuffer<int>? topK, KernelBuffer<float>? topP, KernelBuffer<float>? minP, KernelBuffer<float>? context, KernelBuffer<float>? parameters,
        KernelBuffer<int>? status, DecodeArgs args)
    {
        var kernel = runtime.GetKernel(_ilgpu.Method, accelerator =>
            global::ILGPU.Runtime.KernelLoaders.LoadStreamKernel(accelerator, _ilgpu));
        runtime.LaunchAndWait(() => kernel(
            new KernelConfig(args.Rows, runtime.GroupSize),
            logits.View, (temperatures ?? logits).View, default, topK?.View ?? default,
            (topP ?? logits).View, (minP ?? logits).View, (context ?? logits).View, (parameters ?? logits).View, output.View, status?.View ?? default, args));
    }

    /// <summary>
    /// Runs on host memory: in place on the <c>cpu</c> backend, through temporary device buffers elsewhere. Same checks
    /// and outcomes as <see cref="Launch"/>; the per-row temperatures, p and min-p are checked too
    /// (<see cref="ArgumentOutOfRangeException"/> naming the span and the row) since they are on the host, and
    /// <paramref name="output"/> must not overlap <paramref name="logits"/>.
    /// </summary>
    public void Run(KernelRuntime runtime, ReadOnlySpan<float> logits, Span<float> output, int rows, int cols,
        float temperature = 1f, ReadOnlySpan<float> temperatures = default, ReadOnlySpan<int> topK = default, ReadOnlySpan<float> topP = default,
        ReadOnlySpan<float> minP = default, Span<int> status = default, ReadOnlySpan<float> context = default,
        ReadOnlySpan<float> parameters = default)
    {
        Guard.Runtime(runtime, nameof(runtime));
        bool writeStatus = status.Length > 0;
        var args = Arguments(rows, cols, temperature, writeStatus);
        Rng.RequireFloat64(runtime, "The truncation kernel's float64 sums need");
        long elements = Guard.Elements(rows, cols);
        Guard.Span(logits.Length, elements, nameof(logits));
        Guard.Span(output.Length, elements, nameof(output));
        if (logits.Overlaps(output) || (_stages.Context && context.Overlaps(output)))
            throw new ArgumentException("output must not overlap logits or the context for this kernel.", nameof(output));
        if (writeStatus)
            Guard.Span(status.Length, rows, nameof(status));
        _stages.CheckSpans(rows, cols, temperatures, topK, topP, minP, context, parameters);
        if (rows == 0)
            return;

        if (!runtime.IsIlgpu)
        {
            fixed (float* x = logits, y = output, t = temperatures, pp = topP, mp = minP)
            fixed (int* kk = topK, st = status)
            fixed (float* c = context, cp = parameters)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)x, (nint)t, 0, (nint)kk, (nint)pp, (nint)mp, (nint)c, (nint)cp, (nint)y, (nint)st, args);
            }
            return;
        }
        using var logitBuffer = runtime.Upload(logits[..(int)elements]);
        using var outputBuffer = runtime.Allocate<float>(elements);
        using var temperatureBuffer = _stages.Temperature == TemperatureMode.PerRow ? runtime.Upload(temperatures[..rows]) : null;
        using var topKBuffer = _stages.TopK ? runtime.Upload(topK[..rows]) : null;
        using var topPBuffer = _stages.TopP ? runtime.Upload(topP[..rows]) : null;
        using var minPBuffer = _stages.MinP ? runtime.Upload(minP[..rows]) : null;
        using var statusBuffer = writeStatus ? runtime.Allocate<int>(rows) : null;
        using var contextBuffer = _stages.Context ? runtime.Upload(context[..(int)elements]) : null;
        using var parameterBuffer = _stages.Context ? runtime.Upload(parameters[..rows]) : null;
        Launch(runtime, logitBuffer, outputBuffer, rows, cols, temperature, temperatureBuffer, topKBuffer, topPBuffer, minPBuffer, statusBuffer,
            contextBuffer, parameterBuffer);
        outputBuffer.CopyTo(output[..(int)elements]);
        statusBuffer?.CopyTo(status[..rows]);
    }

    private DecodeArgs Arguments(int rows, int cols, float temperature, bool writeStatus)
    {
        var args = _stages.Arguments(rows, cols, temperature, writeStatus);
        args.Masked = Output == TruncationOutput.Masked ? 1 : 0;
        return args;
    }
}
