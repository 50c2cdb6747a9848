using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// One generated top-k selection: the k largest Transform(x) per row with their columns, in the order (value
/// descending, column ascending: ties go to the lowest index), without sorting the row. Generated launchers hold one
/// in a static field; validation and dispatch live here once.
/// </summary>
/// <remarks>
/// Outcomes: a row holding NaN gets NaN values and index −1; −inf and +inf are ordinary values (a row with fewer than k
/// finite values is completed by its −inf columns, lowest index first). −0 is returned as +0. Values and indices are the
/// same on every backend.
/// </remarks>
public sealed unsafe class TopKSelector
{
    /// <summary>The signature of a generated CPU kernel.</summary>
    public delegate void CpuEntry(nint logits, nint temperatures, nint keys, nint values, nint indices, TopKArgs args);

    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<RngKey>, ArrayView<float>, ArrayView<int>, TopKArgs> _ilgpu;
    private readonly CpuEntry _cpu;

    /// <summary>Describes a generated selection.</summary>
    public TopKSelector(Action<ArrayView<float>, ArrayView<float>, ArrayView<RngKey>, ArrayView<float>, ArrayView<int>, TopKArgs> ilgpu, CpuEntry cpu)
    {
        _ilgpu = ilgpu;
        _cpu = cpu;
    }

    /// <summary>
    /// Writes the top <paramref name="k"/> of each row of <paramref name="logits"/> [rows, cols] into
    /// <paramref name="values"/> and <paramref name="indices"/> [rows, k], on buffers of <paramref name="runtime"/>, and
    /// waits. Every argument is checked first; on an exception nothing has been launched.
    /// </summary>
    public void Launch(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<float> values, KernelBuffer<int> indices, int rows, int cols, int k)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(rows, cols, k);
        long outputs = Guard.Elements(rows, k);
        Guard.Buffer(runtime, logits, Guard.Elements(rows, cols), nameof(logits));
        Guard.Buffer(runtime, values, outputs, nameof(values));
        Guard.Buffer(runtime, indices, outputs, nameof(indices));
        if (rows == 0)
            return;
        if (runtime.IsIlgpu)
        {
            LaunchIlgpu(runtime, logits, values, indices, args);
            return;
        }
        runtime.ThrowIfDisposed();
        _cpu((nint)logits.Host, 0, 0, (nint)values.Host, (nint)indices.Host, args);
    }

    // Kept out of Launch: its closure would otherwise be allocated on every call, cpu launches included.
    private void LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> logits, KernelBuffer<float> values, KernelBuffer<int> indices, TopKArgs args)
    {
        var kernel = runtime.GetKernel(_ilgpu.Method, accelerator =>
            global::ILGPU.Runtime.KernelLoaders.LoadStreamKernel(accelerator, _ilgpu));
        runtime.LaunchAndWait(() => kernel(new KernelConfig(args.Rows, runtime.GroupSize), logits.View, logits.View, default, values.View, indices.View, args));
    }

    /// <summary>Runs on host memory: in place on the <c>cpu</c> backend, through temporary device buffers elsewhere. Same checks and outcomes as <see cref="Launch"/>.</summary>
    public void Run(KernelRuntime runtime, ReadOnlySpan<float> logits, Span<float> values, Span<int> indices, int rows, int cols, int k)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(rows, cols, k);
        long outputs = Guard.Elements(rows, k);
        Guard.Span(logits.Length, Guard.Elements(rows, cols), nameof(logits));
        Guard.Span(values.Length, outputs, nameof(values));
        Guard.Span(indices.Length, outputs, nameof(indices));
        if (rows == 0)
            return;
        if (!runtime.IsIlgpu)
        {
            fixed (float* x = logits, v = values)
            fixed (int* c = indices)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)x, 0, 0, (nint)v, (nint)c, args);
            }
            return;
        }
        int n = (int)outputs;
        using var logitBuffer = runtime.Upload(logits[..(int)Guard.Elements(rows, cols)]);
        using var valueBuffer = runtime.Allocate<float>(n);
        using var indexBuffer = runtime.Allocate<int>(n);
        Launch(runtime, logitBuffer, valueBuffer, indexBuffer, rows, cols, k);
        valueBuffer.CopyTo(values[..n]);
        indexBuffer.CopyTo(indices[..n]);
    }

    private static TopKArgs Arguments(int rows, int cols, int k)
    {
        Guard.AtLeast(rows, 0, nameof(rows));
        Guard.AtLeast(cols, 1, nameof(cols));
        if (k < 1 || k > cols || k > TruncationRules.MaxSelectK)
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be between 1 and min(cols = {cols}, {TruncationRules.MaxSelectK}).");
        return new TopKArgs { Rows = rows, Cols = cols, K = k };
    }
}
