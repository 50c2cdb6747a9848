using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Kernels.Cpu;

namespace Kernels;

/// <summary>
/// The CPU side of the categorical sampler: rows spread over cores, exact inverse-CDF per row. Pass 1 reads the logits
/// once, staging w = Transform(x)·log2(e)/T in a per-thread row buffer (which stays in L2) and finding its max;
/// pass 2 computes e = 2^(w − max) sixteen lanes at a time with AVX-512, else eight (<see cref="PortableMath"/>, the
/// same bits as the ILGPU side) and sums it in double per block of 64 columns; each draw then walks the block sums to the
/// block holding u·Σ and scans its 64 columns. One read of the logits and one exp2 per element.
/// </summary>
public static unsafe class CategoricalCpu
{
    private const int Lanes = 8;
    private const int BlockSize = 64;

    [ThreadStatic] private static float[]? t_row;
    [ThreadStatic] private static double[]? t_blocks;

    /// <summary>Samples every row with transform <typeparamref name="T"/>.</summary>
    public static void Rows<T>(nint logits, nint temperatures, nint keys, nint uniforms, nint tokens, nint logProbs, CategoricalArgs args)
        where T : struct, ILogitTransform =>
        RowScheduler.For(args.Rows, args.Cols, new Job<T>(logits, temperatures, keys, uniforms, tokens, logProbs, args));

    private readonly struct Job<T>(nint logits, nint temperatures, nint keys, nint uniforms, nint tokens, nint logProbs, CategoricalArgs args) : IRowJob
        where T : struct, ILogitTransform
    {
        public void Run(int start, int end)
        {
            int padded = (args.Cols + Lanes - 1) & ~(Lanes - 1);
            int blocks = (padded + BlockSize - 1) / BlockSize;
            var row = t_row is { } r && r.Length >= padded ? r : (t_row = GC.AllocateUninitializedArray<float>(padded, pinned: true));
            var sums = t_blocks is { } b && b.Length >= blocks ? b : (t_blocks = new double[blocks]);
            fixed (float* w = row)
            fixed (double* blockSums = sums)
            {
                for (int i = start; i < end; i++)
                    SampleRow<T>(i, (float*)logits + (long)i * args.Cols, i + 1 < end, w, blockSums, blocks, args,
                        (float*)temperatures, (RngKey*)keys, (double*)uniforms, (int*)tokens, (float*)logProbs);
            }
        }
    }

