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

    /// <summary>Final state of row <c>Grid.IdxX</c> = b·Heads + h from its splits. Launch Batch·Heads groups.</summary>
    public static void Merge<TDim>(ArrayView<float> partialO, ArrayView<float> partialLse, ArrayView<float> sinks,
        ArrayView<float> o, ArrayView<float> lse, DecodeAttentionArgs args)
        where TDim : struct, IHeadDim
    {
        int row = Grid.IdxX;
        if (row >= args.Batch * args.Heads)
            return;
        int d = default(TDim).Resolve(args.HeadDim);
        int tid = Group.IdxX, size = Group.DimX;
        float seed = args.HasSinks != 0 ? sinks[row % args.Heads] : float.NegativeInfinity;
        for (int c0 = 0; c0 < d; c0 += size)
        {
            int c = c0 + tid;
            float merged = seed, value = 0f;
            for (int s = 0; s < args.Splits; s++)
            {
                long item = (long)row * args.Splits + s;
                float part = c < d ? partialO[item * d + c] : 0f;
                float next = AttentionMath.Merge(merged, partialLse[item], out float wa, out float wb);
                value = (wa * value + wb * part) * AttentionMath.InverseWeight(wa, wb);
                merged = next;
            }
            if (c < d)
                o[(long)row * d + c] = value;
            if (c == 0)
                lse[row] = merged;
        }
    }
}
