using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Runtime.InteropServices;
using Kernels.Cpu;

namespace Kernels;

/// <summary>
/// The CPU side of Y = X·Wᵀ for W compressed N:M (dense when N = M), register-blocked with AVX-512 FMA.
/// </summary>
/// <remarks>
/// <para>Work is split over cores by blocks of <see cref="BlockRows"/> weight rows. Below <see cref="OuterMinBatch"/>
/// rows of X, a block is first packed into a per-thread buffer that stays in L2: each kept value's column decoded from
/// the metadata (vectorised: 16 fields at a time from one read) and, when a row's kept values do not fill whole 16-lane
/// chunks, the values zero-padded. Then, by the rows of X: one row (GEMV) — 4 weight rows at a time, 1:2 and 2:4
/// decoding their columns inside the product (nothing packed), the weights prefetched 2 KB ahead; 2–31 rows — a 4 x 4
/// micro-kernel holding 16 vector accumulators over K panels, so each loaded chunk of X and of W feeds four FMAs.</para>
/// <para><b>Prefill</b> (32 rows of X and more, dense and sparse alike): X transposed (16 x 16 tiles in registers) on
/// both cores into a buffer the launching thread keeps, blocks of 128 weight rows each packed panel-major (values and,
/// sparse, the kept columns as 16-bit offsets into the panel of the transposed block, 1:2 and 2:4 decoded straight from
/// the metadata), and a register tile in which each weight value is broadcast into FMAs over its column's X values, so
/// that the load of the column does the gathering. Dense: 4 weight rows x 64 X rows, a column loaded once for the 4 rows,
/// bound by the FMAs. Sparse: 2 weight rows x 128 X rows, each kept value loading its own column (8 vectors), bound by
/// L1 loads (one 64-byte load per FMA, plus a value and an offset per 8). Both prefetch the next K panel of X into
/// L2.</para>
/// <para><b>Gathering X</b> (fewer than 32 rows): when M = 2N (1:2, 2:4, 4:8), a chunk of 16 kept values spans 32
/// columns, so its X values are selected from two registers by one two-source permute (vpermt2ps) per chunk, row of X
/// and weight row. Otherwise (1:4, 2:8, ...) they are gathered (vgatherdps). Dense weights need neither.</para>
/// <para>Without AVX-512 a scalar loop over the same packed block runs (correct, not fast).</para>
/// </remarks>
public static unsafe class SparseMatMulCpu
{
    /// <summary>Weight rows packed and scheduled together.</summary>
    public const int BlockRows = 64;

    private const int Chunk = 16;

    [ThreadStatic] private static float[]? t_values;
    [ThreadStatic] private static int[]? t_columns;
    [ThreadStatic] private static float[]? t_transposed;

    private enum Mode { Dense, Permute, Gather, Scalar, Outer }

    /// <summary>
    /// Rows of X per transposed block in the prefill kernel: dense 64 (4 vectors, each loaded once for 4 weight rows),
    /// sparse 128 (8 vectors per kept value, so that its value and offset loads are spread over 8 FMAs, not 4).
    /// </summary>
    private static int OuterRows(bool dense) => dense ? 64 : 128;

    /// <summary>From this many rows of X on, products use the transposed-X (outer product) kernel.</summary>
    private const int OuterMinBatch = 32;

    /// <summary>
    /// Dense columns per K panel of the prefill kernel, so that a panel of a transposed X block (32 KB: 128 columns x 64
    /// rows dense, 64 x 128 sparse) stays in L1 while the weights stream past it.
    /// </summary>
    private static int PanelCols(bool dense) => dense ? 128 : 64;

    /// <summary>Computes Y [Batch, Out] = epilogue(X [Batch, In] · Wᵀ + bias).</summary>
    public static void Run<T>(nint x, nint values, nint metadata, nint bias, nint y, SparseMatMulArgs args)
        where T : struct, ILogitTransform
    {
        var mode = ModeOf(args);
        if (mode != Mode.Scalar && args.Batch >= OuterMinBatch && TransposedFloats(args) <= Array.MaxLength)
        {
            Prefill<T>((float*)x, values, metadata, bias, y, args);
            return;
        }
        int xStride = args.In;
        // The permute reads X 32 columns at a time: a copy whose rows are zero-padded to a multiple of 32, freed at the end.
        float* copy = null;
        try
        {
            if (mode == Mode.Permute && args.In % (2 * Chunk) != 0)
            {
                xStride = (args.In + 2 * Chunk - 1) / (2 * Chunk) * (2 * Chunk);
                copy = (float*)NativeMemory.AlignedAlloc((nuint)((long)args.Batch * xStride * sizeof(float)), 64);
                NativeMemory.Clear(copy, (nuint)((long)args.Batch * xStride * sizeof(float)));
                for (int r = 0; r < args.Batch; r++)
                    new ReadOnlySpan<float>((float*)x + (long)r * args.In, args.In).CopyTo(new Span<float>(copy + (long)r * xStride, args.In));
            }
            var job = new Job<T>(copy != null ? copy : (float*)x, xStride, (float*)values, (uint*)metadata, (float*)bias, (float*)y, args, mode);
            int blocks = (args.Out + BlockRows - 1) / BlockRows;
            RowScheduler.For(blocks, (int)Math.Min(int.MaxValue, (long)BlockRows * args.In * Math.Max(1, args.Batch) / 4), job);
        }
        finally
        {
            if (copy != null)
                NativeMemory.AlignedFree(copy);
        }
    }

    // Floats of X transposed in blocks of OuterRows rows (the last block zero-padded), plus room to align.
    private static long TransposedFloats(SparseMatMulArgs args)
    {
        int rows = OuterRows(args.N == args.M);
        return (args.Batch + (long)rows - 1) / rows * rows * args.In + 16;
    }

    /// <summary>
    /// Prefill (<see cref="OuterMinBatch"/> rows of X or more, dense and sparse alike): X transposed (both cores) into a
    /// buffer kept by the launching thread and grown to the largest prefill seen (no allocation per launch), then the
    /// weight blocks over the cores (<see cref="Outer{T}"/>).
    /// </summary>
    private static void Prefill<T>(float* x, nint values, nint metadata, nint bias, nint y, SparseMatMulArgs args)
        where T : struct, ILogitTransform
    {
        long floats = TransposedFloats(args);
        var transposed = t_transposed is { } t && t.LongLength >= floats ? t : (t_transposed = GC.AllocateArray<float>((int)floats, pinned: true));
        fixed (float* pinned = transposed)
        {
            float* xt = Align64(pinned);
            int rows = OuterRows(args.N == args.M), xBlocks = (args.Batch + rows - 1) / rows;
            RowScheduler.For(xBlocks, rows * args.In, new TransposeJob(x, xt, args.Batch, args.In, rows));
            var job = new Job<T>(xt, args.In, (float*)values, (uint*)metadata, (float*)bias, (float*)y, args, Mode.Outer);
            int blockRows = PrefillBlockRows;
            RowScheduler.For((args.Out + blockRows - 1) / blockRows, (int)Math.Min(int.MaxValue, (long)blockRows * args.In * args.Batch / 4), job);
        }
    }