    // Fully optimised at first call: a row method runs only rows-times per launch, too few for tiering to promote it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SampleRow<T>(int row, float* x, bool prefetchNext, float* w, double* blockSums, int blocks, CategoricalArgs args,
        float* temperatures, RngKey* keys, double* uniforms, int* tokens, float* logProbs)
        where T : struct, ILogitTransform
    {
        int cols = args.Cols;
        float scale = args.PerRowTemperature != 0 ? SamplingMath.Log2Scale(temperatures[row]) : args.Scale;
        long outStart = (long)row * args.Samples;

        // Pass 1: stage w, find its max and whether the row holds NaN (+inf shows in the max); lanes past the end hold −inf.
        var vscale = Vector256.Create(scale);
        var max = Vector256.Create(float.NegativeInfinity);
        var nan = Vector256<float>.Zero;
        for (int i = 0; i < cols; i += Lanes)
        {
            var columns = Vector256.Create(i) + Vector256<int>.Indices;
            Vector256<float> z;
            if (i <= cols - Lanes)
            {
                z = default(T).Apply(Vector256.Load(x + i), columns) * vscale;
            }
            else
            {
                z = default(T).Apply(SoftmaxCpu.Load(x, i, cols, 0f), columns) * vscale;
                z = Vector256.ConditionalSelect(Vector256.LessThan(columns, Vector256.Create(cols)).AsSingle(), z, Vector256.Create(float.NegativeInfinity));
            }
            nan |= ~Vector256.Equals(z, z);
            max = Vector256.MaxNative(max, z);
            Vector256.Store(z, w + i);
        }
        float m = VectorMath.HorizontalMax(max);
        bool invalid = nan != Vector256<float>.Zero || m == float.PositiveInfinity;
        if (invalid || m == float.NegativeInfinity)
        {
            float value = invalid ? float.NaN : float.NegativeInfinity;
            for (int s = 0; s < args.Samples; s++)
            {
                tokens[outStart + s] = SamplingMath.NoToken;
                if (args.WriteLogProbs != 0)
                    logProbs[outStart + s] = value;
            }
            return;
        }

        // Pass 2: block sums of 2^(w − max) in double. Lanes past the row end hold −inf and add 0.
        int padded = (cols + Lanes - 1) & ~(Lanes - 1);
        var vm = Vector256.Create(m);
        double total = 0.0;
        if (Vector512.IsHardwareAccelerated)
        {
            // Sixteen lanes where AVX-512 exists: half the instructions of the compute-bound pass, the same e bits.
            // Meanwhile the next row's logits are prefetched into L2 (one line per 16 columns, the pace of this loop),
            // so that memory traffic overlaps this compute instead of stalling the next pass 1.
            var vm512 = Vector512.Create(m);
            byte* next = (byte*)(x + cols);
            bool prefetch = prefetchNext && Sse.IsSupported;
            for (int b = 0; b < blocks; b++)
            {
                int begin = b * BlockSize;
                int stop = Math.Min(begin + BlockSize, padded);
                var acc0 = Vector512<double>.Zero;
                var acc1 = Vector512<double>.Zero;
                int j = begin;
                for (; j <= stop - 2 * Lanes; j += 2 * Lanes)
                {
                    if (prefetch)
                        Sse.Prefetch1(next + (long)j * sizeof(float));
                    var e = PortableMath.Exp2(Vector512.Load(w + j) - vm512);
                    var (lo, hi) = Vector512.Widen(e);
                    acc0 += lo;
                    acc1 += hi;
                }
                double blockSum = Vector512.Sum(acc0 + acc1);
                if (j < stop)
                {
                    var (lo, hi) = Vector256.Widen(PortableMath.Exp2(Vector256.Load(w + j) - vm));
                    blockSum += Vector256.Sum(lo + hi);
                }
                blockSums[b] = blockSum;
                total += blockSum;
            }
        }
        else
        {
            for (int b = 0; b < blocks; b++)
            {
                int begin = b * BlockSize;
                int stop = Math.Min(begin + BlockSize, padded);
                var acc0 = Vector256<double>.Zero;
                var acc1 = Vector256<double>.Zero;
                for (int j = begin; j < stop; j += Lanes)
                {
                    var e = PortableMath.Exp2(Vector256.Load(w + j) - vm);
                    var (lo, hi) = Vector256.Widen(e);
                    acc0 += lo;
                    acc1 += hi;
                }
                double blockSum = Vector256.Sum(acc0 + acc1);
                blockSums[b] = blockSum;
                total += blockSum;
            }
        }

        // Pass 3, per draw: the block holding u·Σ, then its columns.
        var key = args.PerRowKeys != 0 && args.ExplicitUniforms == 0 ? keys[row] : Rng.RowKey(args.Key, row);
        for (int s = 0; s < args.Samples; s++)
        {
            double u = args.ExplicitUniforms != 0
                ? uniforms[outStart + s]
                : Variates.Uniform(Rng.Block(key, (uint)s, args.Offset).Low64);
            int token = Find(w, blockSums, blocks, cols, m, u * total);
            tokens[outStart + s] = token;
            if (args.WriteLogProbs != 0)
                logProbs[outStart + s] = (float)((double)(w[token] - m) * SamplingMath.Ln2 - Math.Log(total));
        }
    }

    /// <summary>The first column whose running sum exceeds <paramref name="target"/>; else the last column with mass.</summary>
    private static int Find(float* w, double* blockSums, int blocks, int cols, float max, double target)
    {
        double running = 0.0;
        int b = 0;
        while (b < blocks && !(running + blockSums[b] > target))
        {
            running += blockSums[b];
            b++;
        }
        if (b == blocks)
        {
            // Rounding left u·Σ at or above the total: the last block with mass, then its last column with mass.
            b = blocks - 1;
            while (b > 0 && !(blockSums[b] > 0.0))
                b--;
            return LastWithMass(w, b, cols, max);
        }
        int stop = Math.Min((b + 1) * BlockSize, cols);
        for (int i = b * BlockSize; i < stop; i++)
        {
            float e = PortableMath.Exp2(w[i] - max);
            running += e;
            if (e > 0f && running > target)
                return i;
        }
        return LastWithMass(w, b, cols, max);
    }

    private static int LastWithMass(float* w, int block, int cols, float max)
    {
        for (int i = Math.Min((block + 1) * BlockSize, cols) - 1; i >= block * BlockSize; i--)
        {
            if (PortableMath.Exp2(w[i] - max) > 0f)
                return i;
        }
        return block * BlockSize; // unreachable: the block holding the max has mass
    }
}
