using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The ILGPU side of the decode sampler and of the truncation kernel: one group per row, temperature, transform, top-k,
/// min-p and top-p fused, without sorting. After a first pass (max, NaN), every step of the row's work is one pass over
/// the row in which each thread sums a measure over its contiguous segment, followed by the same group scan: the top-k
/// threshold (a <see cref="PrefixSearch"/> over counts), the mass T_S of the kept set S, and pivot-rejection rounds
/// (FlashInfer's idea): draw j by inverse CDF from the candidates, accept it when the mass of S before it is below
/// p·T_S, else keep only the columns before j and draw again. After <see cref="DecodeArgs.Rounds"/> rejections the
/// exact top-p cutoff is searched (a <see cref="PrefixSearch"/> over masses) and the token drawn below it: the same
/// law. The truncation kernel searches the cutoff directly and writes the kept set instead of drawing.
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
        ArrayView<float> topP, ArrayView<float> minP, ArrayView<ulong> offsets, ArrayView<float> context, ArrayView<float> parameters,
        ArrayView<int> tokens, ArrayView<int> status, DecodeArgs args)
        where T : struct, ILogitTransform
    {
        int row = Grid.IdxX;
        if (row >= args.Rows)
            return;
        ulong offset = args.PerRowOffsets != 0 ? args.Offset + offsets[row] : args.Offset;
        var machine = Solve<T>(logits, temperatures, keys, topK, topP, minP, context, parameters, args, offset, false, out _);
        if (Group.IdxX == 0)
        {
            tokens[row] = machine.Token;
            if (args.WriteStatus != 0)
                status[row] = (int)machine.Outcome;
        }
    }

    /// <summary>
    /// Writes row <c>Grid.IdxX</c>'s truncated distribution into <paramref name="output"/>: e/T_kept inside the kept set
    /// and 0 outside, or (<see cref="DecodeArgs.Masked"/>) the value inside and −inf (0 from probabilities) outside.
    /// </summary>
    public static void Truncate<T>(ArrayView<float> logits, ArrayView<float> temperatures, ArrayView<RngKey> keys, ArrayView<int> topK,
        ArrayView<float> topP, ArrayView<float> minP, ArrayView<float> context, ArrayView<float> parameters, ArrayView<float> output,
        ArrayView<int> status, DecodeArgs args)
        where T : struct, ILogitTransform
    {
        int row = Grid.IdxX;
        if (row >= args.Rows)
            return;
        var machine = Solve<T>(logits, temperatures, keys, topK, topP, minP, context, parameters, args, 0, true, out var ctx);
        int cols = args.Cols;
        bool probabilities = args.Probabilities != 0;
        float outside = TruncationValues.Outside(machine.Outcome, args.Masked != 0, probabilities);
        float inverse = (float)(1.0 / machine.Mass);
        float temperature = args.PerRowTemperature != 0 ? temperatures[args.ParameterRow(row)] : args.Temperature;
        for (int first = 0; first < cols; first += Group.DimX)
        {
            int col = first + Group.IdxX;
            if (col >= cols)
                continue;
            float value = outside;
            if (machine.Outcome == SampleStatus.Sampled)
            {
                float e = machine.KeptMass(ctx, col);
                if (e > 0f)
                    value = args.Masked == 0 ? e * inverse : TruncationValues.Masked(ctx.Transformed(col), temperature, probabilities);
            }
            output[ctx.Start + col] = value;
        }
        if (Group.IdxX == 0 && args.WriteStatus != 0)
            status[row] = (int)machine.Outcome;
    }

    // The row's first pass and its machine run to the end (a token, or the kept set with select).
    private static DecodeMachine Solve<T>(ArrayView<float> logits, ArrayView<float> temperatures, ArrayView<RngKey> keys, ArrayView<int> topK,
        ArrayView<float> topP, ArrayView<float> minP, ArrayView<float> context, ArrayView<float> parameters, DecodeArgs args, ulong offset,
        bool select, out DecodeRow<T> ctx)
        where T : struct, ILogitTransform
    {
        int row = Grid.IdxX;
        int entry = args.ParameterRow(row);
        int cols = args.Cols;
        ctx = new DecodeRow<T>
        {
            Logits = logits,
            Start = (long)row * cols,
            Scale = args.PerRowTemperature != 0 ? SamplingMath.Log2Scale(temperatures[entry]) : args.Scale,
            HasContext = args.Context,
            Context = context,
            Parameter = args.Context != 0 ? parameters[entry] : 0f,
        };
        float rowMinP = args.MinP != 0 ? minP[entry] : 0f;
        bool probabilities = args.Probabilities != 0;
        float p = args.TopP != 0 ? topP[entry] : 1f;
        int k = args.TopK != 0 ? topK[entry] : 0;

        float max = ctx.ScanMax(cols, probabilities, out bool poisoned);
        ctx.Rule = new MassRule(max, rowMinP, probabilities);
        var outcome = TruncationRules.Outcome(ctx.Scale, p, rowMinP, poisoned, TruncationRules.Empty(max, probabilities));
        var machine = DecodeMachine.Start(outcome, k, p, cols, args.Rounds, select);
        var key = select ? default : args.PerRowKeys != 0 ? keys[row] : Rng.RowKey(args.Key, row);

        int segment = (cols + Group.DimX - 1) / Group.DimX;
        int begin = Group.IdxX * segment;
        while (!machine.Done)
        {
            bool drawing = machine.Drawing;
            double target = drawing ? machine.Uniform(key, offset) * machine.Mass : 0.0;
            var step = SegmentDraw.Step(new Step<T> { Machine = machine, Row = ctx }, begin, segment, cols, drawing, target);
            machine.Advance(ctx, step.Total, step.Column);
        }
        return machine;
    }

    private struct Step<T> : ISegmentMeasure where T : struct, ILogitTransform
    {
        public DecodeMachine Machine;
        public DecodeRow<T> Row;

        public readonly double Measure(int col) => Machine.Measure(Row, col);
    }
}
