using System;
using Kernels.Cpu;

namespace Kernels;

/// <summary>The CPU side of HyperAttention's own steps: the angular hash and row gathers/scatters, rows spread over cores.</summary>
public static unsafe class HyperAttentionCpu
{
    /// <summary>hashes[row] for every row of x [Rows, Width].</summary>
    public static void Hash(nint x, nint projection, nint hashes, HyperAttentionArgs args) =>
        RowScheduler.For(args.Rows, args.Width * args.Bits, new HashJob((float*)x, (float*)projection, (int*)hashes, args));

    /// <summary>Gather or scatter rows (see <see cref="HyperAttentionDevice.MoveKernel"/>).</summary>
    public static void Move(nint src, nint dst, nint index, HyperAttentionArgs args) =>
        RowScheduler.For(args.Rows, args.Width, new MoveJob((float*)src, (float*)dst, (int*)index, args));

    private readonly struct HashJob(float* x, float* projection, int* hashes, HyperAttentionArgs args) : IRowJob
    {
        public void Run(int start, int end)
        {
            for (int row = start; row < end; row++)
                hashes[row] = AngularLsh.Hash(x + (long)row * args.Width, projection, args.Width, args.Bits);
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
