using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kernels.Cpu;

namespace Kernels;

/// <summary>
/// The CPU side of the decode sampler: rows spread over cores, one read of the logits per row. The pass
/// (<see cref="RowPass"/>) stages w = Transform(x)·log2(e)/T or, with top-k, admits columns above the running k-th w
/// into a <see cref="TopKCollector"/> (so top-k never sorts the row). The candidates then go to
/// <see cref="StagedDraw"/>: the k top columns (top-k), the columns that can pass min-p (min-p without top-k, gathered
/// from the staged row), or the whole staged row. Same set, rounds and uniforms as <see cref="DecodeDevice"/>.
/// </summary>
public static unsafe class DecodeCpu
{
    private const int Lanes = 8;

    // Min-p without top-k gathers its candidates when at most this many pass (a quarter of the row at most); else the
    // row stays dense.
    private const int GatherLimit = 16384;

    // The prefilter's margin in log2 units over PortableMath.Exp2's error (≈2 ulp): no column passing min-p is missed.
    private const float MinPMargin = 0.01f;

    /// <summary>Samples every row with transform <typeparamref name="T"/>.</summary>
    public static void Rows<T>(nint logits, nint temperatures, nint keys, nint topK, nint topP, nint minP, nint offsets, nint context,
        nint parameters, nint tokens, nint status, DecodeArgs args)
        where T : struct, ILogitTransform =>
        RowScheduler.For(args.Rows, args.Cols, new Job<T>(logits, temperatures, keys, topK, topP, minP, offsets, context, parameters, tokens, status, args));

