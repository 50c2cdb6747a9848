using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The ILGPU side of the decode sampler: one group per row, temperature, transform, top-k, min-p and top-p fused,
/// without sorting. After a first pass (max, NaN), every step of the row's work is one pass over the row in which each
/// thread sums a measure over its contiguous segment, followed by the same group scan: the top-k threshold (a
/// <see cref="PrefixSearch"/> over counts), the mass T_S of the kept set S, and pivot-rejection rounds (FlashInfer's
/// idea): draw j by inverse CDF from the candidates, accept it when the mass of S before it is below p·T_S, else keep
/// only the columns before j and draw again. After <see cref="DecodeArgs.Rounds"/> rejections the exact top-p cutoff
/// is searched (a <see cref="PrefixSearch"/> over masses) and the token drawn below it: the same law.
/// </summary>
/// <remarks>
/// The steps run in one loop driven by a uniform state (<see cref="DecodeMachine"/>), so the kernel has a handful of
/// barrier sites: PoCL 3.1's work-group compiler did not finish in minutes on the same work written as straight-line
/// calls, each inlined with its own barriers.
/// </remarks>
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
        };
        float rowMinP = args.MinP != 0 ? minP[row] : 0f;
        bool probabilities = args.Probabilities != 0;
        float p = args.TopP != 0 ? topP[row] : 1f;
        int k = args.TopK != 0 ? topK[row] : 0;

        float max = ctx.ScanMax(cols, probabilities, out bool poisoned);
        ctx.Rule = new MassRule(max, rowMinP, probabilities);
        var outcome = TruncationRules.Outcome(ctx.Scale, p, rowMinP, poisoned, TruncationRules.Empty(max, probabilities));
        var machine = DecodeMachine.Start(outcome, k, p, cols, args.Rounds);
        var key = args.PerRowKeys != 0 ? keys[row] : Rng.RowKey(args.Key, row);

        int segment = (cols + Group.DimX - 1) / Group.DimX;
        int begin = tid * segment;
        while (!machine.Done)
        {
            bool drawing = machine.Drawing;
            double target = drawing ? machine.Uniform(key, args.Offset) * machine.Mass : 0.0;
            var step = SegmentDraw.Step(new Step<T> { Machine = machine, Row = ctx }, begin, segment, cols, drawing, target);
            machine.Advance(ctx, step.Total, step.Column);
        }
        if (tid == 0)
        {
            tokens[row] = machine.Token;
            if (args.WriteStatus != 0)
                status[row] = (int)machine.Outcome;
        }
    }

    private struct Step<T> : ISegmentMeasure where T : struct, ILogitTransform
    {
        public DecodeMachine Machine;
        public DecodeRow<T> Row;

        public readonly double Measure(int col) => Machine.Measure(Row, col);
    }
}
