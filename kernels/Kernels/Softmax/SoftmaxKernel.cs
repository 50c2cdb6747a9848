using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// One generated softmax-family kernel: its ILGPU entry point, its CPU entry point and its shape. Generated launchers
/// hold one in a static field and call <see cref="Launch"/> or <see cref="Run"/>; validation and dispatch live here once.
/// </summary>
public sealed unsafe class SoftmaxKernel
{
    /// <summary>The signature of a generated CPU kernel.</summary>
    public delegate void CpuEntry(nint input, nint output, nint temperatures, nint mask, SoftmaxArgs args);

    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, SoftmaxArgs> _ilgpu;
    private readonly CpuEntry _cpu;

    /// <summary>Describes a generated kernel.</summary>
    public SoftmaxKernel(
        SoftmaxOutput output,
        SoftmaxActivation activation,
        TemperatureMode temperature,
        bool mask,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, SoftmaxArgs> ilgpu,
        CpuEntry cpu)
    {
        Output = output;
        Activation = activation;
        Temperature = temperature;
        HasMask = mask;
        _ilgpu = ilgpu;
        _cpu = cpu;
    }

    /// <summary>What the kernel writes.</summary>
    public SoftmaxOutput Output { get; }

    /// <summary>Softmax or StableMax.</summary>
    public SoftmaxActivation Activation { get; }

    /// <summary>How the kernel takes its temperature.</summary>
    public TemperatureMode Temperature { get; }

    /// <summary>Whether the kernel reads an additive mask.</summary>
    public bool HasMask { get; }

    /// <summary>Elements the output needs for <paramref name="rows"/> x <paramref name="cols"/>.</summary>
    public long OutputLength(int rows, int cols) => Output == SoftmaxOutput.LogSumExp ? rows : Guard.Elements(rows, cols);

    /// <summary>
    /// Launches on buffers of <paramref name="runtime"/> and waits for completion. Every argument is checked first; on
    /// an exception nothing has been launched and <paramref name="output"/> is untouched. <paramref name="output"/> may
    /// be <paramref name="input"/> (in place) for probabilities and log-probabilities.
    /// </summary>
    public void Launch(KernelRuntime runtime, KernelBuffer<float> input, KernelBuffer<float> output, int rows, int cols,
        float temperature = 1f, KernelBuffer<float>? temperatures = null, KernelBuffer<float>? mask = null)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(rows, cols, temperature);
        Guard.Buffer(runtime, input, Guard.Elements(rows, cols), nameof(input));
        Guard.Buffer(runtime, output, OutputLength(rows, cols), nameof(output));
        if (Output == SoftmaxOutput.LogSumExp)
            Guard.Distinct(input, output, nameof(output), nameof(input));
        if (Temperature == TemperatureMode.PerRow)
            Guard.Buffer(runtime, temperatures, rows, nameof(temperatures));
        if (HasMask)
            Guard.Buffer(runtime, mask, Guard.Elements(rows, cols), nameof(mask));
        if (rows == 0)
            return;

        if (runtime.IsIlgpu)
            LaunchIlgpu(runtime, input, output, temperatures, mask, args);
        else
        {
            runtime.ThrowIfDisposed();
            _cpu((nint)input.Host, (nint)output.Host, temperatures is null ? 0 : (nint)temperatures.Host, mask is null ? 0 : (nint)mask.Host, args);
        }
    }

    /// <summary>
    /// Runs on host memory: in place on the <c>cpu</c> backend, through temporary device buffers elsewhere. Same checks
    /// and outcomes as <see cref="Launch"/>.
    /// </summary>
    public void Run(KernelRuntime runtime, ReadOnlySpan<float> input, Span<float> output, int rows, int cols,
        float temperature = 1f, ReadOnlySpan<float> temperatures = default, ReadOnlySpan<float> mask = default)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(rows, cols, temperature);
        Guard.Span(input.Length, Guard.Elements(rows, cols), nameof(input));
        Guard.Span(output.Length, OutputLength(rows, cols), nameof(output));
        if (Output == SoftmaxOutput.LogSumExp && input.Overlaps(output))
            throw new ArgumentException("output must not overlap the input for a log-sum-exp kernel.", nameof(output));
        if (Temperature == TemperatureMode.PerRow)
            Guard.Span(temperatures.Length, rows, nameof(temperatures));
        if (HasMask)
            Guard.Span(mask.Length, Guard.Elements(rows, cols), nameof(mask));
        if (rows == 0)
            return;

        if (!runtime.IsIlgpu)
        {
            fixed (float* x = input, y = output, t = temperatures, m = mask)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)x, (nint)y, (nint)t, (nint)m, args);
            }
            return;
        }
        using var inputBuffer = runtime.Upload(input);
        using var outputBuffer = runtime.Allocate<float>(OutputLength(rows, cols));
        using var temperatureBuffer = Temperature == TemperatureMode.PerRow ? runtime.Upload(temperatures[..rows]) : null;
        using var maskBuffer = HasMask ? runtime.Upload(mask) : null;
        Launch(runtime, inputBuffer, outputBuffer, rows, cols, temperature, temperatureBuffer, maskBuffer);
        outputBuffer.CopyTo(output[..(int)OutputLength(rows, cols)]);
    }

    // Kept out of Launch: its closure would otherwise be allocated on every call, cpu launches included.
    private void LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> input, KernelBuffer<float> output,
        KernelBuffer<float>? temperatures, KernelBuffer<float>? mask, SoftmaxArgs args)
    {
        var kernel = runtime.GetKernel(_ilgpu.Method, accelerator =>
            global::ILGPU.Runtime.KernelLoaders.LoadStreamKernel(accelerator, _ilgpu));
        runtime.LaunchAndWait(() => kernel(
            new KernelConfig(args.Rows, runtime.GroupSize),
            input.View, output.View, (temperatures ?? input).View, (mask ?? input).View, args));
    }

    private SoftmaxArgs Arguments(int rows, int cols, float temperature)
    {
        Guard.AtLeast(rows, 0, nameof(rows));
        Guard.AtLeast(cols, 1, nameof(cols));
        if (Temperature == TemperatureMode.Scalar)
            Guard.PositiveFinite(temperature, nameof(temperature));
        return new SoftmaxArgs
        {
            Rows = rows,
            Cols = cols,
            InverseTemperature = Temperature == TemperatureMode.Scalar ? 1f / temperature : 1f,
            PerRowTemperature = Temperature == TemperatureMode.PerRow ? 1 : 0,
            HasMask = HasMask ? 1 : 0,
            Output = (int)Output,
            Activation = (int)Activation,
        };
    }
}
