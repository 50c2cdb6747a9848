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
/// not (2L + 1)·V. With logit stages (<see cref="ChainLogitVerifier"/>) the rows come from the decode pipeline instead,
/// staged per request on demand into two thread-local rows (<see cref="TruncateCpu.Row{T, TIn}"/>): positions after the first
/// rejection are never staged. One verification for both (<see cref="IChainRows"/>).
/// </summary>
public static unsafe class ChainCpu
{
    private const int Lanes = 8;
    private const int BlockSize = 64;
    private const int DrawInvalid = -1;
    private const int DrawNoMass = -2;

    [ThreadStatic] private static double[]? t_blocks;
    [ThreadStatic] private static float[]? t_staged;

    /// <summary>Verifies every row.</summary>
    public static void Rows(nint target, nint draft, nint draftTokens, nint keys, nint uniforms, nint accepted, nint emitted, ChainArgs args) =>
        // Each row touches about 2V elements: schedule by that, not by (2L + 1)·V.
        RowScheduler.For(args.Batch, 2 * args.Cols, new Job(target, draft, draftTokens, keys, uniforms, accepted, emitted, args));

    /// <summary>
    /// Verifies every row on logits: p and q staged from <paramref name="targetLogits"/> [B, L+1, V] and
    /// <paramref name="draftLogits"/> [B, L, V] by the decode pipeline <paramref name="stages"/> (with transform
    /// <typeparamref name="T"/>, request b's per-row parameters at entry b), as the truncation kernel writes them.
    /// </summary>
    public static void LogitRows<T>(nint targetLogits, nint draftLogits, nint draftTokens, nint keys, nint temperatures, nint topK, nint topP,
        nint minP, nint accepted, nint emitted, ChainArgs args, DecodeArgs stages)
        where T : struct, ILogitTransform =>
        // A request stages up to 2L + 1 rows, each read once and written once.
        RowScheduler.For(args.Batch, (2 * args.Length + 1) * args.Cols,
            new LogitJob<T>(targetLogits, draftLogits, draftTokens, keys, temperatures, topK, topP, minP, accepted, emitted, args, stages));

    private static double[] BlockSums(int cols)
    {
        int blocks = (cols + BlockSize - 1) / BlockSize;
        return t_blocks is { } s && s.Length >= blocks ? s : (t_blocks = new double[blocks]);
    }

    private readonly struct Job(nint target, nint draft, nint draftTokens, nint keys, nint uniforms, nint accepted, nint emitted, ChainArgs args) : IRowJob
    {
        public void Run(int start, int end)
        {
            var sums = BlockSums(args.Cols);
            var rows = new Probabilities((float*)target, (float*)draft, args.Length, args.Cols);
            fixed (double* blockSums = sums)
            {
                for (int b = start; b < end; b++)
                    VerifyRow(ref rows, b, (int*)draftTokens, (RngKey*)keys, (double*)uniforms, (int*)accepted, (int*)emitted, blockSums, args);
            }
        }
    }

    private readonly struct LogitJob<T>(nint targetLogits, nint draftLogits, nint draftTokens, nint keys, nint temperatures, nint topK, nint topP,
        nint minP, nint accepted, nint emitted, ChainArgs args, DecodeArgs stages) : IRowJob
        where T : struct, ILogitTransform
    {
        public void Run(int start, int end)
        {
            var sums = BlockSums(args.Cols);
            int cols = args.Cols;
            var staged = t_staged is { } t && t.Length >= 2 * cols ? t : (t_staged = new float[2 * cols]);
            fixed (double* blockSums = sums)
            fixed (float* rowsBase = staged)
            {
                var rows = new Staged<T>
                {
                    TargetLogits = (float*)targetLogits,
                    DraftLogits = (float*)draftLogits,
                    P = rowsBase,
                    Q = rowsBase + cols,
                    Scratch = RowScratch.For(cols),
                    Temperatures = (float*)temperatures,
                    TopK = (int*)topK,
                    TopP = (float*)topP,
                    MinP = (float*)minP,
                    TargetArgs = stages,
                    DraftArgs = stages,
                    Length = args.Length,
                };
                rows.TargetArgs.RowsPerParameter = args.Length + 1;
                rows.DraftArgs.RowsPerParameter = args.Length;
                for (int b = start; b < end; b++)
                {
                    rows.LoadedP = rows.LoadedQ = -1;
                    VerifyRow(ref rows, b, (int*)draftTokens, (RngKey*)keys, null, (int*)accepted, (int*)emitted, blockSums, args);
                }
            }
        }
    }

    /// <summary>The rows one chain verification reads: p_k(x_k) and q_k(x_k) for the accept tests, whole rows for the final draw.</summary>
    private interface IChainRows
    {
        /// <summary>p_k(t) and q_k(t) of request b.</summary>
        void Pair(int b, int k, int t, out float p, out float q);

        /// <summary>The row p_n of request b.</summary>
        float* Target(int b, int n);

        /// <summary>The row q_n of request b (n &lt; L).</summary>
        float* Draft(int b, int n);
    }

    /// <summary>Probabilities given: two floats per accept test, rows read in place.</summary>
    private readonly struct Probabilities(float* target, float* draft, int length, int cols) : IChainRows
    {
        public void Pair(int b, int k, int t, out float p, out float q)
        {
            p = Target(b, k)[t];
            q = Draft(b, k)[t];
        }

        public float* Target(int b, int n) => target + ((long)b * (length + 1) + n) * cols;

        public float* Draft(int b, int n) => draft + ((long)b * length + n) * cols;
    }

    /// <summary>Logits given: each row the verification reaches is staged once, as the truncation kernel writes it.</summary>
    private struct Staged<T> : IChainRows where T : struct, ILogitTransform
    {
        public float* TargetLogits, DraftLogits, P, Q, Temperatures, TopP, MinP;
        public int* TopK;
        public RowScratch Scratch;
        public DecodeArgs TargetArgs, DraftArgs;
        public int Length;
        public long LoadedP, LoadedQ;

        public void Pair(int b, int k, int t, out float p, out float q)
        {
            p = Target(b, k)[t];
            q = Draft(b, k)[t];
        }

        public float* Target(int b, int n) => Stage((long)b * (Length + 1) + n, TargetLogits, P, ref LoadedP, TargetArgs);

        public float* Draft(int b, int n) => Stage((long)b * Length + n, DraftLogits, Q, ref LoadedQ, DraftArgs);

        // An invalid row is written as NaN (then the request is invalid), an empty one as zeros: as the truncation kernel writes them.
        private readonly float* Stage(long row, float* logits, float* y, ref long loaded, DecodeArgs args)
        {
            if (loaded != row)
            {
                TruncateCpu.Row<T, RowPass.Plain>((int)row, new RowPass.Plain(logits + row * args.Cols), y, args, Scratch.Rows, Scratch.TopK,
                    Temperatures, TopK, TopP, MinP);
                loaded = row;
            }
            return y;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VerifyRow<TRows>(ref TRows rows, int b, int* draftTokens, RngKey* keys, double* uniforms, int* accepted, int* emitted,
        double* blockSums, ChainArgs args)
        where TRows : struct, IChainRows
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
            rows.Pair(b, k, tokens[k], out float p, out float q);
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
            float* pRow = rows.Target(b, stop);
            float* qRow = stop < length ? rows.Draft(b, stop) : null;
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
