using System;
using System.Runtime.CompilerServices;
using Kernels.Cpu;

namespace Kernels;

/// <summary>
/// The CPU side of the Top-H and Mirostat samplers: rows spread over cores, one read of the logits per row
/// (<see cref="RowPass"/>) that stages w and collects the top columns (<see cref="TopKCollector"/>, no sort of the
/// row). The decision is <see cref="AdaptiveRules"/> on the ranked columns; the kept set (a prefix in the order) is then
/// drawn by <see cref="StagedDraw.Find"/> in column order with the same uniform as <see cref="AdaptiveDevice"/>: over
/// its columns gathered (short sets) or over the staged row below a pivot.
/// </summary>
public static unsafe class AdaptiveCpu
{
    // Kept sets up to this size are drawn from the gathered columns (sorted by column), larger ones densely.
    private const int GatherLimit = 256;

    /// <summary>Samples every row with transform <typeparamref name="T"/>.</summary>
    public static void Rows<T>(nint logits, nint temperatures, nint keys, nint alpha, nint tau, nint eta, nint mu, nint tokens, nint status, nint kept, AdaptiveArgs args)
        where T : struct, ILogitTransform =>
        RowScheduler.For(args.Rows, args.Cols, new Job<T>(logits, temperatures, keys, alpha, tau, eta, mu, tokens, status, kept, args));

    private readonly struct Job<T>(nint logits, nint temperatures, nint keys, nint alpha, nint tau, nint eta, nint mu, nint tokens, nint status, nint kept, AdaptiveArgs args) : IRowJob
        where T : struct, ILogitTransform
    {
        public void Run(int start, int end)
        {
            var scratch = RowScratch.For(args.Cols);
            var buffers = scratch.Rows;
            ulong* all = scratch.Composites;
            for (int row = start; row < end; row++)
            {
                var outcome = SampleRow<T>(row, (float*)logits + (long)row * args.Cols, args, buffers, all, scratch.TopK,
                    (float*)temperatures, (RngKey*)keys, (float*)alpha, (float*)tau, (float*)eta, (float*)mu, out int token, out int count);
                ((int*)tokens)[row] = token;
                if (args.WriteStatus != 0)
                    ((int*)status)[row] = (int)outcome;
                if (args.WriteKept != 0)
                    ((int*)kept)[row] = count;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static SampleStatus SampleRow<T>(int row, float* x, AdaptiveArgs args, RowScratch.Buffers b, ulong* all, TopKCollector collector,
        float* temperatures, RngKey* keys, float* alphas, float* taus, float* etas, float* mus, out int token, out int count)
        where T : struct, ILogitTransform
    {
        token = SamplingMath.NoToken;
        count = 0;
        int cols = args.Cols;
        float scale = args.PerRowTemperature != 0 ? SamplingMath.Log2Scale(temperatures[row]) : args.Scale;
        bool mirostat = args.Mirostat != 0;
        float alpha = mirostat ? 0f : alphas[row];
        float tau = mirostat ? taus[row] : 0f, eta = mirostat ? etas[row] : 0f, mu = mirostat ? mus[row] : 0f;
        bool valid = mirostat ? AdaptiveRules.ValidMirostat(tau, eta, mu) : AdaptiveRules.ValidAlpha(alpha);
        if (!valid || float.IsNaN(scale))
            return SampleStatus.InvalidParameter;

        int ranked = args.Ranked;
        float* w = b.W, e = b.E;
        RowPass.Run<T, RowPass.Plain>(new RowPass.Plain(x), cols, scale, w, collector, ranked, out float max, out _, out bool nan);
        var outcome = TruncationRules.Outcome(scale, 1f, 0f, nan || max == float.PositiveInfinity, TruncationRules.Empty(max, false));
        var rule = new MassRule(max, 0f, false);
        if (outcome != SampleStatus.Sampled)
            return outcome;

        int padded = DecodeCpu.Pad(cols);
        DecodeCpu.StageMass(w, e, cols, rule);
        double z = StagedDraw.MassBefore(w, e, new DenseColumns(), padded, false, 0f, 0);
        double entropy = args.Normalized != 0 ? AdaptiveRules.RowEntropy(z, Spread(w, e, cols, max)) : 0.0;
        var top = collector.Finish();
        fixed (ulong* sorted = top)
        {
            var rankedRow = new Ranked(sorted);
            count = mirostat ? default(MirostatRule).Count(rankedRow, ranked, max, z, cols, alpha, mu, entropy)
                : args.Normalized != 0 ? default(TopHNormalizedRule).Count(rankedRow, ranked, max, z, cols, alpha, mu, entropy)
                : default(TopHRule).Count(rankedRow, ranked, max, z, cols, alpha, mu, entropy);
        }

        double u = args.Uniform(args.PerRowKeys != 0 ? keys[row] : Rng.RowKey(args.Key, row));
        if (count <= GatherLimit && count < cols)
        {
            // A short kept prefix of the ranked columns: draw over them, gathered in column order.
            int n = DecodeCpu.GatherTopK(top[..count], rule, b);
            var gathered = new GatheredColumns(b.CandidateCols);
            double kept = StagedDraw.MassBefore(b.CandidateW, b.CandidateE, gathered, DecodeCpu.Pad(n), false, 0f, 0);
            token = StagedDraw.Find(b.CandidateW, b.CandidateE, gathered, DecodeCpu.Pad(n), false, 0f, 0, u * kept, out _);
        }
        else
        {
            // The whole row, or the columns before (w_c, c + 1) for the last kept column c in the order.
            bool cut = count < cols;
            float pivotW = 0f;
            int pivotCol = 0;
            if (cut)
            {
                ulong last = count <= ranked ? top[count - 1] : KthOfRow(w, cols, count, all);
                pivotW = TopKCollector.W(last);
                pivotCol = TopKCollector.Column(last) + 1;
            }
            double mass = cut ? StagedDraw.MassBefore(w, e, new DenseColumns(), padded, true, pivotW, pivotCol) : z;
            token = StagedDraw.Find(w, e, new DenseColumns(), padded, cut, pivotW, pivotCol, u * mass, out _);
        }
        if (mirostat)
            mus[row] = AdaptiveRules.NextMu(mu, tau, eta, w[token], max, z);
        return SampleStatus.Sampled;
    }

    // Σ e·(M − w) over the staged row, for the row's entropy.
    private static double Spread(float* w, float* e, int cols, float max)
    {
        double spread = 0.0;
        for (int i = 0; i < cols; i++)
            spread += AdaptiveRules.Spread(w[i], max, e[i]);
        return spread;
    }

    // The k-th column of the whole row in the order (Mirostat with k above the ranked columns): a quickselect.
    private static ulong KthOfRow(float* w, int cols, int k, ulong* all)
    {
        var items = new Span<ulong>(all, cols);
        for (int i = 0; i < cols; i++)
            items[i] = TopKCollector.Compose(w[i], i);
        TopKCollector.SelectSmallest(items, k);
        ulong kth = 0;
        foreach (ulong item in items[..k])
            kth = Math.Max(kth, item);
        return kth;
    }

    private readonly struct Ranked(ulong* sorted) : ISortedRow
    {
        public float W(int rank) => TopKCollector.W(sorted[rank]);

        public int Column(int rank) => TopKCollector.Column(sorted[rank]);
    }

    // Per-thread staging: the row (w and e), the gathered kept columns, the whole row's composites (Mirostat's large k),
    // the collector.
}
