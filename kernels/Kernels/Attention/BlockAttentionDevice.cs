using System;
using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The ILGPU side of block attention: one group per (head, query row). The query and the running output stay in shared
/// memory; keys are taken one tile of Group.DimX at a time, thread t scoring key tile + t, then the FlashAttention
/// recurrence: m' = max(m, max_t s_t), l = l·e^(m − m') + Σ_t e^(s_t − m'), O = O·e^(m − m') + Σ_t e^(s_t − m')·v_t,
/// each thread updating its own output dimensions. Finally O/l and LSE = m + ln l.
/// </summary>
/// <remarks>
/// PoCL 3.1 compiles this shape quickly: one loop whose trip count is the same for every thread of the group (the
/// row's visible keys, uniform per group), one group maximum and one barrier per iteration at fixed sites, bounds
/// tested inside.
/// </remarks>
public static class BlockAttentionDevice
{
    /// <summary>Processes row <c>Grid.IdxX</c> = head·Queries + query. Launch Heads·Queries groups.</summary>
    public static void Row(ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> bias,
        ArrayView<float> o, ArrayView<float> lse, AttentionArgs args)
    {
        var query = SharedMemory.Allocate<float>(BlockAttentionKernel.MaxHeadDim);
        var acc = SharedMemory.Allocate<float>(BlockAttentionKernel.MaxHeadDim);
        var weights = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int row = Grid.IdxX;
        if (row >= args.Heads * args.Queries)
            return;
        int tid = Group.IdxX, size = Group.DimX, d = args.HeadDim;
        int head = row / args.Queries, i = row % args.Queries;
        long kvBase = (long)(head / (args.Heads / args.KvHeads)) * args.Keys * d;
        long rowBase = (long)row * d;
        for (int c0 = 0; c0 < d; c0 += size)
        {
            int c = c0 + tid;
            if (c < d)
            {
                query[c] = q[rowBase + c];
                acc[c] = 0f;
            }
        }
        Group.Barrier();

        int visible = AttentionMath.VisibleKeys(args, i);
        float m = float.NegativeInfinity, l = 0f;
        for (int j0 = 0; j0 < visible; j0 += size)
        {
            int j = j0 + tid;
            float s = float.NegativeInfinity;
            if (j < visible)
            {
                long key = kvBase + (long)j * d;
                float dot = 0f;
                for (int c = 0; c < d; c++)
                    dot += query[c] * k[key + c];
                s = dot * args.Scale;
                if (args.HasBias != 0)
                    s += bias[(long)row * args.Keys + j];
            }
            float tileMax = GroupReduce.Max(s);
            float next = tileMax > m ? tileMax : m;
            // NaN scores propagate: exp(NaN) poisons the sums, so O and LSE come out NaN.
            weights[tid] = s == float.NegativeInfinity ? 0f : MathF.Exp(s - next);
            Group.Barrier();
            float alpha = m == float.NegativeInfinity ? 0f : MathF.Exp(m - next);
            float tileSum = 0f;
            for (int t = 0; t < size; t++)
                tileSum += weights[t];
            l = l * alpha + tileSum;
            for (int c0 = 0; c0 < d; c0 += size)
            {
                int c = c0 + tid;
                if (c < d)
                {
                    float a = acc[c] * alpha;
                    for (int t = 0; t < size; t++)
                    {
                        if (j0 + t < visible)
                            a += weights[t] * v[kvBase + (long)(j0 + t) * d + c];
                    }
                    acc[c] = a;
                }
            }
            m = next;
            // No barrier here: the next tile writes the weights only after its group maximum, which every thread
            // reaches after finishing this tile's reads.
        }

        // An empty row (no visible key, or every score −inf): O = 0, LSE = −inf. A NaN l gives NaN in both.
        bool empty = l == 0f;
        float inverse = empty ? 0f : 1f / l;
        for (int c0 = 0; c0 < d; c0 += size)
        {
            int c = c0 + tid;
            if (c < d)
                o[rowBase + c] = acc[c] * inverse;
        }
        if (tid == 0)
            lse[row] = empty ? float.NegativeInfinity : m + MathF.Log(l);
    }
}
