namespace Kernels;

/// <summary>
/// The shape of a block-attention problem. Q and O are [Heads, Queries, HeadDim], K and V are
/// [KvHeads, Keys, HeadDim], LSE is [Heads, Queries], all row-major and contiguous; batch and heads are flattened into
/// <see cref="Heads"/> (batch-major: head h of batch b is b·H + h) and grouped-query heads share key/value heads:
/// query head h reads key/value head h / (Heads / KvHeads).
/// </summary>
/// <param name="Heads">Query heads (batch × heads).</param>
/// <param name="KvHeads">Key/value heads (batch × key/value heads); must divide <paramref name="Heads"/>.</param>
/// <param name="Queries">Query rows per head.</param>
/// <param name="Keys">Key/value rows per head.</param>
/// <param name="HeadDim">Elements per row, 1 to <see cref="BlockAttentionKernel.MaxHeadDim"/>.</param>
public readonly record struct AttentionShape(int Heads, int KvHeads, int Queries, int Keys, int HeadDim)
{
    /// <summary>Elements of Q and O.</summary>
    public long QueryElements => (long)Heads * Queries * HeadDim;

    /// <summary>Elements of K and of V.</summary>
    public long KeyElements => (long)KvHeads * Keys * HeadDim;

    /// <summary>Rows of the state (elements of LSE).</summary>
    public long Rows => (long)Heads * Queries;
}

/// <summary>Options of a block-attention call; the default is unmasked attention over every key with scale 1/√d.</summary>
public readonly record struct BlockAttentionOptions
{
    /// <summary>The score scale; null for 1/√HeadDim.</summary>
    public float? Scale { get; init; }

    /// <summary>Causal mask: query i (at position <see cref="QueryOffset"/> + i) sees keys j ≤ QueryOffset + i.</summary>
    public bool Causal { get; init; }

    /// <summary>The position of query 0 among the keys (causal mask only); may be negative.</summary>
    public int QueryOffset { get; init; }

    /// <summary>Keys attended per head, the first KeyLength rows (0 to Keys); null for all.</summary>
    public int? KeyLength { get; init; }
}

/// <summary>
/// The shape of a decode-attention problem: one query per (sequence, head) against a KV cache. Q and O are
/// [Batch, Heads, HeadDim], K and V are [Batch, KvHeads, Capacity, HeadDim], LSE is [Batch, Heads], all row-major and
/// contiguous; query head h reads key/value head h / (Heads / KvHeads) of its sequence.
/// </summary>
/// <param name="Batch">Sequences.</param>
/// <param name="Heads">Query heads per sequence.</param>
/// <param name="KvHeads">Key/value heads per sequence; must divide <paramref name="Heads"/>.</param>
/// <param name="Capacity">Cached keys per (sequence, key/value head).</param>
/// <param name="HeadDim">Elements per row (the declaration's head dimension).</param>
public readonly record struct DecodeShape(int Batch, int Heads, int KvHeads, int Capacity, int HeadDim)
{
    /// <summary>Elements of Q and O.</summary>
    public long QueryElements => (long)Batch * Heads * HeadDim;

    /// <summary>Elements of K and of V.</summary>
    public long CacheElements => (long)Batch * KvHeads * Capacity * HeadDim;

    /// <summary>Rows of the state (elements of LSE).</summary>
    public long Rows => (long)Batch * Heads;
}