    /// <summary>
    /// Weight rows per prefill block, dense and sparse alike: the transposed X streams through L2 once per block, so
    /// larger blocks read it less often (measured: 128 rows about 4% faster than 64 for both at 512 x 4096 x 4096).
    /// </summary>
    private const int PrefillBlockRows = 2 * BlockRows;

    // The first 64-byte boundary at or after p (scratch arrays are allocated 16 elements longer).
    private static T* Align64<T>(T* p) where T : unmanaged => (T*)(((nint)p + 63) & ~(nint)63);

    /// <summary>Tests: run the scalar path that machines without AVX-512 take.</summary>
    internal static bool ScalarOnly { get; set; }

    private static Mode ModeOf(SparseMatMulArgs args)
    {
        if (ScalarOnly || !Avx512F.IsSupported)
            return Mode.Scalar;
        if (args.N == args.M)
            return Mode.Dense;
        bool decodable = args.Bits <= 4 && Chunk % args.N == 0;
        if (!decodable)
            return Mode.Gather;
        return args.M == 2 * args.N ? Mode.Permute : Mode.Gather;
    }

    private readonly struct Job<T>(float* x, int xStride, float* values, uint* metadata, float* bias, float* y, SparseMatMulArgs args, Mode mode) : IRowJob
        where T : struct, ILogitTransform
    {
        public void Run(int start, int end)
        {
            int keptPad = (args.Kept + Chunk - 1) / Chunk * Chunk;
            if (mode == Mode.Dense)
            {
                for (int b = start; b < end; b++)
                    Block<T>(b, values, null, args.Kept, x, xStride, bias, y, args, mode);
                return;
            }
            // Columns: the block's, then one row's decoded columns (prefill packing).
            int blockRows = mode == Mode.Outer ? PrefillBlockRows : BlockRows, scratch = blockRows * keptPad + 16;
            var packedValues = t_values is { } v && v.Length >= scratch ? v : (t_values = GC.AllocateArray<float>(scratch, pinned: true));
            var packedColumns = t_columns is { } c && c.Length >= scratch + keptPad ? c : (t_columns = GC.AllocateArray<int>(scratch + keptPad, pinned: true));
            // Whole chunks: the values are read in place (only the columns are packed); otherwise both, zero-padded.
            bool inPlace = keptPad == args.Kept;
            // GEMV (one row of X, 1:2 and 2:4): the columns are decoded inside the product, nothing is packed.
            if (inPlace && args.Batch == 1 && mode == Mode.Permute && args.Bits <= 2)
            {
                for (int b = start; b < end; b++)
                    Block<T>(b, values + (long)b * BlockRows * keptPad, null, keptPad, x, xStride, bias, y, args, mode, metadata);
                return;
            }
            fixed (float* pinnedValues = packedValues)
            fixed (int* pinnedColumns = packedColumns)
            {
                float* pv = Align64(pinnedValues);
                int* pc = Align64(pinnedColumns);
                if (mode == Mode.Outer)
                {
                    int panel = PanelKept(args);
                    for (int b = start; b < end; b++)
                    {
                        int first = b * blockRows, count = Math.Min(blockRows, args.Out - first);
                        PackPanels(first, count, pv, (ushort*)pc, pc + blockRows * keptPad, panel, values, metadata, args);
                        Outer<T>(first, count, pv, args.N == args.M ? null : (ushort*)pc, panel, x, bias, y, args);
                    }
                    return;
                }
                for (int b = start; b < end; b++)
                {
                    int first = b * BlockRows, count = Math.Min(BlockRows, args.Out - first);
                    for (int i = 0; i < count; i++)
                        Pack(first + i, inPlace ? null : pv + i * keptPad, pc + i * keptPad, keptPad, values, metadata, args, mode);
                    Block<T>(b, inPlace ? values + (long)first * keptPad : pv, pc, keptPad, x, xStride, bias, y, args, mode);
                }
            }
        }
    }

