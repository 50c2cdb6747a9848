using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// One generated N:M product Y = epilogue(X · Wᵀ + bias): its pattern and both entry points. Generated launchers hold one
/// in a static field; validation and dispatch live here once.
/// </summary>
/// <remarks>
/// Checks before any launch (exceptions naming the argument): the weights' pattern is the declared one, X holds
/// batch x W.Cols, Y holds batch x W.Rows and is not X, the bias holds W.Rows, buffers belong to the launching runtime
/// and are live. Bad metadata cannot reach a launch: <see cref="NmSparseMatrix"/> checks it when built. Values are not
/// inspected: NaN/inf in X or W propagate to the outputs they touch, as in any matrix product.
/// </remarks>
public sealed unsafe class SparseMatMulKernel
{
    /// <summary>The signature of a generated CPU kernel.</summary>
    public delegate void CpuEntry(nint x, nint values, nint metadata, nint bias, nint y, SparseMatMulArgs args);

    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<uint>, ArrayView<float>, ArrayView<float>, SparseMatMulArgs> _ilgpu;
    private readonly CpuEntry _cpu;

    /// <summary>Describes a generated product for pattern <paramref name="n"/>:<paramref name="m"/>.</summary>
    public SparseMatMulKernel(int n, int m,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<uint>, ArrayView<float>, ArrayView<float>, SparseMatMulArgs> ilgpu, CpuEntry cpu)
    {
        Pattern = new NmPattern(n, m);
        _ilgpu = ilgpu;
        _cpu = cpu;
    }

    /// <summary>The declared pattern; weights must have it.</summary>
    public NmPattern Pattern { get; }

    /// <summary>
    /// Y [batch, W.Rows] = epilogue(X [batch, W.Cols] · Wᵀ + bias) on buffers of <paramref name="runtime"/>, and waits.
    /// Every argument is checked first; on an exception nothing has been launched.
    /// </summary>
    public void Launch(KernelRuntime runtime, KernelBuffer<float> x, NmSparseBuffers weights, KernelBuffer<float> y, int batch,
        KernelBuffer<float>? bias = null)
    {
        Guard.Runtime(runtime, nameof(runtime));
        ArgumentNullException.ThrowIfNull(weights);
        if (!ReferenceEquals(weights.Runtime, runtime))
            throw new ArgumentException($"weights belong to another runtime ({weights.Runtime}); upload them to the launching runtime ({runtime}).", nameof(weights));
        if (weights.IsDisposed)
            throw new ArgumentException("weights have been disposed.", nameof(weights));
        var args = Arguments(weights.Pattern, weights.Rows, weights.Cols, batch, bias is not null);
        Guard.Buffer(runtime, x, Guard.Elements(batch, weights.Cols), nameof(x));
        Guard.Buffer(runtime, y, Guard.Elements(batch, weights.Rows), nameof(y));
        Guard.Distinct(x, y, nameof(y), nameof(x));
        if (bias is not null)
            Guard.Buffer(runtime, bias, weights.Rows, nameof(bias));
        if (batch == 0 || weights.Rows == 0)
            return;
        if (runtime.IsIlgpu)
            LaunchIlgpu(runtime, x, weights, y, bias, args);
        else
        {
            runtime.ThrowIfDisposed();
            _cpu((nint)x.Host, (nint)weights.Values.Host, (nint)weights.Metadata.Host, bias is null ? 0 : (nint)bias.Host, (nint)y.Host, args);
        }
    }

    // Kept out of Launch: its closure would otherwise be allocated on every call, cpu launches included.
    private void LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> x, NmSparseBuffers weights, KernelBuffer<float> y,
        KernelBuffer<float>? bias, SparseMatMulArgs args)
    {
        var kernel = runtime.GetKernel(_ilgpu.Method, accelerator =>
            global::ILGPU.Runtime.KernelLoaders.LoadStreamKernel(accelerator, _ilgpu));
        int group = runtime.GroupSize;
        int groups = checked((args.Out + group - 1) / group * ((args.Batch + SparseMatMulDevice.TileRows - 1) / SparseMatMulDevice.TileRows));
        runtime.LaunchAndWait(() => kernel(new KernelConfig(groups, group),
            x.View, weights.Values.View, weights.Metadata.View, (bias ?? weights.Values).View, y.View, args));
    }

    /// <summary>
    /// Runs on host memory: in place on the <c>cpu</c> backend, through temporary device buffers elsewhere (the weights
    /// are uploaded on every call: keep an <see cref="NmSparseBuffers"/> and call <see cref="Launch"/> to avoid that).
    /// Same checks and outcomes as <see cref="Launch"/>.
    /// </summary>
    public void Run(KernelRuntime runtime, ReadOnlySpan<float> x, NmSparseMatrix weights, Span<float> y, int batch,
        ReadOnlySpan<float> bias = default)
    {
        Guard.Runtime(runtime, nameof(runtime));
        ArgumentNullException.ThrowIfNull(weights);
        bool hasBias = !bias.IsEmpty;
        var args = Arguments(weights.Pattern, weights.Rows, weights.Cols, batch, hasBias);
        Guard.Span(x.Length, Guard.Elements(batch, weights.Cols), nameof(x));
        Guard.Span(y.Length, Guard.Elements(batch, weights.Rows), nameof(y));
        if (hasBias)
            Guard.Span(bias.Length, weights.Rows, nameof(bias));
        if (batch == 0 || weights.Rows == 0)
            return;
        if (!runtime.IsIlgpu)
        {
            if (x.Overlaps(y))
                throw new ArgumentException("y must not overlap x.", nameof(y));
            fixed (float* xp = x, yp = y, bp = bias, vp = weights.ValueArray)
            fixed (uint* mp = weights.MetadataArray)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)xp, (nint)vp, (nint)mp, (nint)bp, (nint)yp, args);
            }
            return;
        }
        int outputs = (int)Guard.Elements(batch, weights.Rows);
        using var xBuffer = runtime.Upload(x[..(int)Guard.Elements(batch, weights.Cols)]);
        using var yBuffer = runtime.Allocate<float>(outputs);
        using var biasBuffer = hasBias ? runtime.Upload(bias[..weights.Rows]) : null;
        using var weightBuffers = new NmSparseBuffers(runtime, weights);
        Launch(runtime, xBuffer, weightBuffers, yBuffer, batch, biasBuffer);
        yBuffer.CopyTo(y[..outputs]);
    }

    private SparseMatMulArgs Arguments(NmPattern pattern, int rows, int cols, int batch, bool hasBias)
    {
        if (pattern != Pattern)
            throw new ArgumentException($"weights are {pattern}; this kernel is declared for {Pattern}.", "weights");
        Guard.AtLeast(batch, 0, nameof(batch));
        return new SparseMatMulArgs
        {
            Batch = batch,
            Out = rows,
            In = cols,
            N = Pattern.N,
            M = Pattern.M,
            Bits = Pattern.Bits,
            Kept = Pattern.KeptPerRow(cols),
            MetaWords = Pattern.MetaWordsPerRow(cols),
            HasBias = hasBias ? 1 : 0,
            TileCols = SparseMatMulDevice.MaxTileCols / Pattern.M * Pattern.M,
        };
    }
}
