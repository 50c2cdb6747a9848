using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kernels.Cpu;

namespace Kernels;

/// <summary>
/// The CPU side of chain verification: rows spread over cores. Per row the L accept tests read two floats each; the final
/// draw reads the one or two rows it needs (p and q at the first rejection, p at the bonus position) once, eight lanes at
/// a time, summing max(0, p − q) in double per block of 64 columns, then walks the block sums to the block holding u·Σ
/// and rescans its 64 columns. The rest of the inputs is never touched: a row costs about 2V floats of memory traffic,
/// not (2L + 1)·V.
/// </summary>
public static unsafe class ChainCpu
{
    private const int Lanes = 8;
    private const int BlockSize = 64;
    private const int DrawInvalid = -1;
    private const int DrawNoMass = -2;

    [ThreadStatic] private static double[]? t_blocks;

    /// <summary>Verifies every row.</summary>
    public static void Rows(nint target, nint draft, nint draftTokens, nint keys, nint uniforms, nint accepted, nint emitted, ChainArgs args) =>
        // Each row touches about 2V elements: schedule by that, not by (2L + 1)·V.
        RowScheduler.For(args.Batch, 2 * args.Cols, new Job(target, draft, draftTokens, keys, uniforms, accepted, emitted, args));

    private readonly struct Job(nint target, nint draft, nint draftTokens, nint keys, nint uniforms, nint accepted, nint emitted, ChainArgs args) : IRowJob
    {
        public void Run(int start, int end)
        {
            int blocks = (args.Cols + BlockSize - 1) / BlockSize;
            var sums = t_blocks is { } s && s.Length >= blocks ? s : (t_blocks = new double[blocks]);
            fixed (double* blockSums = sums)
            {
                for (int b = start; b < end; b++)
                    VerifyRow(b, (float*)target, (float*)draft, (int*)draftTokens, (RngKey*)keys, (double*)uniforms, (int*)accepted, (int*)emitted, blockSums, args);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VerifyRow(int b, float* target, float* draft, int* draftTokens, RngKey* keys, double* uniforms, int* accepted, int* emitted,
        double* blockSums, ChainArgs args)
    {
        int length = args.Length;
        int cols = args.Cols;
        int* tokens = draftTokens + (long)b * length;
        double* u = uniforms + (long)b * (length + 1);
        var key = args.PerRowKeys != 0 && args.ExplicitUniforms == 0 ? keys[b] : Rng.RowKey(args.Key, b);

        bool invalid = false;
        for (int k = 0; k < length; k++)
            invalid |= tokens[k] < 0 || tokens[k] >= cols;

        int stop = length;
        for (int k = 0; k < length && !invalid; k++)
        {
            float p = target[((long)b * (length + 1) + k) * cols + tokens[k]];
            float q = draft[((long)b * length + k) * cols + tokens[k]];
            if (!SpeculativeMath.Valid(p) || !SpeculativeMath.Valid(q))
            {
                invalid = true;
                break;
            }
            double uk = args.ExplicitUniforms != 0 ? u[k] : Variates.Uniform(Rng.Block(key, (uint)k, args.Offset).Low64);
            if (!SpeculativeMath.Accepts(uk, p, q))
            {
                stop = k;
                break;
            }
        }

        int token = SpeculativeMath.Invalid;
        if (!invalid)
        {
            float* pRow = target + ((long)b * (length + 1) + stop) * cols;
            float* qRow = stop < length ? draft + ((long)b * length + stop) * cols : null;
            double ul = args.ExplicitUniforms != 0 ? u[length] : Variates.Uniform(Rng.Block(key, (uint)length, args.Offset).Low64);
            token = Draw(pRow, qRow, cols, ul, blockSums);
            if (token == DrawNoMass && qRow != null)
                token = Draw(pRow, null, cols, ul, blockSums); // residual mass rounded to 0: fall back to p
            invalid = token < 0;
        }

        accepted[b] = invalid ? SpeculativeMath.Invalid : stop;
        int* output = emitted + (long)b * (length + 1);
        for (int i = 0; i <= length; i++)
            output[i] = invalid || i > stop ? SpeculativeMath.Invalid : i < stop ? tokens[i] : token;
    }

    /// <summary>Inverse-CDF draw of norm(max(0, p − q)) (of p when <paramref name="q"/> is null).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Draw(float* p, float* q, int cols, double u, double* blockSums)
    {
        int blocks = (cols + BlockSize - 1) / BlockSize;
        double total = 0.0;
        var bad = Vector256<float>.Zero;
        var infinity = Vector256.Create(float.PositiveInfinity);
        bool scalarBad = false;
        for (int block = 0; block < blocks; block++)
        {
            int begin = block * BlockSize;
            int stop = Math.Min(begin + BlockSize, cols);
            var acc = Vector256<double>.Zero;
            int j = begin;
            for (; j <= stop - Lanes; j += Lanes)
            {
                var pv = Vector256.Load(p + j);
                var r = pv;
                bad |= ~(Vector256.GreaterThanOrEqual(pv, Vector256<float>.Zero) & Vector256.LessThan(pv, infinity));
                if (q != null)
                {
                    var qv = Vector256.Load(q + j);
                    bad |= ~(Vector256.GreaterThanOrEqual(qv, Vector256<float>.Zero) & Vector256.LessThan(qv, infinity));
                    var d = pv - qv;
                    r = Vector256.ConditionalSelect(Vector256.GreaterThan(d, Vector256<float>.Zero), d, Vector256<float>.Zero);
                }
                var (lo, hi) = Vector256.Widen(r);
                acc += lo + hi;
            }
            double blockSum = Vector256.Sum(acc);
            for (; j < stop; j++)
            {
                float qj = q != null ? q[j] : 0f;
                scalarBad |= !SpeculativeMath.Valid(p[j]) || !SpeculativeMath.Valid(qj);
                blockSum += SpeculativeMath.Residual(p[j], qj);
            }
            blockSums[block] = blockSum;
            total += blockSum;
        }
        if (scalarBad || bad != Vector256<float>.Zero)
            return DrawInvalid;
        if (!(total > 0.0))
            return DrawNoMass;

        double goal = u * total;
        double running = 0.0;
        int found = 0;
        while (found < blocks && !(running + blockSums[found] > goal))
            running += blockSums[found++];
        if (found == blocks)
        {
            // Rounding left u·Σ at or above the total: the last column with mass.
            for (int i = cols - 1; ; i--)
            {
                if (SpeculativeMath.Residual(p[i], q != null ? q[i] : 0f) > 0f)
                    return i;
            }
        }
        int end = Math.Min((found + 1) * BlockSize, cols);
        int last = found * BlockSize;
        for (int i = found * BlockSize; i < end; i++)
        {
            float r = SpeculativeMath.Residual(p[i], q != null ? q[i] : 0f);
            if (r > 0f)
            {
                running += r;
                last = i;
                if (running > goal)
                    return i;
            }
        }
        return last; // rounding within the block: its last column with mass
    }
}
