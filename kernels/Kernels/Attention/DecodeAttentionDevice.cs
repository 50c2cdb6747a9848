using System;
using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The ILGPU side of decode attention, flash-decoding style in two launches. <see cref="Split{TDim}"/>: one group per
/// (sequence, query head, split) runs the block-attention recurrence over the split's keys and writes a partial state
/// (O, LSE). <see cref="Merge"/>: one group per (sequence, query head) folds the splits' states, seeded with the
/// learned sink (O = 0, LSE = sink: the sink adds e^sink to the denominator and nothing to the output).
/// </summary>
public static class DecodeAttentionDevice
{
    /// <summary>Partial state <c>Grid.IdxX</c> = row·Splits + split. Launch Batch·Heads·Splits groups.</summary>
    public static void Split<TDim>(ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<int> lengths,
        ArrayView<float> partialO, ArrayView<float> partialLse, DecodeAttentionArgs args)
        where TDim : struct, IHeadDim
    {
        var query = SharedMemory.Allocate<float>(BlockAttentionKernel.MaxHeadDim);
        var acc = SharedMemory.Allocate<float>(BlockAttentionKernel.MaxHeadDim);
        var weights = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int item = Grid.IdxX;
        if (item >= args.Batch * args.Heads * args.Splits)
            return;
        int d = default(TDim).Resolve(args.HeadDim);
        int row = item / args.Splits, split = item % args.Splits;
        int b = row / args.Heads, h = row % args.Heads;
        int length = args.HasLengths != 0 ? lengths[b] : args.Capacity;
        // A length outside [0, Capacity] reads nothing and poisons the row (NaN), without a branch around the barriers.
        bool invalid = length < 0 || length > args.Capacity;
        int start = split * args.SplitKeys;
        int end = invalid ? start : Math.Min(start + args.SplitKeys, length);
        if (end < start)
            end = start;
        long kvBase = ((long)b * args.KvHeads + h / (args.Heads / args.KvHeads)) * args.Capacity * d;
        var state = BlockAttentionDevice.Attend(q, (long)row * d, k, v, kvBase, start, end, d, args.Scale,
            partialO, false, 0, query, acc, weights);
        if (invalid)
            state = new FloatPair(float.NaN, float.NaN);
        BlockAttentionDevice.Store(partialO, partialLse, (long)item * d, item, d, state, acc);
    }

    /// <summary>
    /// Final state of row <c>Grid.IdxX</c> = b·Heads + h from its splits. Launch Batch·Heads groups. The group reduces
    /// M = max(sink, LSE_s) and Σ = e^(sink − M) + Σ_s e^(LSE_s − M) over the splits, then each thread writes its output
    /// components Σ_s e^(LSE_s − M)/Σ · O_s; LSE = M + ln Σ. A NaN or +inf LSE or sink poisons the row.
    /// </summary>
    public static void Merge<TDim>(ArrayView<float> partialO, ArrayView<float> partialLse, ArrayView<float> sinks,
        ArrayView<float> o, ArrayView<float> lse, DecodeAttentionArgs args)
        where TDim : struct, IHeadDim
    {
        int row = Grid.IdxX;
        if (row >= args.Batch * args.Heads)
            return;
        int d = default(TDim).Resolve(args.HeadDim);
        int tid = Group.IdxX, size = Group.DimX;
        long first = (long)row * args.Splits;
        float sink = args.HasSinks != 0 ? sinks[row % args.Heads] : float.NegativeInfinity;

        var local = new FloatPair(sink, Poisons(sink));
        for (int s0 = 0; s0 < args.Splits; s0 += size)
        {
            int s = s0 + tid;
            if (s < args.Splits)
            {
                float part = partialLse[first + s];
                local = default(MaxAndPoison).Combine(local, new FloatPair(part, Poisons(part)));
            }
        }
        var reduced = GroupReduce.Reduce<MaxAndPoison>(local);
        float max = reduced.A;
        bool poisoned = reduced.B != 0f;
        bool empty = max == float.NegativeInfinity;

        float sum = tid == 0 && !empty && sink != float.NegativeInfinity ? MathF.Exp(sink - max) : 0f;
        for (int s0 = 0; s0 < args.Splits; s0 += size)
        {
            int s = s0 + tid;
            if (s < args.Splits && !empty)
            {
                float part = partialLse[first + s];
                sum += part == float.NegativeInfinity ? 0f : MathF.Exp(part - max);
            }
        }
        sum = GroupReduce.Sum(sum);

        float inverse = empty ? 0f : 1f / sum;
        for (int c0 = 0; c0 < d; c0 += size)
        {
            int c = c0 + tid;
            if (c < d)
            {
                float value = 0f;
                for (int s = 0; s < args.Splits && !empty; s++)
                {
                    float part = partialLse[first + s];
                    if (part != float.NegativeInfinity)
                        value += MathF.Exp(part - max) * inverse * partialO[(first + s) * d + c];
                }
                o[(long)row * d + c] = poisoned ? float.NaN : value;
            }
        }
        if (tid == 0)
            lse[row] = poisoned ? float.NaN : empty ? float.NegativeInfinity : max + MathF.Log(sum);
    }

    private static float Poisons(float lse) => float.IsNaN(lse) || float.IsPositiveInfinity(lse) ? 1f : 0f;

    /// <summary>(max of A ignoring NaN, max of the poison flags B).</summary>
    private readonly struct MaxAndPoison : IPairReduction
    {
        public FloatPair Combine(FloatPair x, FloatPair y) =>
            new(float.IsNaN(y.A) || x.A >= y.A ? x.A : y.A, x.B > y.B ? x.B : y.B);
    }
}