    /// <summary>Decodes weight row <paramref name="row"/>'s columns and, unless <paramref name="dstValues"/> is null, copies its kept values; both zero-padded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pack(int row, float* dstValues, int* dstColumns, int keptPad, float* values, uint* metadata, SparseMatMulArgs args, Mode mode)
    {
        int kept = args.Kept;
        if (dstValues != null)
        {
            new ReadOnlySpan<float>(values + (long)row * kept, kept).CopyTo(new Span<float>(dstValues, kept));
            new Span<float>(dstValues + kept, keptPad - kept).Clear();
        }
        new Span<int>(dstColumns + kept, keptPad - kept).Clear();
        uint* meta = metadata + (long)row * args.MetaWords;
        if (mode is Mode.Permute && args.Bits <= 2)
        {
            var (shifts, mask, laneBase) = Decoder(args.Bits, args.N, args.M);
            for (int c = 0; c < kept / Chunk; c++)
                Columns16((byte*)meta, c, args.Bits, shifts, mask, laneBase).Store(dstColumns + c * Chunk);
            // A partial last chunk: its padded lanes carry value 0, any column in the span will do.
            if (kept % Chunk != 0)
            {
                var stream = new ReadOnlySpan<uint>(meta, args.MetaWords);
                for (int j = kept / Chunk * Chunk; j < kept; j++)
                    dstColumns[j] = NmSparseMatrix.Column(stream, j, args.N, args.M, args.Bits) & (2 * Chunk - 1);
            }
        }
        else if (mode is Mode.Permute || (mode is Mode.Gather && args.Bits <= 4 && Chunk % args.N == 0))
        {
            // 16 fields of Bits bits start on a byte (16·Bits bits per chunk): one 64-bit read, shifted per lane.
            int bits = args.Bits, rowBytes = args.MetaWords * 4, groupsPerChunk = Chunk / args.N;
            var shiftLo = Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7) * (ulong)bits;
            var shiftHi = Vector512.Create(8UL, 9, 10, 11, 12, 13, 14, 15) * (ulong)bits;
            var fieldMask = Vector512.Create((1UL << bits) - 1);
            var laneBase = Vector512<int>.Indices / Vector512.Create(args.N) * Vector512.Create(args.M);
            for (int c = 0; c * Chunk < kept; c++)
            {
                ulong field = ReadBits((byte*)meta, rowBytes, 2 * bits * c);
                var all = Vector512.Create(field);
                var lo = Avx512F.ShiftRightLogicalVariable(all, shiftLo) & fieldMask;
                var hi = Avx512F.ShiftRightLogicalVariable(all, shiftHi) & fieldMask;
                var column = Vector512.Narrow(lo, hi).AsInt32() + laneBase;
                if (mode == Mode.Gather)
                    column += Vector512.Create(c * groupsPerChunk * args.M);
                // Lanes past the row's last kept value point at a valid column (0 or the chunk's first) and carry value 0.
                int remaining = kept - c * Chunk;
                if (remaining < Chunk)
                    column = Vector512.ConditionalSelect(Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(remaining)), column, Vector512<int>.Zero);
                column.Store(dstColumns + c * Chunk);
            }
        }
        else
        {
            var stream = new ReadOnlySpan<uint>(meta, args.MetaWords);
            for (int j = 0; j < kept; j++)
                dstColumns[j] = NmSparseMatrix.Column(stream, j, args.N, args.M, args.Bits);
        }
    }

    private static ulong ReadBits(byte* row, int rowBytes, int offset)
    {
        if (offset + 8 <= rowBytes)
            return Unsafe.ReadUnaligned<ulong>(row + offset);
        ulong field = 0;
        for (int i = offset; i < rowBytes; i++)
            field |= (ulong)row[i] << (8 * (i - offset));
        return field;
    }

    /// <summary>All rows of X against weight rows [b·BlockRows, ...) packed at <paramref name="w"/> (stride <paramref name="wStride"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<T>(int b, float* w, int* columns, int wStride, float* x, int xStride, float* bias, float* y, SparseMatMulArgs args, Mode mode,
        uint* metadata = null)
        where T : struct, ILogitTransform
    {
        int first = b * BlockRows, count = Math.Min(BlockRows, args.Out - first);
        if (mode == Mode.Dense)
            w += (long)first * wStride;
        float* sums = stackalloc float[16];
        int chunks = wStride / Chunk; // whole chunks (the dense tail is added in DenseTail)
        // Two rows of X or more: 4 x 4 blocks (a last partial block repeats its last row); one row: 4 x 1.
        int blocked = mode is Mode.Permute or Mode.Dense && metadata == null && args.Batch >= 2 ? args.Batch : 0;
        if (blocked > 0)
            Blocked4x4<T>(first, count, w, columns, wStride, x, xStride, blocked, bias, y, args, mode);
        for (int r0 = blocked; r0 < args.Batch; r0 += 4)
        {
            int rows = Math.Min(4, args.Batch - r0);
            for (int o0 = 0; o0 < count; o0 += 4)
            {
                // Fewer than 4 weight rows left: repeat the last one (its extra sums are dropped).
                int o1 = Math.Min(o0 + 1, count - 1), o2 = Math.Min(o0 + 2, count - 1), o3 = Math.Min(o0 + 3, count - 1);
                float* w0 = w + (long)o0 * wStride, w1 = w + (long)o1 * wStride, w2 = w + (long)o2 * wStride, w3 = w + (long)o3 * wStride;
                int* c0 = columns + o0 * wStride, c1 = columns + o1 * wStride, c2 = columns + o2 * wStride, c3 = columns + o3 * wStride;
                int outs = Math.Min(4, count - o0);
                for (int r = r0; r < r0 + rows; r++)
                {
                    float* xr = x + (long)r * xStride;
                    if (metadata != null)
                    {
                        uint* m0 = metadata + (long)(first + o0) * args.MetaWords;
                        FusedPermute4x1(w0, w1, w2, w3, (byte*)m0, (byte*)(metadata + (long)(first + o1) * args.MetaWords),
                            (byte*)(metadata + (long)(first + o2) * args.MetaWords), (byte*)(metadata + (long)(first + o3) * args.MetaWords),
                            args.Bits, args.N, xr, chunks, sums);
                        Store<T>(sums, r, 1, first + o0, outs, bias, y, args);
                        continue;
                    }
                    switch (mode)
                    {
                        case Mode.Permute: Permute4x1(w0, w1, w2, w3, c0, c1, c2, c3, xr, chunks, sums); break;
                        case Mode.Gather: Gather4x1(w0, w1, w2, w3, c0, c1, c2, c3, xr, chunks, sums); break;
                        case Mode.Dense: Dense4x1(w0, w1, w2, w3, xr, args.In, sums); break;
                        default: Scalar4x1(w0, w1, w2, w3, c0, c1, c2, c3, xr, args.Kept, sums); break;
                    }
                    Store<T>(sums, r, 1, first + o0, outs, bias, y, args);
                }
            }
        }
    }

    /// <summary>X [batch, cols] into blocks of <paramref name="blockRows"/> rows, each [cols][blockRows]; rows past the batch are zeros.</summary>
    private readonly struct TransposeJob(float* x, float* xt, int batch, int cols, int blockRows) : IRowJob
    {
        public void Run(int start, int end)
        {
            for (int blockIndex = start; blockIndex < end; blockIndex++)
            {
                float* block = xt + (long)blockIndex * cols * blockRows;
                int r0 = blockIndex * blockRows, rows = Math.Min(blockRows, batch - r0);
                if (rows < blockRows)
                    new Span<float>(block, cols * blockRows).Clear();
                // 16 x 16 tiles in registers, along 16 rows of X at a time (16 sequential read streams); the rest one by one.
                int wholeRows = rows / Chunk * Chunk, wholeCols = cols / Chunk * Chunk;
                for (int r = 0; r < wholeRows; r += Chunk)
                    for (int k0 = 0; k0 < wholeCols; k0 += Chunk)
                        Transpose16(x + (long)(r0 + r) * cols + k0, cols, block + (long)k0 * blockRows + r, blockRows);
                for (int r = 0; r < rows; r++)
                {
                    float* src = x + (long)(r0 + r) * cols;
                    for (int k = r < wholeRows ? wholeCols : 0; k < cols; k++)
                        block[(long)k * blockRows + r] = src[k];
                }
            }
        }
    }

    /// <summary>dst[k·dstStride + r] = src[r·srcStride + k] for r, k &lt; 16: unpacks of 32- and 64-bit pairs, then two rounds of 128-bit lane shuffles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose16(float* src, int srcStride, float* dst, int dstStride)
    {
        var t = stackalloc Vector512<float>[Chunk];
        for (int i = 0; i < Chunk; i += 2)
        {
            var a = Vector512.Load(src + (long)i * srcStride);
            var b = Vector512.Load(src + (long)(i + 1) * srcStride);
            t[i] = Avx512F.UnpackLow(a, b); // lane L: a[4L], b[4L], a[4L+1], b[4L+1]
            t[i + 1] = Avx512F.UnpackHigh(a, b);
        }
        var u = stackalloc Vector512<float>[Chunk]; // u[4g + c], lane L: column 4L + c of rows 4g..4g+3
        for (int g = 0; g < 4; g++)
        {
            Vector512<double> lo0 = t[4 * g].AsDouble(), hi0 = t[4 * g + 1].AsDouble(), lo1 = t[4 * g + 2].AsDouble(), hi1 = t[4 * g + 3].AsDouble();
            u[4 * g] = Avx512F.UnpackLow(lo0, lo1).AsSingle();
            u[4 * g + 1] = Avx512F.UnpackHigh(lo0, lo1).AsSingle();
            u[4 * g + 2] = Avx512F.UnpackLow(hi0, hi1).AsSingle();
            u[4 * g + 3] = Avx512F.UnpackHigh(hi0, hi1).AsSingle();
        }
        for (int c = 0; c < 4; c++)
        {
            // 0x88 takes lanes 0 and 2 of each source, 0xDD lanes 1 and 3.
            var a = Avx512F.Shuffle4x128(u[c], u[4 + c], 0x88);
            var b = Avx512F.Shuffle4x128(u[8 + c], u[12 + c], 0x88);
            Avx512F.Shuffle4x128(a, b, 0x88).Store(dst + (long)c * dstStride);
            Avx512F.Shuffle4x128(a, b, 0xDD).Store(dst + (long)(c + 8) * dstStride);
            a = Avx512F.Shuffle4x128(u[c], u[4 + c], 0xDD);
            b = Avx512F.Shuffle4x128(u[8 + c], u[12 + c], 0xDD);
            Avx512F.Shuffle4x128(a, b, 0x88).Store(dst + (long)(c + 4) * dstStride);
            Avx512F.Shuffle4x128(a, b, 0xDD).Store(dst + (long)(c + 12) * dstStride);
        }
    }

    /// <summary>Kept values per K panel: those of <see cref="PanelCols"/> dense columns (at least one group).</summary>
    private static int PanelKept(SparseMatMulArgs args) => Math.Max(1, PanelCols(args.N == args.M) / args.M) * args.N;

    /// <summary>
    /// Packs weight rows [first, first + count) panel-major for <see cref="Outer{T}"/>: panel p (kept values
    /// [p·panel, p·panel + n)) holds, row after row, each row's n values at <paramref name="dstValues"/> + p·panel·count
    /// and (sparse) their columns as 16-bit offsets into the panel's part of a transposed X block ((column − the panel's
    /// first column) · <see cref="OuterRows"/>; a panel spans at most 64 columns) at the same place in
    /// <paramref name="dstOffsets"/>; so that the micro-kernel reads the weights sequentially.
    /// </summary>
    private static void PackPanels(int first, int count, float* dstValues, ushort* dstOffsets, int* rowColumns, int panel,
        float* values, uint* metadata, SparseMatMulArgs args)
    {
        int kept = args.Kept, keptPad = (kept + Chunk - 1) / Chunk * Chunk;
        bool dense = args.N == args.M;
        int rows = OuterRows(dense);
        // 1:2 and 2:4 in whole chunks: each chunk's 16 columns decoded from one read straight into offsets (a chunk spans
        // 32 columns, so chunk c of a panel starts at column 32c of the panel).
        bool direct = !dense && args.Bits <= 2 && args.M == 2 * args.N && kept % Chunk == 0 && panel % Chunk == 0;
        var (shifts, mask, laneBase) = Decoder(Math.Max(1, args.Bits), args.N, args.M);
        for (int i = 0; i < count; i++)
        {
            float* src = values + (long)(first + i) * kept;
            byte* meta = (byte*)(metadata + (long)(first + i) * args.MetaWords);
            if (direct)
            {
                for (int j0 = 0; j0 < kept; j0 += panel)
                {
                    int n = Math.Min(panel, kept - j0);
                    long at = (long)j0 * count + (long)i * n;
                    PrefetchValues(src + j0 + PrefetchAhead, n);
                    new ReadOnlySpan<float>(src + j0, n).CopyTo(new Span<float>(dstValues + at, n));
                    for (int c = 0; c < n / Chunk; c++)
                    {
                        var column = Columns16(meta, j0 / Chunk + c, args.Bits, shifts, mask, laneBase) + Vector512.Create(2 * Chunk * c);
                        Avx512F.ConvertToVector256UInt16(column * rows).Store(dstOffsets + at + c * Chunk);
                    }
                }
                continue;
            }
            if (!dense)
                Pack(first + i, null, rowColumns, keptPad, values, metadata, args, Mode.Gather);
            for (int j0 = 0; j0 < kept; j0 += panel)
            {
                int n = Math.Min(panel, kept - j0);
                long at = (long)j0 * count + (long)i * n;
                PrefetchValues(src + j0 + PrefetchAhead, n);
                new ReadOnlySpan<float>(src + j0, n).CopyTo(new Span<float>(dstValues + at, n));
                if (!dense)
                    Offsets(rowColumns + j0, dstOffsets + at, n, j0 / args.N * args.M, rows);
            }
        }
    }

    // A row's values 2 KB ahead of its packing (into the next row at the end): the 2:4 packing, which decodes as it
    // copies, waits on memory otherwise (measured: its packing 20–25% faster; dense's, bound by bandwidth, unchanged).
    private static void PrefetchValues(float* p, int n)
    {
        for (int j = 0; j < n; j += Chunk)
            Sse.Prefetch0(p + j);
    }

    // dst[j] = (columns[j] − firstColumn) · rows, 16 at a time (vpmovdw): offsets below 64 · 128.
    private static void Offsets(int* columns, ushort* dst, int n, int firstColumn, int rows)
    {
        int j = 0;
        for (; j <= n - Chunk; j += Chunk)
            Avx512F.ConvertToVector256UInt16((Vector512.Load(columns + j) - Vector512.Create(firstColumn)) * rows).Store(dst + j);
        for (; j < n; j++)
            dst[j] = (ushort)((columns[j] - firstColumn) * rows);
    }

    /// <summary>
    /// Prefill: Y = X·Wᵀ with X transposed in blocks of <see cref="OuterRows"/> rows and the weight block packed
    /// panel-major (<see cref="PackPanels"/>). Each weight value is broadcast and multiplied into the X values of its
    /// column (contiguous vectors), several weight rows at once. Dense, 4 weight rows x 64 X rows: the 4 vectors of a column
    /// are loaded once for the 4 weight rows. Sparse, 2 weight rows x 128 X rows: each kept value loads its own column's 8
    /// vectors (the load, not a permute, does the gathering), so the loads bound it, one per FMA plus the value and offset
    /// per 8. K runs in panels (<see cref="PanelCols"/>) so that the panel of the transposed block (32 KB) stays in L1 while
    /// the block's weight rows stream through; partial sums live in a stack buffer between panels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Outer<T>(int first, int count, float* w, ushort* offsets, int panel, float* xt, float* bias, float* y, SparseMatMulArgs args)
        where T : struct, ILogitTransform
    {
        bool dense = offsets == null;
        int kept = args.Kept, xRows = OuterRows(dense), tileRows = dense ? 4 : 2;
        // The next panel of X (and after the last, the next block's first) is prefetched into L2 while this one runs,
        // spread over the panel's tiles: its columns are read in no order the hardware prefetcher follows.
        int panelCols = panel / args.N * args.M, tiles = (count + tileRows - 1) / tileRows;
        int linesPerTile = (panelCols * xRows * sizeof(float) / 64 + tiles - 1) / tiles;
        float* accBuffer = stackalloc float[(count + 1) * xRows + 16];
        float* acc = Align64(accBuffer);
        float* spare = acc + count * xRows; // the sums of repeated rows when count is not a multiple of the tile's rows
        for (int r0 = 0; r0 < args.Batch; r0 += xRows)
        {
            float* block = xt + (long)(r0 / xRows) * args.In * xRows;
            new Span<float>(acc, count * xRows).Clear();
            for (int j0 = 0; j0 < kept; j0 += panel)
            {
                int n = Math.Min(panel, kept - j0);
                float* pw = w + (long)j0 * count;
                float* panelX = block + (long)(j0 / args.N * args.M) * xRows;
                byte* next = (byte*)(panelX + (long)panelCols * xRows);
                if (dense)
                {
                    for (int o0 = 0; o0 < count; o0 += 4)
                    {
                        PrefetchL2(next + (long)(o0 / 4) * linesPerTile * 64, linesPerTile);
                        int o1 = Math.Min(o0 + 1, count - 1), o2 = Math.Min(o0 + 2, count - 1), o3 = Math.Min(o0 + 3, count - 1);
                        float* s1 = o0 + 1 < count ? acc + (o0 + 1) * xRows : spare;
                        float* s2 = o0 + 2 < count ? acc + (o0 + 2) * xRows : spare, s3 = o0 + 3 < count ? acc + (o0 + 3) * xRows : spare;
                        DenseOuter4x64(pw + o0 * n, pw + o1 * n, pw + o2 * n, pw + o3 * n, panelX, n, acc + o0 * xRows, s1, s2, s3);
                    }
                    continue;
                }
                ushort* po = offsets + (long)j0 * count;
                for (int o0 = 0; o0 < count; o0 += 2)
                {
                    PrefetchL2(next + (long)(o0 / 2) * linesPerTile * 64, linesPerTile);
                    int o1 = Math.Min(o0 + 1, count - 1);
                    SparseOuter2x128(pw + o0 * n, pw + o1 * n, po + o0 * n, po + o1 * n, panelX, n, acc + o0 * xRows, o0 + 1 < count ? acc + o1 * xRows : spare);
                }
            }
            int rows = Math.Min(xRows, args.Batch - r0);
            for (int r = 0; r < rows; r++)
            {
                float* yr = y + (long)(r0 + r) * args.Out + first;
                for (int i = 0; i < count; i++)
                    yr[i] = default(T).Apply(acc[i * xRows + r] + (args.HasBias != 0 ? bias[first + i] : 0f), first + i);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SparseOuter2x128(float* w0, float* w1, ushort* f0, ushort* f1, float* xt, int n, float* s0, float* s1)
    {
        Vector512<float> a00 = Vector512.Load(s0), a01 = Vector512.Load(s0 + 16), a02 = Vector512.Load(s0 + 32), a03 = Vector512.Load(s0 + 48);
        Vector512<float> a04 = Vector512.Load(s0 + 64), a05 = Vector512.Load(s0 + 80), a06 = Vector512.Load(s0 + 96), a07 = Vector512.Load(s0 + 112);
        Vector512<float> a10 = Vector512.Load(s1), a11 = Vector512.Load(s1 + 16), a12 = Vector512.Load(s1 + 32), a13 = Vector512.Load(s1 + 48);
        Vector512<float> a14 = Vector512.Load(s1 + 64), a15 = Vector512.Load(s1 + 80), a16 = Vector512.Load(s1 + 96), a17 = Vector512.Load(s1 + 112);
        for (int j = 0; j < n; j++)
        {
            var v = Vector512.Create(w0[j]); float* p = xt + f0[j];
            a00 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p), a00); a01 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p + 16), a01);
            a02 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p + 32), a02); a03 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p + 48), a03);
            a04 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p + 64), a04); a05 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p + 80), a05);
            a06 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p + 96), a06); a07 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p + 112), a07);
            v = Vector512.Create(w1[j]); p = xt + f1[j];
            a10 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p), a10); a11 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p + 16), a11);
            a12 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p + 32), a12); a13 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p + 48), a13);
            a14 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p + 64), a14); a15 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p + 80), a15);
            a16 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p + 96), a16); a17 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(p + 112), a17);
        }
        StoreOuter(s0, a00, a01, a02, a03);
        StoreOuter(s0 + 64, a04, a05, a06, a07);
        StoreOuter(s1, a10, a11, a12, a13);
        StoreOuter(s1 + 64, a14, a15, a16, a17);
    }

    // Prefetching past the end of the transposed buffer is harmless (a prefetch never faults).
    private static void PrefetchL2(byte* p, int lines)
    {
        for (int i = 0; i < lines; i++)
            Sse.Prefetch1(p + i * 64);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DenseOuter4x64(float* w0, float* w1, float* w2, float* w3, float* xt, int n, float* s0, float* s1, float* s2, float* s3)
    {
        Vector512<float> a00 = Vector512.Load(s0), a01 = Vector512.Load(s0 + 16), a02 = Vector512.Load(s0 + 32), a03 = Vector512.Load(s0 + 48);
        Vector512<float> a10 = Vector512.Load(s1), a11 = Vector512.Load(s1 + 16), a12 = Vector512.Load(s1 + 32), a13 = Vector512.Load(s1 + 48);
        Vector512<float> a20 = Vector512.Load(s2), a21 = Vector512.Load(s2 + 16), a22 = Vector512.Load(s2 + 32), a23 = Vector512.Load(s2 + 48);
        Vector512<float> a30 = Vector512.Load(s3), a31 = Vector512.Load(s3 + 16), a32 = Vector512.Load(s3 + 32), a33 = Vector512.Load(s3 + 48);
        for (int j = 0; j < n; j++)
        {
            float* p = xt + j * 64;
            var x0 = Vector512.Load(p); var x1 = Vector512.Load(p + 16); var x2 = Vector512.Load(p + 32); var x3 = Vector512.Load(p + 48);
            var v = Vector512.Create(w0[j]);
            a00 = Avx512F.FusedMultiplyAdd(v, x0, a00); a01 = Avx512F.FusedMultiplyAdd(v, x1, a01);
            a02 = Avx512F.FusedMultiplyAdd(v, x2, a02); a03 = Avx512F.FusedMultiplyAdd(v, x3, a03);
            v = Vector512.Create(w1[j]);
            a10 = Avx512F.FusedMultiplyAdd(v, x0, a10); a11 = Avx512F.FusedMultiplyAdd(v, x1, a11);
            a12 = Avx512F.FusedMultiplyAdd(v, x2, a12); a13 = Avx512F.FusedMultiplyAdd(v, x3, a13);
            v = Vector512.Create(w2[j]);
            a20 = Avx512F.FusedMultiplyAdd(v, x0, a20); a21 = Avx512F.FusedMultiplyAdd(v, x1, a21);
            a22 = Avx512F.FusedMultiplyAdd(v, x2, a22); a23 = Avx512F.FusedMultiplyAdd(v, x3, a23);
            v = Vector512.Create(w3[j]);
            a30 = Avx512F.FusedMultiplyAdd(v, x0, a30); a31 = Avx512F.FusedMultiplyAdd(v, x1, a31);
            a32 = Avx512F.FusedMultiplyAdd(v, x2, a32); a33 = Avx512F.FusedMultiplyAdd(v, x3, a33);
        }
        StoreOuter(s0, a00, a01, a02, a03);
        StoreOuter(s1, a10, a11, a12, a13);
        StoreOuter(s2, a20, a21, a22, a23);
        StoreOuter(s3, a30, a31, a32, a33);
    }

    private static void StoreOuter(float* s, Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        a0.Store(s); a1.Store(s + 16); a2.Store(s + 32); a3.Store(s + 48);
    }

    /// <summary>Chunks of 16 kept values per K panel: the panel of 4 rows of X (8–16 KB) stays in L1 across the block's weight rows.</summary>
    private const int PanelChunks = 32;

    /// <summary>
    /// Rows [0, <paramref name="xRows"/>) of X against the block's weight rows, 4 x 4 at a time (a last block of fewer rows
    /// repeats its last row, whose extra sums are dropped), K in panels: for each 4 rows of X, each panel, each 4 weight
    /// rows, the 16 vector accumulators are carried across panels in a stack buffer and reduced once at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Blocked4x4<T>(int first, int count, float* w, int* columns, int wStride, float* x, int xStride, int xRows,
        float* bias, float* y, SparseMatMulArgs args, Mode mode)
        where T : struct, ILogitTransform
    {
        int oBlocks = (count + 3) / 4;
        int chunks = mode == Mode.Dense ? args.In / Chunk : wStride / Chunk;
        var acc = stackalloc Vector512<float>[16 * (BlockRows / 4)];
        float* sums = stackalloc float[16];
        for (int r0 = 0; r0 < xRows; r0 += 4)
        {
            int rows = Math.Min(4, xRows - r0);
            float* x0 = x + (long)r0 * xStride, x1 = x + (long)(r0 + Math.Min(1, rows - 1)) * xStride;
            float* x2 = x + (long)(r0 + Math.Min(2, rows - 1)) * xStride, x3 = x + (long)(r0 + Math.Min(3, rows - 1)) * xStride;
            new Span<Vector512<float>>(acc, 16 * oBlocks).Clear();
            for (int p0 = 0; p0 < chunks; p0 += PanelChunks)
            {
                int p1 = Math.Min(chunks, p0 + PanelChunks);
                for (int ob = 0; ob < oBlocks; ob++)
                {
                    int o0 = 4 * ob, o1 = Math.Min(o0 + 1, count - 1), o2 = Math.Min(o0 + 2, count - 1), o3 = Math.Min(o0 + 3, count - 1);
                    float* w0 = w + (long)o0 * wStride, w1 = w + (long)o1 * wStride, w2 = w + (long)o2 * wStride, w3 = w + (long)o3 * wStride;
                    if (mode == Mode.Permute)
                        Permute4x4(w0, w1, w2, w3, columns + o0 * wStride, columns + o1 * wStride, columns + o2 * wStride, columns + o3 * wStride,
                            x0, x1, x2, x3, p0, p1, acc + 16 * ob);
                    else
                        Dense4x4(w0, w1, w2, w3, x0, x1, x2, x3, p0, p1, acc + 16 * ob);
                }
            }
            for (int ob = 0; ob < oBlocks; ob++)
            {
                for (int i = 0; i < 16; i++)
                    sums[i] = Vector512.Sum(acc[16 * ob + i]);
                int o0 = 4 * ob;
                if (mode == Mode.Dense)
                    DenseTail(w + (long)o0 * wStride, wStride, Math.Min(4, count - o0), x0, x1, x2, x3, chunks * Chunk, args.In, sums);
                Store<T>(sums, r0, rows, first + o0, Math.Min(4, count - o0), bias, y, args);
            }
        }
    }

    // sums[4·i + r] += Σ_{k in [from, cols)} w_i[k]·x_r[k] for the columns past the last whole chunk.
    private static void DenseTail(float* w, int wStride, int outs, float* x0, float* x1, float* x2, float* x3, int from, int cols, float* sums)
    {
        for (int i = 0; i < outs; i++)
            for (int k = from; k < cols; k++)
            {
                float v = w[(long)i * wStride + k];
                sums[4 * i] += v * x0[k];
                sums[4 * i + 1] += v * x1[k];
                sums[4 * i + 2] += v * x2[k];
                sums[4 * i + 3] += v * x3[k];
            }
    }

    // sums[4·i + r]: weight row o0 + i, X row r0 + r.
    private static void Store<T>(float* sums, int r0, int rows, int o0, int outs, float* bias, float* y, SparseMatMulArgs args)
        where T : struct, ILogitTransform
    {
        for (int i = 0; i < outs; i++)
        {
            float b = args.HasBias != 0 ? bias[o0 + i] : 0f;
            for (int r = 0; r < rows; r++)
                y[(long)(r0 + r) * args.Out + o0 + i] = default(T).Apply(sums[4 * i + r] + b, o0 + i);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pick(Vector512<float> lo, Vector512<float> hi, int* columns) =>
        Avx512F.PermuteVar16x32x2(lo, Vector512.Load(columns), hi);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Permute4x4(float* w0, float* w1, float* w2, float* w3, int* c0, int* c1, int* c2, int* c3,
        float* x, float* x1, float* x2, float* x3, int from, int to, Vector512<float>* acc)
    {
        Vector512<float> a00 = acc[0], a01 = acc[1], a02 = acc[2], a03 = acc[3], a10 = acc[4], a11 = acc[5], a12 = acc[6], a13 = acc[7];
        Vector512<float> a20 = acc[8], a21 = acc[9], a22 = acc[10], a23 = acc[11], a30 = acc[12], a31 = acc[13], a32 = acc[14], a33 = acc[15];
        for (int c = from; c < to; c++)
        {
            int k = c * Chunk, xk = 2 * k;
            var l0 = Vector512.Load(x + xk); var h0 = Vector512.Load(x + xk + Chunk);
            var l1 = Vector512.Load(x1 + xk); var h1 = Vector512.Load(x1 + xk + Chunk);
            var l2 = Vector512.Load(x2 + xk); var h2 = Vector512.Load(x2 + xk + Chunk);
            var l3 = Vector512.Load(x3 + xk); var h3 = Vector512.Load(x3 + xk + Chunk);
            var v = Vector512.Load(w0 + k); var i = Vector512.Load(c0 + k);
            a00 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l0, i, h0), a00);
            a01 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l1, i, h1), a01);
            a02 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l2, i, h2), a02);
            a03 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l3, i, h3), a03);
            v = Vector512.Load(w1 + k); i = Vector512.Load(c1 + k);
            a10 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l0, i, h0), a10);
            a11 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l1, i, h1), a11);
            a12 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l2, i, h2), a12);
            a13 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l3, i, h3), a13);
            v = Vector512.Load(w2 + k); i = Vector512.Load(c2 + k);
            a20 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l0, i, h0), a20);
            a21 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l1, i, h1), a21);
            a22 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l2, i, h2), a22);
            a23 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l3, i, h3), a23);
            v = Vector512.Load(w3 + k); i = Vector512.Load(c3 + k);
            a30 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l0, i, h0), a30);
            a31 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l1, i, h1), a31);
            a32 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l2, i, h2), a32);
            a33 = Avx512F.FusedMultiplyAdd(v, Avx512F.PermuteVar16x32x2(l3, i, h3), a33);
        }
        Store16(acc, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33);
    }

    /// <summary>
    /// Columns (within their 32-column span) of kept values 16c..16c+15 when Bits ≤ 2, so that a chunk's fields fit one
    /// 16- or 32-bit read: field j = (read >> j·Bits) &amp; mask, plus its group's first column (ternary logic: (f &amp; mask) | base).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Columns16(byte* meta, int c, int bits, Vector512<uint> shifts, Vector512<uint> mask, Vector512<uint> laneBase)
    {
        uint read = bits == 2 ? ((uint*)meta)[c] : ((ushort*)meta)[c];
        var fields = Avx512F.ShiftRightLogicalVariable(Vector512.Create(read), shifts);
        return Avx512F.TernaryLogic(fields, mask, laneBase, 0xEA).AsInt32();
    }

    private static (Vector512<uint> Shifts, Vector512<uint> Mask, Vector512<uint> LaneBase) Decoder(int bits, int n, int m) =>
        (Vector512<uint>.Indices * (uint)bits, Vector512.Create((1u << bits) - 1), Vector512<uint>.Indices / (uint)n * (uint)m);

    /// <summary>
    /// Floats ahead of the current chunk that the GEMV kernels (dense and 2:4 alike) prefetch in each of their 4 weight
    /// rows (2 KB): with W streamed from DRAM, the hardware prefetcher alone keeps too few lines in flight for the 2:4
    /// kernel's 4 streams of values beside 4 of metadata (measured: about 10% faster; neutral to slightly better dense).
    /// </summary>
    private const int PrefetchAhead = 512;

    // Prefetching past the end of a row or of the array is harmless (a prefetch never faults).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch4(float* w0, float* w1, float* w2, float* w3, int k)
    {
        Sse.Prefetch0(w0 + k);
        Sse.Prefetch0(w1 + k);
        Sse.Prefetch0(w2 + k);
        Sse.Prefetch0(w3 + k);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FusedPermute4x1(float* w0, float* w1, float* w2, float* w3, byte* m0, byte* m1, byte* m2, byte* m3,
        int bits, int n, float* x, int chunks, float* sums)
    {
        var (shifts, mask, laneBase) = Decoder(bits, n, 2 * n);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int c = 0; c < chunks; c++)
        {
            int k = c * Chunk;
            Prefetch4(w0, w1, w2, w3, k + PrefetchAhead);
            var lo = Vector512.Load(x + 2 * k);
            var hi = Vector512.Load(x + 2 * k + Chunk);
            a0 = Avx512F.FusedMultiplyAdd(Vector512.Load(w0 + k), Avx512F.PermuteVar16x32x2(lo, Columns16(m0, c, bits, shifts, mask, laneBase), hi), a0);
            a1 = Avx512F.FusedMultiplyAdd(Vector512.Load(w1 + k), Avx512F.PermuteVar16x32x2(lo, Columns16(m1, c, bits, shifts, mask, laneBase), hi), a1);
            a2 = Avx512F.FusedMultiplyAdd(Vector512.Load(w2 + k), Avx512F.PermuteVar16x32x2(lo, Columns16(m2, c, bits, shifts, mask, laneBase), hi), a2);
            a3 = Avx512F.FusedMultiplyAdd(Vector512.Load(w3 + k), Avx512F.PermuteVar16x32x2(lo, Columns16(m3, c, bits, shifts, mask, laneBase), hi), a3);
        }
        Sums4(sums, a0, a1, a2, a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Permute4x1(float* w0, float* w1, float* w2, float* w3, int* c0, int* c1, int* c2, int* c3, float* x, int chunks, float* sums)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int c = 0; c < chunks; c++)
        {
            int k = c * Chunk;
            var lo = Vector512.Load(x + 2 * k);
            var hi = Vector512.Load(x + 2 * k + Chunk);
            a0 = Avx512F.FusedMultiplyAdd(Vector512.Load(w0 + k), Pick(lo, hi, c0 + k), a0);
            a1 = Avx512F.FusedMultiplyAdd(Vector512.Load(w1 + k), Pick(lo, hi, c1 + k), a1);
            a2 = Avx512F.FusedMultiplyAdd(Vector512.Load(w2 + k), Pick(lo, hi, c2 + k), a2);
            a3 = Avx512F.FusedMultiplyAdd(Vector512.Load(w3 + k), Pick(lo, hi, c3 + k), a3);
        }
        Sums4(sums, a0, a1, a2, a3);
    }

    // .NET exposes no 512-bit gather: two 8-lane AVX2 gathers.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Gather(float* x, int* columns) =>
        Vector512.Create(Avx2.GatherVector256(x, Vector256.Load(columns), 4), Avx2.GatherVector256(x, Vector256.Load(columns + 8), 4));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gather4x1(float* w0, float* w1, float* w2, float* w3, int* c0, int* c1, int* c2, int* c3, float* x, int chunks, float* sums)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int c = 0; c < chunks; c++)
        {
            int k = c * Chunk;
            a0 = Avx512F.FusedMultiplyAdd(Vector512.Load(w0 + k), Gather(x, c0 + k), a0);
            a1 = Avx512F.FusedMultiplyAdd(Vector512.Load(w1 + k), Gather(x, c1 + k), a1);
            a2 = Avx512F.FusedMultiplyAdd(Vector512.Load(w2 + k), Gather(x, c2 + k), a2);
            a3 = Avx512F.FusedMultiplyAdd(Vector512.Load(w3 + k), Gather(x, c3 + k), a3);
        }
        Sums4(sums, a0, a1, a2, a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dense4x4(float* w0, float* w1, float* w2, float* w3, float* x, float* x1, float* x2, float* x3, int from, int to, Vector512<float>* acc)
    {
        Vector512<float> a00 = acc[0], a01 = acc[1], a02 = acc[2], a03 = acc[3], a10 = acc[4], a11 = acc[5], a12 = acc[6], a13 = acc[7];
        Vector512<float> a20 = acc[8], a21 = acc[9], a22 = acc[10], a23 = acc[11], a30 = acc[12], a31 = acc[13], a32 = acc[14], a33 = acc[15];
        for (int k = from * Chunk; k < to * Chunk; k += Chunk)
        {
            var p0 = Vector512.Load(x + k); var p1 = Vector512.Load(x1 + k); var p2 = Vector512.Load(x2 + k); var p3 = Vector512.Load(x3 + k);
            var v = Vector512.Load(w0 + k);
            a00 = Avx512F.FusedMultiplyAdd(v, p0, a00); a01 = Avx512F.FusedMultiplyAdd(v, p1, a01);
            a02 = Avx512F.FusedMultiplyAdd(v, p2, a02); a03 = Avx512F.FusedMultiplyAdd(v, p3, a03);
            v = Vector512.Load(w1 + k);
            a10 = Avx512F.FusedMultiplyAdd(v, p0, a10); a11 = Avx512F.FusedMultiplyAdd(v, p1, a11);
            a12 = Avx512F.FusedMultiplyAdd(v, p2, a12); a13 = Avx512F.FusedMultiplyAdd(v, p3, a13);
            v = Vector512.Load(w2 + k);
            a20 = Avx512F.FusedMultiplyAdd(v, p0, a20); a21 = Avx512F.FusedMultiplyAdd(v, p1, a21);
            a22 = Avx512F.FusedMultiplyAdd(v, p2, a22); a23 = Avx512F.FusedMultiplyAdd(v, p3, a23);
            v = Vector512.Load(w3 + k);
            a30 = Avx512F.FusedMultiplyAdd(v, p0, a30); a31 = Avx512F.FusedMultiplyAdd(v, p1, a31);
            a32 = Avx512F.FusedMultiplyAdd(v, p2, a32); a33 = Avx512F.FusedMultiplyAdd(v, p3, a33);
        }
        Store16(acc, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dense4x1(float* w0, float* w1, float* w2, float* w3, float* x, int cols, float* sums)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int k = 0;
        for (; k <= cols - Chunk; k += Chunk)
        {
            Prefetch4(w0, w1, w2, w3, k + PrefetchAhead);
            var p = Vector512.Load(x + k);
            a0 = Avx512F.FusedMultiplyAdd(Vector512.Load(w0 + k), p, a0);
            a1 = Avx512F.FusedMultiplyAdd(Vector512.Load(w1 + k), p, a1);
            a2 = Avx512F.FusedMultiplyAdd(Vector512.Load(w2 + k), p, a2);
            a3 = Avx512F.FusedMultiplyAdd(Vector512.Load(w3 + k), p, a3);
        }
        Sums4(sums, a0, a1, a2, a3);
        for (; k < cols; k++)
        {
            sums[0] += w0[k] * x[k];
            sums[4] += w1[k] * x[k];
            sums[8] += w2[k] * x[k];
            sums[12] += w3[k] * x[k];
        }
    }

    // Without AVX-512 (also dense, whose "columns" are null: kept value j is column j).
    private static void Scalar4x1(float* w0, float* w1, float* w2, float* w3, int* c0, int* c1, int* c2, int* c3, float* x, int kept, float* sums)
    {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        for (int j = 0; j < kept; j++)
        {
            s0 += w0[j] * x[c0 is null ? j : c0[j]];
            s1 += w1[j] * x[c1 is null ? j : c1[j]];
            s2 += w2[j] * x[c2 is null ? j : c2[j]];
            s3 += w3[j] * x[c3 is null ? j : c3[j]];
        }
        sums[0] = s0; sums[4] = s1; sums[8] = s2; sums[12] = s3;
    }

    private static void Sums4(float* sums, Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        sums[0] = Vector512.Sum(a0);
        sums[4] = Vector512.Sum(a1);
        sums[8] = Vector512.Sum(a2);
        sums[12] = Vector512.Sum(a3);
    }

    private static void Store16(Vector512<float>* acc,
        Vector512<float> a00, Vector512<float> a01, Vector512<float> a02, Vector512<float> a03,
        Vector512<float> a10, Vector512<float> a11, Vector512<float> a12, Vector512<float> a13,
        Vector512<float> a20, Vector512<float> a21, Vector512<float> a22, Vector512<float> a23,
        Vector512<float> a30, Vector512<float> a31, Vector512<float> a32, Vector512<float> a33)
    {
        acc[0] = a00; acc[1] = a01; acc[2] = a02; acc[3] = a03; acc[4] = a10; acc[5] = a11; acc[6] = a12; acc[7] = a13;
        acc[8] = a20; acc[9] = a21; acc[10] = a22; acc[11] = a23; acc[12] = a30; acc[13] = a31; acc[14] = a32; acc[15] = a33;
    }
}
