using System;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Cpu;
using Kernels.Device;
using Kernels.Runtime;

namespace Kernels;

/// <summary>The scalar arguments of one Gumbel-softmax backward launch.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct GumbelSoftmaxBackwardArgs
{
    /// <summary>Rows.</summary>
    public int Rows;

    /// <summary>Columns.</summary>
    public int Cols;

    /// <summary>κ/τ for a scalar τ.</summary>
    public float Factor;

    /// <summary>The logit scale κ.</summary>
    public float Scale;

    /// <summary>1 when τ comes per row from a buffer.</summary>
    public int PerRowTemperature;
}

/// <summary>
/// The backward pass of Gumbel-softmax (soft and straight-through alike, which both differentiate the soft sample):
/// dlogits = (κ/τ)·y ⊙ (dy − ⟨dy, y⟩) per row, from the soft sample y the forward kernel wrote and the upstream
/// gradient dy. The gradient is with respect to the kernel's input logits when no transform was fused (with a
/// transform f, multiply by f′(x)). The dot product is summed in double on <c>cpu</c> and in float per group on the
/// ILGPU backends. The output may be the same buffer as the upstream gradient (in place).
/// </summary>
public static unsafe class GumbelSoftmaxBackward
{
    /// <summary>Computes dlogits [rows, cols] on buffers of <paramref name="runtime"/> and waits.</summary>
    /// <param name="runtime">The runtime.</param>
    /// <param name="soft">The soft sample y [rows, cols] from the forward pass.</param>
    /// <param name="gradient">The upstream gradient dy [rows, cols].</param>
    /// <param name="logitGradient">The output dlogits [rows, cols].</param>
    /// <param name="rows">Rows.</param>
    /// <param name="cols">Columns.</param>
    /// <param name="tau">The scalar τ of the forward pass (ignored when <paramref name="taus"/> is given).</param>
    /// <param name="taus">Per-row τ [rows] of the forward pass, or null; an invalid τ turns its row into NaN.</param>
    /// <param name="scale">The logit scale κ of the forward pass.</param>
    public static void Launch(KernelRuntime runtime, KernelBuffer<float> soft, KernelBuffer<float> gradient, KernelBuffer<float> logitGradient,
        int rows, int cols, float tau = 1f, KernelBuffer<float>? taus = null, float scale = 1f)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(rows, cols, tau, taus is not null, scale);
        long elements = Guard.Elements(rows, cols);
        Guard.Buffer(runtime, soft, elements, nameof(soft));
        Guard.Buffer(runtime, gradient, elements, nameof(gradient));
        Guard.Buffer(runtime, logitGradient, elements, nameof(logitGradient));
        Guard.Distinct(soft, logitGradient, nameof(logitGradient), nameof(soft));
        if (taus is not null)
            Guard.Buffer(runtime, taus, rows, nameof(taus));
        if (rows == 0)
            return;
        if (runtime.IsIlgpu)
        {
            var kernel = runtime.GetKernel(typeof(GumbelSoftmaxBackward), accelerator =>
                accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GumbelSoftmaxBackwardArgs>(IlgpuKernel));
            runtime.LaunchAndWait(() => kernel(new KernelConfig(rows, runtime.GroupSize),
                soft.View, gradient.View, logitGradient.View, (taus ?? soft).View, args));
        }
        else
        {
            runtime.ThrowIfDisposed();
            CpuKernel((nint)soft.Host, (nint)gradient.Host, (nint)logitGradient.Host, taus is null ? 0 : (nint)taus.Host, args);
        }
    }

    /// <summary>Computes dlogits on host memory (zero-copy on <c>cpu</c>). Same checks and outcomes as <see cref="Launch"/>.</summary>
    public static void Run(KernelRuntime runtime, ReadOnlySpan<float> soft, ReadOnlySpan<float> gradient, Span<float> logitGradient,
        int rows, int cols, float tau = 1f, ReadOnlySpan<float> taus = default, float scale = 1f)
    {
        Guard.Runtime(runtime, nameof(runtime));
        bool perRow = !taus.IsEmpty;
        var args = Arguments(rows, cols, tau, perRow, scale);
        long elements = Guard.Elements(rows, cols);
        Guard.Span(soft.Length, elements, nameof(soft));
        Guard.Span(gradient.Length, elements, nameof(gradient));
        Guard.Span(logitGradient.Length, elements, nameof(logitGradient));
        if (perRow)
            Guard.Span(taus.Length, rows, nameof(taus));
        if (soft.Overlaps(logitGradient))
            throw new ArgumentException("logitGradient must not overlap soft.", nameof(logitGradient));
        if (rows == 0)
            return;
        if (!runtime.IsIlgpu)
        {
            fixed (float* y = soft, dy = gradient, dx = logitGradient, t = taus)
            {
                runtime.ThrowIfDisposed();
                CpuKernel((nint)y, (nint)dy, (nint)dx, (nint)t, args);
            }
            return;
        }
        int n = (int)elements;
        using var softBuffer = runtime.Upload(soft[..n]);
        using var gradientBuffer = runtime.Upload(gradient[..n]);
        using var outputBuffer = runtime.Allocate<float>(n);
        using var tauBuffer = perRow ? runtime.Upload(taus[..rows]) : null;
        Launch(runtime, softBuffer, gradientBuffer, outputBuffer, rows, cols, tau, tauBuffer, scale);
        outputBuffer.CopyTo(logitGradient[..n]);
    }

    /// <summary>The ILGPU kernel: one group per row.</summary>
    [KernelEntryPoint]
    public static void IlgpuKernel(ArrayView<float> soft, ArrayView<float> gradient, ArrayView<float> logitGradient, ArrayView<float> taus,
        GumbelSoftmaxBackwardArgs args)
    {
        int row = Grid.IdxX;
        if (row >= args.Rows)
            return;
        int tid = Group.IdxX;
        int size = Group.DimX;
        long start = (long)row * args.Cols;
        float factor = args.PerRowTemperature != 0 ? args.Scale * SoftmaxMath.InverseTemperature(taus[row]) : args.Factor;
        float dot = 0f;
        for (int first = 0; first < args.Cols; first += size)
        {
            int col = first + tid;
            if (col < args.Cols)
                dot += soft[start + col] * gradient[start + col];
        }
        dot = GroupReduce.Sum(dot);
        for (int first = 0; first < args.Cols; first += size)
        {
            int col = first + tid;
            if (col < args.Cols)
                logitGradient[start + col] = factor * soft[start + col] * (gradient[start + col] - dot);
        }
    }

    /// <summary>The CPU kernel: rows spread over cores, the dot product in double.</summary>
    public static void CpuKernel(nint soft, nint gradient, nint logitGradient, nint taus, GumbelSoftmaxBackwardArgs args) =>
        RowScheduler.For(args.Rows, args.Cols, new Job((float*)soft, (float*)gradient, (float*)logitGradient, (float*)taus, args));

    private readonly struct Job(float* soft, float* gradient, float* logitGradient, float* taus, GumbelSoftmaxBackwardArgs args) : IRowJob
    {
        public void Run(int start, int end)
        {
            for (int row = start; row < end; row++)
            {
                long offset = (long)row * args.Cols;
                float factor = args.PerRowTemperature != 0 ? args.Scale * SoftmaxMath.InverseTemperature(taus[row]) : args.Factor;
                double dot = 0;
                for (int c = 0; c < args.Cols; c++)
                    dot += (double)soft[offset + c] * gradient[offset + c];
                float d = (float)dot;
                for (int c = 0; c < args.Cols; c++)
                    logitGradient[offset + c] = factor * soft[offset + c] * (gradient[offset + c] - d);
            }
        }
    }

    private static GumbelSoftmaxBackwardArgs Arguments(int rows, int cols, float tau, bool perRow, float scale)
    {
        Guard.AtLeast(rows, 0, nameof(rows));
        Guard.AtLeast(cols, 1, nameof(cols));
        if (!perRow)
            Guard.PositiveFinite(tau, nameof(tau));
        Guard.PositiveFinite(scale, nameof(scale));
        return new GumbelSoftmaxBackwardArgs
        {
            Rows = rows,
            Cols = cols,
            Factor = perRow ? 1f : scale * SoftmaxMath.InverseTemperature(tau),
            Scale = scale,
            PerRowTemperature = perRow ? 1 : 0,
        };
    }
}
