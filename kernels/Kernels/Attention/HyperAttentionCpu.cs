using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kernels.Cpu;

namespace Kernels;

/// <summary>The CPU side of HyperAttention's own steps: the angular hash and row gathers/scatters, rows spread over cores.</summary>
public static unsafe class HyperAttentionCpu
{
    /// <summary>
    /// hashes[row] for every row of x [Rows, Width]: the r dot products of a row at once, four projections per double
    /// vector, over the columns in ascending order. Each product of two floats is exact in double, so a fused
    /// multiply-add rounds each partial sum exactly as the device's <see cref="AngularLsh.Hash"/> does: the same bits.
    /// </summary>
    public static void Hash(nint x, nint projection, nint hashes, HyperAttentionArgs args)
    {
        int groups = (args.Bits + 3) / 4;
        var padded = new double[args.Width * groups * 4]; // P [d, r] widened to double, rows padded to whole vectors
        for (int c = 0; c < args.Width; c++)
            for (int j = 0; j < args.Bits; j++)
                padded[c * groups * 4 + j] = ((float*)projection)[c * args.Bits + j];
        fixed (double* p = padded)
            RowScheduler.For(args.Rows, args.Width * args.Bits, new HashJob((float*)x, p, (int*)hashes, groups, args));
    }

    /// <summary>Gather or scatter rows (see <see cref="HyperAttentionDevice.MoveKernel"/>).</summary>
    public static void Move(nint src, nint dst, nint index, HyperAttentionArgs args) =>
        RowScheduler.For(args.Rows, args.Width, new MoveJob((float*)src, (float*)dst, (int*)index, args));

    private readonly struct HashJob(float* x, double* projection, int* hashes, int groups, HyperAttentionArgs args) : IRowJob
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            var acc = stackalloc Vector256<double>[groups];
            int stride = groups * 4;
            for (int row = start; row < end; row++)
            {
                float* xr = x + (long)row * args.Width;
                for (int g = 0; g < groups; g++)
                    acc[g] = Vector256<double>.Zero;
                for (int c = 0; c < args.Width; c++)
                {
                    var xc = Vector256.Create((double)xr[c]);
                    double* pc = projection + c * stride;
                    for (int g = 0; g < groups; g++)
                        acc[g] = Vector256.FusedMultiplyAdd(xc, Vector256.Load(pc + 4 * g), acc[g]);
                }
                int bin = 0;
                for (int g = 0; g < groups; g++)
                {
                    // NaN lanes compare false: bit 0, as in AngularLsh.
                    uint bits = Vector256.GreaterThan(acc[g], Vector256<double>.Zero).ExtractMostSignificantBits();
                    bin |= (int)(bits << (4 * g));
                }
                hashes[row] = AngularLsh.GrayRank(bin & ((1 << args.Bits) - 1));
            }
        }
    }

    private readonly struct MoveJob(float* src, float* dst, int* index, HyperAttentionArgs args) : IRowJob
    {
        public void Run(int start, int end)
        {
            int w = args.Width;
            for (int row = start; row < end; row++)
            {
                int at = index[row];
                if (args.Scatter != 0)
                {
                    if (at >= 0)
                        new ReadOnlySpan<float>(src + (long)row * w, w).CopyTo(new Span<float>(dst + (long)at * w, w));
                }
                else if (at < 0)
                    new Span<float>(dst + (long)row * w, w).Fill(args.Fill);
                else
                    new ReadOnlySpan<float>(src + (long)at * w, w).CopyTo(new Span<float>(dst + (long)row * w, w));
            }
        }
    }
}
