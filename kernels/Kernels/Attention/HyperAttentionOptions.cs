namespace Kernels;

/// <summary>
/// The parameters of <see cref="HyperAttention"/>, with the reference defaults (insuhan/hyper-attn): 7 hash bits
/// (128 buckets), blocks of 256 keys, 256 sampled keys, exact attention below 4096 queries.
/// </summary>
public sealed record HyperAttentionOptions
{
    /// <summary>Hash bits r, 0 (one bucket) to <see cref="AngularLsh.MaxBits"/>.</summary>
    public int HashBits { get; init; } = 7;

    /// <summary>Keys per diagonal block b (at least 1).</summary>
    public int BlockSize { get; init; } = 256;

    /// <summary>Residual keys sampled uniformly with replacement per head, s (0: no residual).</summary>
    public int SampleSize { get; init; } = 256;

    /// <summary>
    /// Below this many queries attention is exact: a non-causal call with fewer queries, a causal segment of at most
    /// this many tokens.
    /// </summary>
    public int MinSeqLen { get; init; } = 4096;

    /// <summary>The score scale; null for 1/√d.</summary>
    public float? Scale { get; init; }
}
