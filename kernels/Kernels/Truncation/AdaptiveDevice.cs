using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The ILGPU side of the Top-H and Mirostat samplers: one group per row. After a first pass (max, NaN), every step is
/// one pass over the row in which each thread sums a measure over its contiguous segment, followed by the same group
/// scan (<see cref="AdaptiveMachine"/>): Z, the top columns' threshold, their gathering into shared memory at scan
/// offsets and their ranking (each thread ranks its share by counting), the decision, and the draw.
/// </summary>
/// <remarks>
/// All barriers sit in the one loop and run on every step, whatever the stage (PoCL 3.1: one barrier site per kind of
/// work, no barrier under a branch).
/// </remarks>
public static class AdaptiveDevice
{
    /// <summary>Top-H on row <c>Grid.IdxX</c> with transform <typeparamref name="T"/>. Launch with one group per row.</summary>
    public static void TopH<T>(ArrayView<float> logits, ArrayView<float> temperatures, ArrayView<RngKey> keys, ArrayView<float> alpha,
        ArrayView<float> tau, ArrayView<float> eta, ArrayView<float> mu, ArrayView<int> tokens, ArrayView<int> status, ArrayView<int> kept, AdaptiveArgs args)
        where T : struct, ILogitTransform =>
        Row<T, TopHRule>(logits, temperatures, keys, alpha, tau, eta, mu, tokens, status, kept, args);

    /// <summary>Mirostat on row <c>Grid.IdxX</c> with transform <typeparamref name="T"/>. Launch with one group per row.</summary>
    public static void Mirostat<T>(ArrayView<float> logits, ArrayView<float> temperatures, ArrayView<RngKey> keys, ArrayView<float> alpha,
        ArrayView<float> tau, ArrayView<float> eta, ArrayView<float> mu, ArrayView<int> tokens, ArrayView<int> status, ArrayView<int> kept, AdaptiveArgs args)
        where T : struct, ILogitTransform =>
        Row<T, MirostatRule>(logits, temperatures, keys, alpha, tau, eta, mu, tokens, status, kept, args);

    /// <summary>Top-H with the normalised rule (<see cref="TopHMode.Normalized"/>): launch one group per row.</summary>
    public static void TopHNormalized<T>(ArrayView<float> logits, ArrayView<float> temperatures, ArrayView<RngKey> keys, ArrayView<float> alpha,
        ArrayView<float> tau, ArrayView<float> eta, ArrayView<float> mu, ArrayView<int> tokens, ArrayView<int> status, ArrayView<int> kept, AdaptiveArgs args)
        where T : struct, ILogitTransform =>
        Row<T, TopHNormalizedRule>(logits, temperatures, keys, alpha, tau, eta, mu, tokens, status, kept, args);

    private static void Row<T, TRule>(ArrayView<float> logits, ArrayView<float> temperatures, ArrayView<RngKey> keys, ArrayView<float> alpha,
        ArrayView<float> tau, ArrayView<float> eta, ArrayView<float> mu, ArrayView<int> tokens, ArrayView<int> status, ArrayView<int> kept, AdaptiveArgs args)
        where T : struct, ILogitTransform
        where TRule : struct, IAdaptiveRule
    {
        bool mirostat = default(TRule).Mirostat;
        var rankedW = SharedMemory.Allocate<float>(AdaptiveRules.MaxRanked);
        var rankedCol = SharedMemory.Allocate<int>(AdaptiveRules.MaxRanked);
        var order = SharedMemory.Allocate<int>(AdaptiveRules.MaxRanked);
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
        };
        float a = mirostat ? 0f : alpha[row];
        float t = mirostat ? tau[row] : 0f;
        float h = mirostat ? eta[row] : 0f;
        float m = mirostat ? mu[row] : 0f;
        bool valid = mirostat ? AdaptiveRules.ValidMirostat(t, h, m) : AdaptiveRules.ValidAlpha(a);

        float max = ctx.ScanMax(cols, false, out bool poisoned);
        ctx.Rule = new MassRule(max, 0f, false);
        var machine = AdaptiveMachine.Start(TruncationRules.Outcome(valid ? ctx.Scale : float.NaN, 1f, 0f, poisoned, TruncationRules.Empty(max, false)), args, a, m, default(TRule).NeedsEntropy);
        var key = args.PerRowKeys != 0 ? keys[row] : Rng.RowKey(args.Key, row);
        var ranked = new SharedRanked { Values = rankedW, Columns = rankedCol, Order = order };

        int segment = (cols + Group.DimX - 1) / Group.DimX;
        int begin = tid * segment;
        while (!machine.Done)
        {
            bool drawing = machine.Drawing;
            double target = drawing ? args.Uniform(key) * machine.Mass : 0.0;
            var drawn = SegmentDraw.Step(new Step<T> { Machine = machine, Row = ctx }, begin, segment, cols, drawing, target);

            if (machine.Gathering)
            {
                int at = (int)drawn.Exclusive;
                for (int i = 0; i < segment; i++)
                {
                    int col = begin + i;
                    if (col < cols && machine.Measure(ctx, col) > 0.0)
                    {
                        rankedW[at] = TruncationRules.WithoutNegativeZero(ctx.W(col)); // as the order keys give it
                        rankedCol[at] = col;
                        at++;
                    }
                }
            }
            Group.Barrier();
            if (machine.Gathering)
            {
                for (int i = tid; i < machine.Ranked; i += Group.DimX)
                {
                    int rank = 0;
                    for (int j = 0; j < machine.Ranked; j++)
                    {
                        if (KeyIndex.Before(rankedW[j], rankedCol[j], rankedW[i], rankedCol[i]))
                            rank++;
                    }
                    order[rank] = i;
                }
            }
            Group.Barrier();
            machine.Advance<T, SharedRanked, TRule>(ctx, drawn.Total, drawn.Column, ranked);
        }
        if (tid == 0)
        {
            tokens[row] = machine.Token;
            if (args.WriteStatus != 0)
                status[row] = (int)machine.Outcome;
            if (args.WriteKept != 0)
                kept[row] = machine.Count;
            if (mirostat && machine.Outcome == SampleStatus.Sampled)
                mu[row] = AdaptiveRules.NextMu(m, t, h, ctx.W(machine.Token), ctx.Max, machine.Z);
        }
    }

    private struct Step<T> : ISegmentMeasure where T : struct, ILogitTransform
    {
        public AdaptiveMachine Machine;
        public DecodeRow<T> Row;

        public readonly double Measure(int col) => Machine.Measure(Row, col);
    }

    // The ranked columns in shared memory: position i holds a gathered column, order[rank] its position.
    private struct SharedRanked : ISortedRow
    {
        public ArrayView<float> Values;
        public ArrayView<int> Columns;
        public ArrayView<int> Order;

        public readonly float W(int rank) => Values[Order[rank]];

        public readonly int Column(int rank) => Columns[Order[rank]];
    }
}
