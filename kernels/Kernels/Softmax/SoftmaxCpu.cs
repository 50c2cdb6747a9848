using System;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kernels.Cpu;

namespace Kernels;

/// <summary>
/// The CPU side of the softmax family: rows spread over cores, each row vectorised with Vector512 where AVX-512 is
/// present (Vector256 otherwise and for row tails). Softmax reads and transforms the input once, staging z in a scratch
/// row that stays in L2 (a max pass), exponentiates there, and writes the normalised row to the output once — spread
/// over the next row's passes, so that the stores drain while that row reads and computes: memory traffic is one read
/// of the input and one write of the output, with one exponential per element. Sums accumulate in float lanes over
/// short blocks and in double across blocks.
/// </summary>
public static unsafe class SoftmaxCpu
{
    private const int Lanes = 8;
    // The share of the previous row's output written during the next row's first pass (the rest during its second):
    // half and half, so that the stores also overlap a fused transform's compute in the first pass.
    private const double PendingShareInStage = 0.5;
    private const int BlockVectors = 128;
    private const int BlockFloats = BlockVectors * Lanes;
    // Outputs larger than this (about the combined L2 of a small machine) are written with non-temporal stores.
    private const long StreamingBytes = 8L << 20;

    /// <summary>Runs every row with transform <typeparamref name="T"/>.</summary>
    public static void Rows<T>(nint input, nint output, nint temperatures, nint mask, SoftmaxArgs args)
        where T : struct, ILogitTransform
    {
        if (args.HasMask != 0)
            RowScheduler.For(args.Rows, args.Cols, new Job<T, WithMask>(input, output, temperatures, mask, args));
        else
            RowScheduler.For(args.Rows, args.Cols, new Job<T, NoMask>(input, output, temperatures, mask, args));
    }

