using System.Runtime.InteropServices;

namespace Kernels;

/// <summary>
/// The scalar arguments of one block-attention launch, passed by value to both kernels. Layout: Q and O are
/// [Heads, Queries, HeadDim], K and V are [KvHeads, Keys, HeadDim], the optional bias is [Heads, Queries, Keys] and LSE
/// is [Heads, Queries]; query head h reads key/value head h / (Heads / KvHeads).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct AttentionArgs
{
    /// <summary>Query heads (batch × heads, flattened).</summary>
    public int Heads;

    /// <summary>Key/value heads; divides <see cref="Heads"/>.</summary>
    public int KvHeads;

    /// <summary>Query rows per head.</summary>
    public int Queries;

    /// <summary>Key/value rows per head (the stride of a head in K and V).</summary>
    public int Keys;

    /// <summary>Elements per query, key and value row.</summary>
    public int HeadDim;

    /// <summary>The score scale (1/√d by default).</summary>
    public float Scale;

    /// <summary>1 for a causal mask: query i sees keys j ≤ QueryOffset + i.</summary>
    public int Causal;

    /// <summary>The position of query 0 among the keys, for the causal mask.</summary>
    public int QueryOffset;

    /// <summary>Keys attended: the first KeyLength rows of each head (≤ Keys).</summary>
    public int KeyLength;

    /// <summary>1 when an additive bias [Heads, Queries, Keys] is added to the scaled scores.</summary>
    public int HasBias;
}

/// <summary>The scalar arguments of one attention-state merge.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct AttentionMergeArgs
{
    /// <summary>State rows (one per query and head).</summary>
    public int Rows;

    /// <summary>Elements per output row.</summary>
    public int HeadDim;
}

/// <summary>
/// The scalar arguments of one decode-attention launch. Q and O are [Batch, Heads, HeadDim], K and V are
/// [Batch, KvHeads, Capacity, HeadDim], lengths [Batch], sinks [Heads], LSE [Batch, Heads].
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct DecodeAttentionArgs
{
    /// <summary>Sequences.</summary>
    public int Batch;

    /// <summary>Query heads per sequence.</summary>
    public int Heads;

    /// <summary>Key/value heads per sequence; divides <see cref="Heads"/>.</summary>
    public int KvHeads;

    /// <summary>Cached keys per (sequence, key/value head): the stride of a head in K and V.</summary>
    public int Capacity;

    /// <summary>Elements per row.</summary>
    public int HeadDim;

    /// <summary>The score scale.</summary>
    public float Scale;

    /// <summary>1 when sequence b attends its first lengths[b] keys (else all Capacity).</summary>
    public int HasLengths;

    /// <summary>1 when a learned sink logit per head joins the softmax denominator.</summary>
    public int HasSinks;

    /// <summary>Keys per split (a multiple of <see cref="ChunkKeys"/>): each split gives a partial state, merged at the end.</summary>
    public int SplitKeys;

    /// <summary>Splits per (sequence, head): ⌈Capacity / SplitKeys⌉, at least 1.</summary>
    public int Splits;

    /// <summary>Keys scored together before their values are read (CPU tile).</summary>
    public int ChunkKeys;
}
