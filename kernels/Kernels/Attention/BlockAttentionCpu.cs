using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kernels.Cpu;

namespace Kernels;

/// <summary>
/// The CPU side of block attention: jobs of <see cref="QueryBlock"/> query rows of one head spread over cores. A job walks
/// the keys in tiles of <see cref="KeyTile"/>, so a tile of K and V (at most 64 KB each for d = 256) is read from memory
/// once and reused from cache by every query row of the block; each row keeps the FlashAttention state (m, l, O) and
/// updates it once per tile: scores, their maximum, e^(s − m') in eight lanes, then O·e^(m − m') + Σ e^(s − m')·v.
/// </summary>
public static unsafe class BlockAttentionCpu
{
    /// <summary>Query rows per job.</summary>
    public const int QueryBlock = 8;

    /// <summary>Keys per tile.</summary>
    public const int KeyTile = 64;

    /// <summary>Computes every row's (O, LSE).</summary>
    public static void Run<TDim>(nint q, nint k, nint v, nint bias, nint o, nint lse, AttentionArgs args)
        where TDim : struct, IHeadDim
    {
        int blocks = (args.Queries + QueryBlock - 1) / QueryBlock;
        long work = (long)QueryBlock * args.KeyLength * args.HeadDim;
        RowScheduler.For(args.Heads * blocks, (int)Math.Min(work, int.MaxValue),
            new Job<TDim>((float*)q, (float*)k, (float*)v, (float*)bias, (float*)o, (float*)lse, args, blocks));
    }

    private readonly struct Job<TDim>(float* q, float* k, float* v, float* bias, float* o, float* lse, AttentionArgs args, int blocks) : IRowJob
        where TDim : struct, IHeadDim
    {
        public void Run(int start, int end)
        {
            float* state = stackalloc float[QueryBlock * (BlockAttentionKernel.MaxHeadDim + 3) + KeyTile];
            for (int item = start; item < end; item++)
                Block<TDim>(q, k, v, bias, o, lse, args, item / blocks, item % blocks * QueryBlock, state);
        }
    }

    // Fully optimised at first call: the method runs only a few times per launch, too few for tiering to promote it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TDim>(float* q, float* k, float* v, float* bias, float* o, float* lse, AttentionArgs args,
        int head, int first, float* state)
        where TDim : struct, IHeadDim
    {
        int d = default(TDim).Resolve(args.HeadDim);
        int rows = Math.Min(QueryBlock, args.Queries - first);
        float* acc = state;                                   // [QueryBlock, MaxHeadDim]
        float* m = acc + QueryBlock * BlockAttentionKernel.MaxHeadDim;
        float* l = m + QueryBlock;
        float* bad = l + QueryBlock;
        float* weights = bad + QueryBlock;                    // [KeyTile]
        int visibleMax = 0;
        for (int r = 0; r < rows; r++)
        {
            m[r] = float.NegativeInfinity;
            l[r] = 0f;
            bad[r] = 0f;
            new Span<float>(acc + r * BlockAttentionKernel.MaxHeadDim, d).Clear();
            visibleMax = Math.Max(visibleMax, AttentionMath.VisibleKeys(args, first + r));
        }
        long kvBase = (long)(head / (args.Heads / args.KvHeads)) * args.Keys * d;
        float* keys = k + kvBase, values = v + kvBase;
        long rowBase = (long)head * args.Queries + first;

        for (int j0 = 0; j0 < visibleMax; j0 += KeyTile)
        {
            for (int r = 0; r < rows; r++)
            {
                int count = Math.Min(AttentionMath.VisibleKeys(args, first + r) - j0, KeyTile);
                if (count <= 0 || bad[r] != 0f)
                    continue;
                float* query = q + (rowBase + r) * d;
                float* biasRow = args.HasBias != 0 ? bias + (rowBase + r) * args.Keys + j0 : null;
                int first4 = 0;
                if (AttentionVectors.CanDot4(d))
                {
                    var scale = Vector128.Create(args.Scale);
                    for (; first4 <= count - 4; first4 += 4)
                        (AttentionVectors.Dot4(query, keys + (long)(j0 + first4) * d, d) * scale).Store(weights + first4);
                }
                for (int t = first4; t < count; t++)
                    weights[t] = AttentionVectors.Dot(query, keys + (long)(j0 + t) * d, d) * args.Scale;
                float tileMax = float.NegativeInfinity;
                for (int t = 0; t < count; t++)
                {
                    float s = weights[t];
                    if (biasRow != null)
                        s += biasRow[t];
                    weights[t] = s;
                    tileMax = s > tileMax ? s : tileMax;
                    // NaN or +inf scores poison the row (its O and LSE become NaN).
                    if (!(s < float.PositiveInfinity) && !float.IsNegativeInfinity(s))
                        bad[r] = 1f;
                }
                if (bad[r] != 0f)
                    continue;
                float next = Math.Max(m[r], tileMax);
                if (next == float.NegativeInfinity)
                    continue; // every score so far −inf: nothing to add
                float alpha = m[r] == float.NegativeInfinity ? 0f : MathF.Exp(m[r] - next);
                float sum = Exponentiate(weights, count, next);
                l[r] = l[r] * alpha + sum;
                m[r] = next;
                float* row = acc + r * BlockAttentionKernel.MaxHeadDim;
                AttentionVectors.Scale(row, row, alpha, d);
                AttentionVectors.AddRows(row, weights, values + (long)j0 * d, count, d);
            }
        }

        for (int r = 0; r < rows; r++)
        {
            float* output = o + (rowBase + r) * d;
            if (bad[r] != 0f)
            {
                AttentionVectors.Fill(output, float.NaN, d);
                lse[rowBase + r] = float.NaN;
            }
            else if (l[r] == 0f)
            {
                AttentionVectors.Fill(output, 0f, d);
                lse[rowBase + r] = float.NegativeInfinity;
            }
            else
            {
                AttentionVectors.Scale(output, acc + r * BlockAttentionKernel.MaxHeadDim, 1f / l[r], d);
                lse[rowBase + r] = m[r] + MathF.Log(l[r]);
            }
        }
    }

    /// <summary>w_t = e^(w_t − max) in place for t &lt; count (scores ≤ max, not NaN); returns Σ w_t.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Exponentiate(float* w, int count, float max)
    {
        var vm = Vector256.Create(max);
        var sum = Vector256<float>.Zero;
        int t = 0;
        for (; t <= count - 8; t += 8)
        {
            var e = VectorMath.ExpNonPositive(Vector256.Load(w + t) - vm);
            Vector256.Store(e, w + t);
            sum += e;
        }
        float total = Vector256.Sum(sum);
        for (; t < count; t++)
        {
            float e = w[t] == float.NegativeInfinity ? 0f : MathF.Exp(w[t] - max);
            w[t] = e;
            total += e;
        }
        return total;
    }
}