    private readonly struct Job<T, TMask>(nint input, nint output, nint temperatures, nint mask, SoftmaxArgs args) : IRowJob
        where T : struct, ILogitTransform
        where TMask : struct, IMask
    {
        public void Run(int start, int end)
        {
            // Softmax stages z in per-task scratch rows that stay in L2, so the output is written exactly once — with
            // streaming stores when the whole output is larger than the caches — and never read back. Two rows: a
            // row's output is written while the next row is staged and exponentiated (PendingWrite).
            bool staged = args.Activation == (int)SoftmaxActivation.Softmax && args.Output != (int)SoftmaxOutput.LogSumExp;
            bool streaming = (long)args.Rows * args.Cols * sizeof(float) > StreamingBytes;
            float[]? rented = staged ? ArrayPool<float>.Shared.Rent(2 * args.Cols) : null;
            try
            {
                fixed (float* scratch = rented)
                {
                    var pending = new PendingWrite(args.Cols, streaming);
                    for (int row = start; row < end; row++)
                    {
                        long offset = (long)row * args.Cols;
                        float invT = args.PerRowTemperature != 0
                            ? SoftmaxMath.InverseTemperature(((float*)temperatures)[row])
                            : args.InverseTemperature;
                        var reader = new Reader<T, TMask>((float*)input + offset, (float*)mask + offset, invT, args.Cols);
                        float* y = args.Output == (int)SoftmaxOutput.LogSumExp ? (float*)output + row : (float*)output + offset;
                        if (args.Activation == (int)SoftmaxActivation.StableMax)
                            StableMaxRow(reader, y, args);
                        else
                            SoftmaxRow(reader, y, staged ? scratch + (row & 1) * (long)args.Cols : null, ref pending, args);
                    }
                    pending.WriteUpTo(1);
                }
            }
            finally
            {
                if (rented is not null) ArrayPool<float>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// A staged row whose output is still to be written: probabilities (e·factor) or log-probabilities ((z − max) −
    /// log Σ), in ranges, so that the writing can be spread over the next row's passes: the stores then drain while
    /// that row reads and computes (memory copies faster than it only reads or only writes).
    /// </summary>
    private struct PendingWrite(int cols, bool streaming)
    {
        private float* _source;
        private float* _destination;
        private float _a, _b;
        private bool _log;
        private int _done;

        public void Set(float* source, float* destination, float a, float b, bool log)
        {
            _source = source;
            _destination = destination;
            (_a, _b, _log, _done) = (a, b, log, 0);
        }

        /// <summary>
        /// Writes the pending row's columns up to <paramref name="fraction"/> of the row (1: all of it, after which
        /// nothing is pending).
        /// </summary>
        public void WriteUpTo(double fraction)
        {
            if (_source == null)
                return;
            int to = fraction >= 1 ? cols : Math.Min(cols, (int)(cols * fraction) & ~15);
            if (to > _done)
            {
                if (_log)
                    SoftmaxCpu.Write(_source + _done, _destination + _done, to - _done, new SubtractTwice(_a, _b), streaming);
                else
                    SoftmaxCpu.Write(_source + _done, _destination + _done, to - _done, new Multiply(_a), streaming);
                _done = to;
            }
            if (_done == cols)
                _source = null;
        }
    }

    // Each pass is its own fully optimised method: a row method runs only rows-times per launch, too few for tiering
    // to promote it, and one method holding every pass would exhaust the JIT's inlining budget (the exp and a fused
    // transform inline dozens of lane operations), leaving calls in the hot loops.
    private static void SoftmaxRow<T, TMask>(in Reader<T, TMask> reader, float* y, float* scratch, ref PendingWrite pending, SoftmaxArgs args)
        where T : struct, ILogitTransform
        where TMask : struct, IMask
    {
        int cols = args.Cols;
        var output = (SoftmaxOutput)args.Output;
        // z is staged in the scratch row (null for log-sum-exp, which recomputes it), so the input is read and transformed once.
        // NaN is not looked for element by element: it reaches the sum (z − m is NaN), or, beside −inf only, the max
        // may have dropped it, and the all −inf row is checked again.
        float m = Stage(reader, scratch, cols, ref pending);
        if (m == float.NegativeInfinity && !HasNaN(reader, cols))
        {
            pending.WriteUpTo(1);
            Fill(y, cols, output, output == SoftmaxOutput.Probabilities ? 0f : float.NegativeInfinity);
            return;
        }
        double total = m == float.PositiveInfinity || m == float.NegativeInfinity ? double.NaN
            : SumExp(reader, scratch, cols, m, output == SoftmaxOutput.Probabilities, ref pending);
        pending.WriteUpTo(1);
        if (double.IsNaN(total))
        {
            Fill(y, cols, output, float.NaN);
            return;
        }

        // Pass 3, from the cached scratch row to the output: normalise — pending, written during the next row's passes.
        if (output == SoftmaxOutput.LogSumExp)
            *y = (float)(m + Math.Log(total));
        else if (output == SoftmaxOutput.Probabilities)
            pending.Set(scratch, y, (float)(1.0 / total), 0f, log: false);
        else
            pending.Set(scratch, y, m, (float)Math.Log(total), log: true);
    }

    /// <summary>
    /// Pass 1: z (staged unless <paramref name="scratch"/> is null) and its max; NaN may or may not win the max (the x86
    /// max), the caller finds it later.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Stage<T, TMask>(in Reader<T, TMask> reader, float* scratch, int cols, ref PendingWrite pending)
        where T : struct, ILogitTransform
        where TMask : struct, IMask
    {
        bool staged = scratch != null;
        int full = cols - cols % Lanes;
        var max = Vector256.Create(float.NegativeInfinity);
        int col = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            // AVX-512: sixteen lanes, the fused transform included (with one, this pass is compute-bound).
            var max16 = Vector512.Create(float.NegativeInfinity);
            int wide = full - full % 16;
            for (int block = 0; block < wide; block += BlockFloats)
            {
                for (int end = Math.Min(block + BlockFloats, wide); col < end; col += 16)
                {
                    var z = reader.Full16(col);
                    if (staged) Vector512.Store(z, scratch + col);
                    max16 = Vector512.MaxNative(max16, z);
                }
                pending.WriteUpTo(PendingShareInStage * col / cols);
            }
            max = Vector256.MaxNative(max16.GetLower(), max16.GetUpper());
        }
        for (; col < full; col += Lanes)
        {
            var z = reader.Full(col);
            if (staged) Vector256.Store(z, scratch + col);
            max = Vector256.MaxNative(max, z);
        }
        if (full < cols)
        {
            var z = reader.Tail(full);
            if (staged) StoreTail(scratch, full, cols, z);
            max = Vector256.MaxNative(max, z);
        }
        pending.WriteUpTo(PendingShareInStage);
        return VectorMath.HorizontalMax(max);
    }

    /// <summary>Whether z holds a NaN (only asked of rows whose max came out −inf).</summary>
    private static bool HasNaN<T, TMask>(in Reader<T, TMask> reader, int cols)
        where T : struct, ILogitTransform
        where TMask : struct, IMask
    {
        for (int i = 0; i < cols; i += Lanes)
        {
            var z = reader.Z(i);
            if (!Vector256.EqualsAll(z, z))
                return true;
        }
        return false;
    }

    /// <summary>
    /// Pass 2: Σ e^(z − m), with the exponentials written back to the scratch row when <paramref name="store"/>; from
    /// the staged row, or recomputed from the input when <paramref name="scratch"/> is null. Float sums per block of
    /// <see cref="BlockFloats"/>, double across; after each block, the same columns of the previous row's output are
    /// written (<paramref name="pending"/>), so that the stores drain while this row computes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double SumExp<T, TMask>(in Reader<T, TMask> reader, float* scratch, int cols, float m, bool store, ref PendingWrite pending)
        where T : struct, ILogitTransform
        where TMask : struct, IMask
    {
        bool staged = scratch != null;
        int full = cols - cols % Lanes;
        var vm = Vector256.Create(m);
        double total = 0;
        int wide = staged && Vector512.IsHardwareAccelerated ? cols - cols % 16 : 0;
        if (wide > 0)
        {
            // AVX-512: the staged row is exponentiated sixteen lanes at a time (the transform ran in pass 1).
            var vm16 = Vector512.Create(m);
            for (int block = 0; block < wide; block += BlockFloats)
            {
                int end = Math.Min(block + BlockFloats, wide);
                var acc = Vector512<float>.Zero;
                for (int i = block; i < end; i += 16)
                {
                    var e = VectorMath.ExpNonPositive(Vector512.Load(scratch + i) - vm16);
                    if (store) Vector512.Store(e, scratch + i);
                    acc += e;
                }
                total += VectorMath.HorizontalSum(acc.GetLower()) + VectorMath.HorizontalSum(acc.GetUpper());
                pending.WriteUpTo(PendingShareInStage + (1 - PendingShareInStage) * end / cols);
            }
        }
        for (int block = wide; block < full; block += BlockFloats)
        {
            int end = Math.Min(block + BlockFloats, full);
            var acc = Vector256<float>.Zero;
            for (int i = block; i < end; i += Lanes)
            {
                var e = VectorMath.ExpNonPositive((staged ? Vector256.Load(scratch + i) : reader.Full(i)) - vm);
                if (store) Vector256.Store(e, scratch + i);
                acc += e;
            }
            total += VectorMath.HorizontalSum(acc);
            pending.WriteUpTo(PendingShareInStage + (1 - PendingShareInStage) * end / cols);
        }
        if (full < cols)
        {
            var e = VectorMath.ExpNonPositive((staged ? Load(scratch, full, cols, float.NegativeInfinity) : reader.Tail(full)) - vm);
            if (store) StoreTail(scratch, full, cols, e);
            total += VectorMath.HorizontalSum(e);
        }
        return total;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StableMaxRow<T, TMask>(in Reader<T, TMask> reader, float* y, SoftmaxArgs args)
        where T : struct, ILogitTransform
        where TMask : struct, IMask
    {
        int cols = args.Cols;
        var output = (SoftmaxOutput)args.Output;
        var poisoned = Vector256<float>.Zero;
        var inf = Vector256.Create(float.PositiveInfinity);
        double total = 0;
        var acc = Vector256<float>.Zero;
        for (int i = 0, block = 0; i < cols; i += Lanes)
        {
            var z = reader.Z(i);
            poisoned |= ~Vector256.Equals(z, z) | Vector256.Equals(z, inf);
            var s = SoftmaxMath.Stable(z);
            if (output != SoftmaxOutput.LogSumExp) Store(y, i, cols, s);
            acc += s;
            if (++block == BlockVectors)
            {
                total += VectorMath.HorizontalSum(acc);
                acc = Vector256<float>.Zero;
                block = 0;
            }
        }
        total += VectorMath.HorizontalSum(acc);

        if (poisoned != Vector256<float>.Zero || double.IsInfinity(total))
            Fill(y, cols, output, float.NaN);
        else if (total == 0)
            Fill(y, cols, output, output == SoftmaxOutput.Probabilities ? 0f : float.NegativeInfinity);
        else if (output == SoftmaxOutput.LogSumExp)
            *y = (float)Math.Log(total);
        else if (output == SoftmaxOutput.Probabilities)
            Write(y, y, cols, new Multiply((float)(1.0 / total)), streaming: false);
        else
            LogMinus(y, cols, Vector256.Create((float)Math.Log(total)));
    }

    private static void Fill(float* y, int cols, SoftmaxOutput output, float value)
    {
        if (output == SoftmaxOutput.LogSumExp)
            *y = value;
        else
            new Span<float>(y, cols).Fill(value);
    }

    /// <summary>
    /// dst = op(src); with <paramref name="streaming"/>, aligned non-temporal stores of whole cache lines (sixteen
    /// lanes) where AVX-512 has them, else of eight lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Write<TOp>(float* src, float* dst, int cols, TOp op, bool streaming) where TOp : struct, IElementOp
    {
        int i = 0;
        if (streaming)
        {
            // Scalar until dst is aligned, then stores that bypass the cache (no read-for-ownership of dst); a full
            // 64-byte line per store leaves no write-combining buffer half filled.
            int align = Vector512.IsHardwareAccelerated ? 63 : 31;
            for (; i < cols && ((nuint)(dst + i) & (nuint)align) != 0; i++)
                dst[i] = op.Apply(Vector256.Create(src[i])).ToScalar();
            if (Vector512.IsHardwareAccelerated)
                for (; i <= cols - 16; i += 16)
                    Vector512.StoreAlignedNonTemporal(op.Apply(Vector512.Load(src + i)), dst + i);
            for (; i <= cols - Lanes; i += Lanes)
                Vector256.StoreAlignedNonTemporal(op.Apply(Vector256.Load(src + i)), dst + i);
        }
        for (; i <= cols - Lanes; i += Lanes)
            Vector256.Store(op.Apply(Vector256.Load(src + i)), dst + i);
        if (i < cols)
            StoreTail(dst, i, cols, op.Apply(Load(src, i, cols, 0f)));
    }

    private interface IElementOp
    {
        Vector256<float> Apply(Vector256<float> v);
        Vector512<float> Apply(Vector512<float> v);
    }

    private readonly struct Multiply(float factor) : IElementOp
    {
        public Vector256<float> Apply(Vector256<float> v) => v * factor;
        public Vector512<float> Apply(Vector512<float> v) => v * factor;
    }

    /// <summary>(v − a) − b: log-probabilities from z, the max and the log of the sum, without rounding a + b.</summary>
    private readonly struct SubtractTwice(float a, float b) : IElementOp
    {
        public Vector256<float> Apply(Vector256<float> v) => (v - Vector256.Create(a)) - Vector256.Create(b);
        public Vector512<float> Apply(Vector512<float> v) => (v - Vector512.Create(a)) - Vector512.Create(b);
    }

    private static void LogMinus(float* y, int cols, Vector256<float> logTotal)
    {
        for (int i = 0; i < cols; i += Lanes)
            Store(y, i, cols, VectorMath.Log(Load(y, i, cols, 1f)) - logTotal);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* y, int i, int cols, Vector256<float> v)
    {
        if (i <= cols - Lanes)
            Vector256.Store(v, y + i);
        else
            StoreTail(y, i, cols, v);
    }

    private static void StoreTail(float* y, int i, int cols, Vector256<float> v)
    {
        for (int k = 0; k < cols - i; k++)
            y[i + k] = v.GetElement(k);
    }

    /// <summary>Loads eight floats at <paramref name="i"/>; lanes past <paramref name="cols"/> hold <paramref name="pad"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Load(float* p, int i, int cols, float pad)
    {
        if (i <= cols - Lanes)
            return Vector256.Load(p + i);
        // A local vector rather than stackalloc, which would stop this method from being inlined into the hot loops.
        var v = Vector256.Create(pad);
        float* lanes = (float*)&v;
        for (int k = 0; k < cols - i; k++)
            lanes[k] = p[i + k];
        return v;
    }

    /// <summary>Reads z = T(x, column) / T + mask for eight columns; lanes past the row end read −inf.</summary>
    private readonly struct Reader<T, TMask>(float* x, float* mask, float invT, int cols)
        where T : struct, ILogitTransform
        where TMask : struct, IMask
    {
        private readonly Vector256<float> _invT = Vector256.Create(invT);
        private readonly Vector512<float> _invT16 = Vector512.Create(invT);

        /// <summary>z for the eight columns at <paramref name="i"/>, all inside the row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Full(int i) =>
            default(TMask).Add(default(T).Apply(Vector256.Load(x + i), Vector256.Create(i) + Vector256<int>.Indices) * _invT, mask, i, cols);

        /// <summary>z for the sixteen columns at <paramref name="i"/>, all inside the row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Full16(int i) =>
            default(TMask).Add(default(T).Apply(Vector512.Load(x + i), Vector512.Create(i) + Vector512<int>.Indices) * _invT16, mask, i);

        /// <summary>z for the last, partial vector at <paramref name="i"/>; lanes past the row end read −inf.</summary>
        public Vector256<float> Tail(int i)
        {
            var columns = Vector256.Create(i) + Vector256<int>.Indices;
            var z = default(TMask).Add(default(T).Apply(Load(x, i, cols, 0f), columns) * _invT, mask, i, cols);
            return Vector256.ConditionalSelect(Vector256.LessThan(columns, Vector256.Create(cols)).AsSingle(), z, Vector256.Create(float.NegativeInfinity));
        }

        /// <summary>z for the eight columns at <paramref name="i"/>, full or tail.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Z(int i) => i <= cols - Lanes ? Full(i) : Tail(i);
    }

    private interface IMask
    {
        Vector256<float> Add(Vector256<float> z, float* mask, int i, int cols);
        Vector512<float> Add(Vector512<float> z, float* mask, int i);
    }

    private readonly struct NoMask : IMask
    {
        public Vector256<float> Add(Vector256<float> z, float* mask, int i, int cols) => z;
        public Vector512<float> Add(Vector512<float> z, float* mask, int i) => z;
    }

    private readonly struct WithMask : IMask
    {
        public Vector256<float> Add(Vector256<float> z, float* mask, int i, int cols) => z + Load(mask, i, cols, 0f);
        public Vector512<float> Add(Vector512<float> z, float* mask, int i) => z + Vector512.Load(mask + i);
    }
}
