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
/// row's key range, uniform per group), one group maximum and one barrier per iteration at fixed sites, bounds tested
/// inside.
/// </remarks>
public static class BlockAttentionDevice
{
    /// <summary>Processes row <c>Grid.IdxX</c> = head·Queries + query. Launch Heads·Queries groups.</summary>
    public static void Row<TDim>(ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> bias,
        ArrayView<float> o, ArrayView<float> lse, AttentionArgs args)
        where TDim : struct, IHeadDim
    {
        var query = SharedMemory.Allocate<float>(BlockAttentionKernel.MaxHeadDim);
        var acc = SharedMemory.Allocate<float>(BlockAttentionKernel.MaxHeadDim);
        var weights = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int row = Grid.IdxX;
        if (row >= args.Heads * args.Queries)
            return;
        int head = row / args.Queries, i = row % args.Queries, d = default(TDim).Resolve(args.HeadDim);
        long kvBase = (long)(head / (args.Heads / args.KvHeads)) * args.Keys * d;
        var state = Attend(q, (long)row * d, k, v, kvBase, 0, AttentionMath.VisibleKeys(args, i), d, args.Scale,
            bias, args.HasBias != 0, (long)row * args.Keys, query, acc, weights);
        Store(o, lse, (long)row * d, row, d, state, acc);
    }

    /// <summary>
    /// The FlashAttention recurrence of one query (row <paramref name="qBase"/> of q) over keys [start, end) of the
    /// head at <paramref name="kvBase"/>, every thread of the group calling with the same range. Leaves the unnormalised
    /// output in <paramref name="acc"/> and returns (m, l); l = 0 when no key contributed.
    /// </summary>
    internal static FloatPair Attend(ArrayView<float> q, long qBase, ArrayView<float> k, ArrayView<float> v, long kvBase,
        int start, int end, int d, float scale, ArrayView<float> bias, bool hasBias, long biasBase,
        ArrayView<float> query, ArrayView<float> acc, ArrayView<float> weights)
    {
        int tid = Group.IdxX, size = Group.DimX;
        for (int c0 = 0; c0 < d; c0 += size)
        {
            int c = c0 + tid;
            if (c < d)
            {
                query[c] = q[qBase + c];
                acc[c] = 0f;
            }
        }
        Group.Barrier();

        float m = float.NegativeInfinity, l = 0f;
        for (int j0 = start; j0 < end; j0 += size)
        {
            int j = j0 + tid;
            float s = float.NegativeInfinity;
            if (j < end)
            {
                long key = kvBase + (long)j * d;
                float dot = 0f;
                for (int c = 0; c < d; c++)
                    dot += query[c] * k[key + c];
                s = dot * scale;
                if (hasBias)
                    s += bias[biasBase + j];
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
                        if (j0 + t < end)
                            a += weights[t] * v[kvBase + (long)(j0 + t) * d + c];
                    }
                    acc[c] = a;
                }
            }
            m = next;
            // No barrier here: the next tile writes the weights only after its group maximum, which every thread
            // reaches after finishing this tile's reads.
        }
        return new FloatPair(m, l);
    }

    /// <summary>
    /// Writes O = acc/l and LSE = m + ln l; an empty state (l = 0: no key, or every score −inf) gives O = 0 and
    /// LSE = −inf, a NaN l gives NaN in both.
    /// </summary>
    internal static void Store(ArrayView<float> o, ArrayView<float> lse, long oBase, long lseIndex, int d, FloatPair state, ArrayView<float> acc)
    {
        int tid = Group.IdxX, size = Group.DimX;
        float m = state.A, l = state.B;
        bool empty = l == 0f;
        float inverse = empty ? 0f : 1f / l;
        for (int c0 = 0; c0 < d; c0 += size)
        {
            int c = c0 + tid;
            if (c < d)
                o[oBase + c] = acc[c] * inverse;
        }
        if (tid == 0)
            lse[lseIndex] = empty ? float.NegativeInfinity : m + MathF.Log(l);
    }
}
