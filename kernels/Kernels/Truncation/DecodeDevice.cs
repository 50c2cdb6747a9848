using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The ILGPU side of the decode sampler: one group per row, temperature, transform, top-k, min-p and top-p fused,
/// without sorting. The top-k threshold is a <see cref="GroupSelect.Prefix"/> count search; the token is drawn by
/// pivot rejection (FlashInfer's idea): draw j from the candidates by inverse CDF, accept it when the mass of S before
/// it is below p·T_S, else keep only the columns before j and draw again. After
/// <see cref="TruncationRules.MaxRounds"/> rejections the exact top-p cutoff is searched instead (same law).
/// </summary>
public static class DecodeDevice
{
    /// <summary>Samples row <c>Grid.IdxX</c> with transform <typeparamref name="T"/>. Launch with one group per row.</summary>
    public static void Row<T>(ArrayView<float> logits, ArrayView<float> temperatures, ArrayView<RngKey> keys, ArrayView<int> topK,
        ArrayView<float> topP, ArrayView<float> minP, ArrayView<int> tokens, ArrayView<int> status, DecodeArgs args)
        where T : struct, ILogitTransform
    {
        int row = Grid.IdxX;
        if (row >= args.Rows)
            return;
        int tid = Group.IdxX;
        int cols = args.Cols;
        var ctx = new DecodeRow<T>
        {
            Logits = logits,
            Start = (long)row * cols,
            Scale = args.PerRowTemperature != 0 ? SamplingMath.Log2Scale(temperatures[row]) : args.Scale,
            MinP = args.MinP != 0 ? minP[row] : 0f,
        };
        float p = args.TopP != 0 ? topP[row] : 1f;
        int k = args.TopK != 0 ? topK[row] : 0;

        // Pass 1: max w and whether the row is invalid (uniform trip count: PoCL 3.1).
        float max = float.NegativeInfinity;
        float poisoned = 0f;
        for (int first = 0; first < cols; first += Group.DimX)
        {
            int col = first + tid;
            if (col < cols)
            {
                float w = ctx.W(col);
                if (SoftmaxMath.Poisons(w))
                    poisoned = 1f;
                else if (w > max)
                    max = w;
            }
        }
        poisoned = GroupReduce.Max(poisoned);
        ctx.Max = GroupReduce.Max(max);
        var outcome = TruncationRules.Outcome(ctx.Scale, p, ctx.MinP, poisoned != 0f, ctx.Max);
        if (outcome != SampleStatus.Sampled)
        {
            if (tid == 0)
                Write(tokens, status, row, SamplingMath.NoToken, outcome, args);
            return;
        }

        if (TruncationRules.TopKActive(k, cols))
        {
            ctx.CountMeasure = 1;
            ctx.TopK = GroupSelect.Prefix(ctx, cols, k);
            ctx.TopKActive = 1;
            ctx.CountMeasure = 0;
        }
        double total = GroupReduce.SumDouble(MassBefore(ctx, cols, false, 0f, 0));
        double cut = p * total;
        var key = args.PerRowKeys != 0 ? keys[row] : Rng.RowKey(args.Key, row);

        // Pivot rejection: R = S before the pivot, of mass `mass`; every round's decision is the same in every thread.
        bool hasPivot = false;
        float pivotW = 0f;
        int pivotCol = 0;
        double mass = total;
        int token = SamplingMath.NoToken;
        for (int round = 0; round < args.Rounds && token < 0; round++)
        {
            double u = Variates.Uniform(Rng.Block(key, (uint)round, args.Offset).Low64);
            int j = Find(ctx, cols, hasPivot, pivotW, pivotCol, u * mass);
            float wj = ctx.W(j);
            double before = p < 1f ? GroupReduce.SumDouble(MassBefore(ctx, cols, true, wj, j)) : 0.0;
            if (before < cut)
            {
                token = j;
            }
            else
            {
                hasPivot = true;
                pivotW = wj;
                pivotCol = j;
                mass = before;
            }
        }
        if (token < 0)
        {
            // The exact cutoff: the columns before or equal to it are the kept set; draw once more among them.
            var cutoff = GroupSelect.Prefix(ctx, cols, cut);
            pivotW = TruncationRules.FromOrderKey(cutoff.Key);
            pivotCol = cutoff.Column + 1;
            double kept = GroupReduce.SumDouble(MassBefore(ctx, cols, true, pivotW, pivotCol));
            double u = Variates.Uniform(Rng.Block(key, (uint)args.Rounds, args.Offset).Low64);
            token = Find(ctx, cols, true, pivotW, pivotCol, u * kept);
            outcome = SampleStatus.Fallback;
        }
        if (tid == 0)
            Write(tokens, status, row, token, outcome, args);
    }

    private static void Write(ArrayView<int> tokens, ArrayView<int> status, int row, int token, SampleStatus outcome, DecodeArgs args)
    {
        tokens[row] = token;
        if (args.WriteStatus != 0)
            status[row] = (int)outcome;
    }

    // This thread's mass of S over its strided columns, restricted to columns before the pivot when there is one.
    private static double MassBefore<T>(DecodeRow<T> ctx, int cols, bool hasPivot, float pivotW, int pivotCol)
        where T : struct, ILogitTransform
    {
        double sum = 0.0;
        for (int first = 0; first < cols; first += Group.DimX)
        {
            int col = first + Group.IdxX;
            if (col < cols)
            {
                float w = ctx.W(col);
                if (!hasPivot || KeyIndex.Before(w, col, pivotW, pivotCol))
                    sum += ctx.Mass(col, w);
            }
        }
        return sum;
    }

    /// <summary>
    /// Inverse CDF over R in column order: the first column of R whose running mass exceeds <paramref name="target"/>
    /// (each thread sums a contiguous segment, one group scan locates the segment), else the last column of R with mass.
    /// Every thread receives the column.
    /// </summary>
    private static int Find<T>(DecodeRow<T> ctx, int cols, bool hasPivot, float pivotW, int pivotCol, double target)
        where T : struct, ILogitTransform
    {
        int tid = Group.IdxX;
        int segment = (cols + Group.DimX - 1) / Group.DimX;
        int begin = tid * segment;
        double own = 0.0;
        int lastOwn = -1;
        for (int i = 0; i < segment; i++)
        {
            float e = SegmentMass(ctx, begin + i, cols, hasPivot, pivotW, pivotCol);
            own += e;
            if (e > 0f)
                lastOwn = begin + i;
        }
        var scan = GroupReduce.InclusiveScanDouble(own);
        int lastWithMass = GroupReduce.MaxInt(lastOwn);
        int owner = GroupReduce.MinInt(own > 0.0 && scan.Inclusive > target ? tid : int.MaxValue);
        int found = -1;
        if (tid == owner)
        {
            found = lastOwn;
            double running = scan.Exclusive;
            for (int i = 0; i < segment; i++)
            {
                float e = SegmentMass(ctx, begin + i, cols, hasPivot, pivotW, pivotCol);
                running += e;
                if (e > 0f && running > target)
                {
                    found = begin + i;
                    break;
                }
            }
        }
        int token = GroupReduce.MaxInt(found);
        return owner == int.MaxValue ? lastWithMass : token;
    }

    private static float SegmentMass<T>(DecodeRow<T> ctx, int col, int cols, bool hasPivot, float pivotW, int pivotCol)
        where T : struct, ILogitTransform
    {
        if (col >= cols)
            return 0f;
        float w = ctx.W(col);
        return !hasPivot || KeyIndex.Before(w, col, pivotW, pivotCol) ? ctx.Mass(col, w) : 0f;
    }
}
