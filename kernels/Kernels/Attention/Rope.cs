using System;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Cpu;
using Kernels.Runtime;

namespace Kernels;

/// <summary>Which elements of a row rotary embedding rotates together.</summary>
public enum RopeLayout
{
    /// <summary>Pairs (i, i + d/2), the GPT-NeoX / Llama (Hugging Face "rotate_half") convention.</summary>
    Half = 0,

    /// <summary>Pairs (2i, 2i + 1), the GPT-J / original RoFormer convention.</summary>
    Interleaved = 1,
}

/// <summary>The scalar arguments of one rotary-embedding launch.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct RopeArgs
{
    /// <summary>Rows.</summary>
    public int Rows;

    /// <summary>Elements per row (even).</summary>
    public int HeadDim;

    /// <summary>ln θ_base: pair i turns by position·θ_base^(−2i/d).</summary>
    public double LogBase;

    /// <summary>The <see cref="RopeLayout"/>.</summary>
    public int Layout;
}

/// <summary>
/// Rotary position embedding (RoPE), in place: pair i of a row at position p is turned by the angle p·θ^(−2i/d)
/// (θ = <c>theta</c>, 10000 by default). Angles, cosines and sines are computed in double, so positions in the millions
/// keep their accuracy (a float angle at p = 10^6 would be off by ~0.06 rad); ILGPU backends therefore need double
/// support. Used by <see cref="SinkWindowCache"/> and for the queries of a decode step.
/// </summary>
public static unsafe class Rope
{
    /// <summary>Rotates rows x [rows, headDim] at positions [rows] on buffers of <paramref name="runtime"/>, in place, and waits.</summary>
    public static void Launch(KernelRuntime runtime, KernelBuffer<float> x, KernelBuffer<int> positions, int rows, int headDim,
        double theta = 10000, RopeLayout layout = RopeLayout.Half)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(rows, headDim, theta, layout);
        Guard.Buffer(runtime, x, Guard.Elements(rows, headDim), nameof(x));
        Guard.Buffer(runtime, positions, rows, nameof(positions));
        if (rows == 0)
            return;
        if (runtime.IsIlgpu)
            LaunchIlgpu(runtime, x, positions, args);
        else
        {
            runtime.ThrowIfDisposed();
            CpuKernel((nint)x.Host, (nint)positions.Host, args);
        }
    }

    // Kept out of Launch: its closure would otherwise be allocated on every call, cpu launches included.
    private static void LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> x, KernelBuffer<int> positions, RopeArgs args)
    {
        Rng.RequireFloat64(runtime, "Rotary embedding computes its angles in double and needs");
        var kernel = runtime.GetKernel(typeof(Rope), accelerator =>
            accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, RopeArgs>(IlgpuKernel));
        runtime.LaunchAndWait(() => kernel(new KernelConfig(args.Rows, runtime.GroupSize), x.View, positions.View, args));
    }

    /// <summary>Rotates rows of host memory in place (zero-copy on <c>cpu</c>). Same checks as <see cref="Launch"/>.</summary>
    public static void Run(KernelRuntime runtime, Span<float> x, ReadOnlySpan<int> positions, int rows, int headDim,
        double theta = 10000, RopeLayout layout = RopeLayout.Half)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(rows, headDim, theta, layout);
        int elements = checked((int)Guard.Elements(rows, headDim));
        Guard.Span(x.Length, elements, nameof(x));
        Guard.Span(positions.Length, rows, nameof(positions));
        if (rows == 0)
            return;
        if (!runtime.IsIlgpu)
        {
            fixed (float* xp = x)
            fixed (int* pp = positions)
            {
                runtime.ThrowIfDisposed();
                CpuKernel((nint)xp, (nint)pp, args);
            }
            return;
        }
        using var xBuffer = runtime.Upload<float>(x[..elements]);
        using var pBuffer = runtime.Upload(positions[..rows]);
        Launch(runtime, xBuffer, pBuffer, rows, headDim, theta, layout);
        xBuffer.CopyTo(x[..elements]);
    }

    /// <summary>Rotates one row on the host (the CPU kernel's row step).</summary>
    public static void Apply(Span<float> row, long position, double theta = 10000, RopeLayout layout = RopeLayout.Half)
    {
        var args = Arguments(1, row.Length, theta, layout);
        fixed (float* x = row)
            Row(x, position, args);
    }

    /// <summary>The ILGPU kernel: one group per row, threads over the pairs.</summary>
    [KernelEntryPoint]
    public static void IlgpuKernel(ArrayView<float> x, ArrayView<int> positions, RopeArgs args)
    {
        int row = Grid.IdxX;
        if (row >= args.Rows)
            return;
        int half = args.HeadDim / 2;
        long start = (long)row * args.HeadDim;
        double position = positions[row];
        for (int i0 = 0; i0 < half; i0 += Group.DimX)
        {
            int i = i0 + Group.IdxX;
            if (i < half)
            {
                double angle = position * Math.Exp(-2.0 * i / args.HeadDim * args.LogBase);
                float c = (float)Math.Cos(angle), s = (float)Math.Sin(angle);
                long a = start + (args.Layout == (int)RopeLayout.Half ? i : 2 * i);
                long b = a + (args.Layout == (int)RopeLayout.Half ? half : 1);
                float xa = x[a], xb = x[b];
                x[a] = xa * c - xb * s;
                x[b] = xb * c + xa * s;
            }
        }
    }

    /// <summary>The CPU kernel: rows spread over cores.</summary>
    public static void CpuKernel(nint x, nint positions, RopeArgs args) =>
        RowScheduler.For(args.Rows, args.HeadDim * 8, new Job((float*)x, (int*)positions, args));

    private readonly struct Job(float* x, int* positions, RopeArgs args) : IRowJob
    {
        public void Run(int start, int end)
        {
            for (int row = start; row < end; row++)
                Row(x + (long)row * args.HeadDim, positions[row], args);
        }
    }

    private static void Row(float* x, long position, RopeArgs args)
    {
        int half = args.HeadDim / 2;
        for (int i = 0; i < half; i++)
        {
            double angle = position * Math.Exp(-2.0 * i / args.HeadDim * args.LogBase);
            float c = (float)Math.Cos(angle), s = (float)Math.Sin(angle);
            int a = args.Layout == (int)RopeLayout.Half ? i : 2 * i;
            int b = a + (args.Layout == (int)RopeLayout.Half ? half : 1);
            float xa = x[a], xb = x[b];
            x[a] = xa * c - xb * s;
            x[b] = xb * c + xa * s;
        }
    }

    private static RopeArgs Arguments(int rows, int headDim, double theta, RopeLayout layout)
    {
        Guard.AtLeast(rows, 0, nameof(rows));
        if (headDim < 2 || headDim % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "headDim must be even and at least 2.");
        if (!(theta > 1) || double.IsInfinity(theta))
            throw new ArgumentOutOfRangeException(nameof(theta), theta, "theta must be finite and greater than 1.");
        if (layout is not (RopeLayout.Half or RopeLayout.Interleaved))
            throw new ArgumentOutOfRangeException(nameof(layout), layout, "layout must be Half or Interleaved.");
        return new RopeArgs { Rows = rows, HeadDim = headDim, LogBase = Math.Log(theta), Layout = (int)layout };
    }
}