    private readonly struct Job<T>(nint logits, nint temperatures, nint keys, nint topK, nint topP, nint minP, nint offsets, nint context,
        nint parameters, nint tokens, nint status, DecodeArgs args) : IRowJob
        where T : struct, ILogitTransform
    {
        public void Run(int start, int end)
        {
            if (args.Context != 0)
                Run<RowPass.WithContext>(start, end);
            else
                Run<RowPass.Plain>(start, end);
        }

        private void Run<TIn>(int start, int end) where TIn : struct, RowPass.IInput
        {
            var scratch = RowScratch.For(args.Cols);
            var buffers = scratch.Rows;
            for (int row = start; row < end; row++)
            {
                var outcome = SampleRow<T, TIn>(row, Input<TIn>(row, logits, context, parameters, args), args, buffers, scratch.TopK,
                    (float*)temperatures, (RngKey*)keys, (int*)topK, (float*)topP, (float*)minP, (ulong*)offsets, out int token);
                ((int*)tokens)[row] = token;
                if (args.WriteStatus != 0)
                    ((int*)status)[row] = (int)outcome;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static SampleStatus SampleRow<T, TIn>(int row, TIn x, DecodeArgs args, RowScratch.Buffers b, TopKCollector collector,
        float* temperatures, RngKey* keys, int* topK, float* topP, float* minPs, ulong* offsets, out int token)
        where T : struct, ILogitTransform
        where TIn : struct, RowPass.IInput
    {
        token = SamplingMath.NoToken;
        var outcome = Prepare<T, TIn>(row, x, args, b, collector, temperatures, topK, topP, minPs, out var setup);
        if (outcome != SampleStatus.Sampled)
            return outcome;
        var key = args.PerRowKeys != 0 ? keys[row] : Rng.RowKey(args.Key, row);
        ulong offset = args.PerRowOffsets != 0 ? args.Offset + offsets[row] : args.Offset;
        int n = StageCandidates(args.Cols, setup, b, collector, out bool gathered);
        bool fallback;
        token = gathered
            ? StagedDraw.Draw(b.CandidateW, b.CandidateE, new GatheredColumns(b.CandidateCols), n, setup.P, key, offset, args.Rounds, out fallback)
            : StagedDraw.Draw(b.W, b.E, new DenseColumns(), n, setup.P, key, offset, args.Rounds, out fallback);
        return fallback ? SampleStatus.Fallback : SampleStatus.Sampled;
    }

    /// <summary>A row's parameters and what its first read found.</summary>
    internal struct RowSetup
    {
        public float Scale, P, MinP;
        public int K;
        public bool Truncate;
        public MassRule Rule;
    }

    /// <summary>
    /// The row's per-row parameters and its one read of the logits (staged w, or the top k collected; max and NaN);
    /// the row's outcome before drawing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static SampleStatus Prepare<T, TIn>(int row, TIn x, DecodeArgs args, RowScratch.Buffers b, TopKCollector collector,
        float* temperatures, int* topK, float* topP, float* minPs, out RowSetup setup)
        where T : struct, ILogitTransform
        where TIn : struct, RowPass.IInput
    {
        int cols = args.Cols;
        setup = default;
        int entry = args.ParameterRow(row);
        setup.Scale = args.PerRowTemperature != 0 ? SamplingMath.Log2Scale(temperatures[entry]) : args.Scale;
        setup.P = args.TopP != 0 ? topP[entry] : 1f;
        setup.MinP = args.MinP != 0 ? minPs[entry] : 0f;
        setup.K = args.TopK != 0 ? topK[entry] : 0;
        setup.Truncate = args.TopK != 0 && TruncationRules.TopKActive(setup.K, cols);
        bool probabilities = args.Probabilities != 0;
        if (TruncationRules.Outcome(setup.Scale, setup.P, setup.MinP, false, false) == SampleStatus.InvalidParameter)
            return SampleStatus.InvalidParameter;

        RowPass.Run<T, TIn>(x, cols, setup.Scale, setup.Truncate ? null : b.W, setup.Truncate ? collector : null, setup.Truncate ? setup.K : 0,
            out float m, out float least, out bool nan);
        bool poisoned = nan || m == float.PositiveInfinity || (probabilities && least < 0f);
        setup.Rule = new MassRule(m, setup.MinP, probabilities);
        return TruncationRules.Outcome(setup.Scale, setup.P, setup.MinP, poisoned, TruncationRules.Empty(m, probabilities));
    }

    /// <summary>
    /// Stages S with its masses: the k top columns (top-k), the columns that can pass min-p (min-p without top-k,
    /// gathered from the staged row) — in the candidate arrays, <paramref name="gathered"/> — or the whole staged row.
    /// Returns the padded count.
    /// </summary>
    internal static int StageCandidates(int cols, in RowSetup setup, RowScratch.Buffers b, TopKCollector collector, out bool gathered)
    {
        gathered = true;
        if (setup.Truncate)
            return Pad(GatherTopK(collector.Finish(), setup.Rule, b));
        if (setup.MinP > 0f && GatherMinP(b.W, cols, setup.Rule, setup.MinP, b) is int n and >= 0)
            return Pad(n);
        gathered = false;
        StageMass(b.W, b.E, cols, setup.Rule);
        return Pad(cols);
    }

    /// <summary>Row <paramref name="row"/>'s input: its logits, with its context and parameter for <see cref="RowPass.WithContext"/>.</summary>
    internal static TIn Input<TIn>(int row, nint logits, nint context, nint parameters, DecodeArgs args) where TIn : struct, RowPass.IInput
    {
        long start = (long)row * args.Cols;
        // The type tests and casts fold away in each instantiation.
        return typeof(TIn) == typeof(RowPass.WithContext)
            ? (TIn)(object)new RowPass.WithContext((float*)logits + start, (float*)context + start, ((float*)parameters)[args.ParameterRow(row)])
            : (TIn)(object)new RowPass.Plain((float*)logits + start);
    }

    internal static int Pad(int n) => (n + Lanes - 1) & ~(Lanes - 1);

    /// <summary>
    /// The top k (order composites, reordered here) with their mass, those passing min-p, in column order, padded with
    /// e = 0. A sort of the composites with their halves swapped (column first): k comes from the request and may be
    /// large, so no quadratic sort.
    /// </summary>
    internal static int GatherTopK(Span<ulong> top, MassRule rule, RowScratch.Buffers b)
    {
        foreach (ref ulong item in top)
            item = SwapHalves(item);
        top.Sort();
        int n = 0;
        foreach (ulong swapped in top)
        {
            ulong item = SwapHalves(swapped);
            float w = TopKCollector.W(item);
            float e = rule.Mass(w);
            if (e > 0f)
            {
                b.CandidateW[n] = w;
                b.CandidateE[n] = e;
                b.CandidateCols[n] = TopKCollector.Column(item);
                n++;
            }
        }
        PadCandidates(b, n);
        return n;
    }

    private static ulong SwapHalves(ulong item) => (item << 32) | (item >> 32);

    // Columns whose w can pass min-p (logits: a margin below log2(min-p) under the max; probabilities: the bound itself),
    // tested exactly; −1 when more than GatherLimit pass.
    private static int GatherMinP(float* w, int cols, MassRule rule, float minP, RowScratch.Buffers b)
    {
        var bound = Vector256.Create(rule.Probabilities != 0 ? rule.Bound : MathF.Log2(minP) - MinPMargin);
        var shift = Vector256.Create(rule.Probabilities != 0 ? 0f : rule.Max);
        int n = 0, limit = Math.Min(GatherLimit, cols / 4);
        for (int i = 0; i < cols; i += Lanes)
        {
            var d = Vector256.Load(w + i) - shift;
            uint pass = Vector256.GreaterThanOrEqual(d, bound).ExtractMostSignificantBits();
            while (pass != 0)
            {
                int lane = BitOperations.TrailingZeroCount(pass);
                pass &= pass - 1;
                int col = i + lane;
                if (col >= cols)
                    break;
                float e = rule.Mass(w[col]);
                if (e > 0f)
                {
                    if (n == limit)
                        return -1;
                    b.CandidateW[n] = w[col];
                    b.CandidateE[n] = e;
                    b.CandidateCols[n] = col;
                    n++;
                }
            }
        }
        PadCandidates(b, n);
        return n;
    }

    /// <summary>
    /// The mass of every staged column (0 below min-p and in the padding, where w is −inf); sixteen lanes with AVX-512
    /// (the same bits: <see cref="MassRule"/>), as this is the row's compute-bound pass.
    /// </summary>
    internal static void StageMass(float* w, float* e, int cols, MassRule rule)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 2 * Lanes <= cols; i += 2 * Lanes)
                Vector512.Store(rule.Mass(Vector512.Load(w + i)), e + i);
        }
        for (; i < cols; i += Lanes)
            Vector256.Store(rule.Mass(Vector256.Load(w + i)), e + i);
    }

    private static void PadCandidates(RowScratch.Buffers b, int n)
    {
        for (int i = n; i < Pad(n); i++)
        {
            b.CandidateW[i] = float.NegativeInfinity;
            b.CandidateE[i] = 0f;
            b.CandidateCols[i] = int.MaxValue;
        }
    }
}
