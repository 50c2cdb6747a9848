using System;

namespace Kernels;

/// <summary>
/// The host-side index maps of one batch (built after the sort): rows of the virtual layout, in which segment v's
/// sorted queries form Blocks blocks of QueryBlock rows (virtual head v·Blocks + t) and its sorted keys Blocks blocks
/// of KeyBlock rows, each entry a source row (or −1 for padding); the sampled keys per segment and the bias tables.
/// </summary>
internal sealed class HyperAttentionLayout
{
    public int Segments, Blocks, QueryBlock, KeyBlock, Samples;

    /// <summary>[Segments·Blocks·QueryBlock] source query rows (−1: padding).</summary>
    public int[] QueryIndex = Array.Empty<int>();

    /// <summary>[Segments·Blocks·KeyBlock] source key rows (−1: padding).</summary>
    public int[] KeyIndex = Array.Empty<int>();

    /// <summary>[Segments·Samples] source key rows of the sampled keys.</summary>
    public int[] SampleIndex = Array.Empty<int>();

    /// <summary>[Segments·Samples] the sorted position of each sampled key (its block is position / KeyBlock).</summary>
    public int[] SamplePosition = Array.Empty<int>();

    /// <summary>[Segments·Blocks, Samples] the residual bias: −inf for a sample in the query block's own key block, else ln(n/s).</summary>
    public float[]? SampleTable;

    /// <summary>[Segments·Blocks, KeyBlock] −inf on the padding keys of a ragged last block, else 0; null when no block is ragged.</summary>
    public float[]? DiagonalTable;

    /// <summary>[Segments·Blocks·QueryBlock] the virtual head of each row (broadcasts a table row over its queries).</summary>
    public int[] VirtualHead = Array.Empty<int>();

    public int VirtualHeads => Segments * Blocks;

    public int VirtualRows => Segments * Blocks * QueryBlock;

    /// <summary>The first sorted query position of block t of <paramref name="queries"/> queries in <paramref name="blocks"/> blocks.</summary>
    public static int QueryBlockStart(int t, int queries, int blocks) => (int)((long)t * queries / blocks);

    /// <summary>Builds the maps for <paramref name="batch"/>, sorting each segment by hash when it is a HyperAttention batch.</summary>
    public static HyperAttentionLayout Build(HyperBatch batch, AttentionShape shape, HyperAttentionOptions options,
        int[]? queryHashes, int[]? keyHashes, RngKey key, ulong offset)
    {
        int nq = batch.Queries, nk = batch.Keys;
        bool hyper = batch.Mode == HyperMode.Hyper && nk > 0;
        int b = hyper ? Math.Min(options.BlockSize, nk) : Math.Max(nk, 1);
        int nb = hyper ? (nk + b - 1) / b : 1;
        int qb = Math.Max(1, (nq + nb - 1) / nb);
        int s = hyper && nb > 1 ? options.SampleSize : 0;
        int segments = batch.Segments.Length;
        var layout = new HyperAttentionLayout
        {
            Segments = segments, Blocks = nb, QueryBlock = qb, KeyBlock = b, Samples = s,
            QueryIndex = new int[segments * nb * qb],
            KeyIndex = new int[segments * nb * b],
            SampleIndex = new int[segments * s],
            SamplePosition = new int[segments * s],
            SampleTable = s > 0 ? new float[segments * nb * s] : null,
            DiagonalTable = nb * b != nk ? new float[segments * nb * b] : null,
            VirtualHead = new int[segments * nb * qb],
        };
        Array.Fill(layout.QueryIndex, -1);
        Array.Fill(layout.KeyIndex, -1);
        var queryOrder = new int[nq];
        var keyOrder = new int[nk];
        var counts = new int[(1 << options.HashBits) + 1];
        float weight = s > 0 ? MathF.Log((float)nk / s) : 0f;
        for (int v = 0; v < segments; v++)
        {
            var segment = batch.Segments[v];
            int queryRow = segment.Head * shape.Queries + segment.QueryStart;
            int keyRow = segment.KvHead * shape.Keys + segment.KeyStart;
            Order(hyper ? queryHashes : null, queryRow, queryOrder, options.HashBits, counts);
            Order(hyper ? keyHashes : null, keyRow, keyOrder, options.HashBits, counts);
            for (int t = 0; t < nb; t++)
            {
                int first = QueryBlockStart(t, nq, nb), last = QueryBlockStart(t + 1, nq, nb);
                int at = (v * nb + t) * qb;
                for (int r = 0; r < qb; r++)
                {
                    layout.VirtualHead[at + r] = v * nb + t;
                    if (first + r < last)
                        layout.QueryIndex[at + r] = queryRow + queryOrder[first + r];
                }
                for (int r = 0; r < b; r++)
                {
                    int position = t * b + r;
                    if (position < nk)
                        layout.KeyIndex[(v * nb + t) * b + r] = keyRow + keyOrder[position];
                    else
                        layout.DiagonalTable![(v * nb + t) * b + r] = float.NegativeInfinity;
                }
            }
            // Uniform samples with replacement, per (segment's head, pair): the 64-bit word times n, high half.
            var stream = Rng.RowKey(key, segment.Head);
            for (int j = 0; j < s; j++)
            {
                ulong bits = Rng.Block(stream, (uint)(segment.Pair * s + j), offset + 1).Low64;
                int position = (int)Math.BigMul(bits, (ulong)nk, out _);
                layout.SamplePosition[v * s + j] = position;
                layout.SampleIndex[v * s + j] = keyRow + keyOrder[position];
                for (int t = 0; t < nb; t++)
                    layout.SampleTable![(v * nb + t) * s + j] = position / b == t ? float.NegativeInfinity : weight;
            }
        }
        return layout;
    }

    // The stable order of a segment's rows by hash, or the identity.
    private static void Order(int[]? hashes, int row, int[] order, int bits, int[] counts)
    {
        if (hashes is null || bits == 0)
        {
            for (int i = 0; i < order.Length; i++)
                order[i] = i;
            return;
        }
        AngularLsh.StableSort(hashes.AsSpan(row, order.Length), order, bits, counts);
    }
}
