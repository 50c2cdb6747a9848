// This file is linked into the generator (generators/Kernels.Generators): keep it free of dependencies.
using System;

namespace Kernels;

/// <summary>Which kernel an <c>[AttentionKernel]</c> declaration generates. Values are stable; new kinds are appended.</summary>
public enum AttentionKind
{
    /// <summary>
    /// Block attention returning a mergeable state: queries [Heads, Queries, d] against keys and values
    /// [KvHeads, Keys, d], causal, key-length and bias masks, giving O and LSE (see <c>BlockAttentionKernel</c>).
    /// </summary>
    Block = 0,

    /// <summary>
    /// Decode attention over a KV cache: one query per (batch, head), Q [B, Hq, d] against K, V [B, Hkv, L, d], split across
    /// KV chunks and merged (flash-decoding), with per-row lengths and an optional learned sink logit per head.
    /// </summary>
    Decode = 1,

    /// <summary>
    /// HyperAttention (angular LSH, sorted diagonal blocks and a sampled residual, merged through the LSE): the declaration
    /// gets block-attention kernels specialised on the head dimension and a <c>Create</c> factory of a
    /// <c>HyperAttention</c> that uses them (see <c>HyperAttention</c>).
    /// </summary>
    HyperAttention = 2,

    /// <summary>
    /// Kernelised linear attention with a streaming state: the declaration gets the state kernels specialised on the head
    /// dimension and a <c>Create</c> factory of a <c>LinearAttention</c> that uses them (see <c>LinearAttention</c>).
    /// </summary>
    Linear = 3,
}

/// <summary>Masks an attention kernel is specialised for.</summary>
[Flags]
public enum AttentionMasks
{
    /// <summary>Every key is attended.</summary>
    None = 0,

    /// <summary>Per-row key lengths: row r attends its first length[r] keys.</summary>
    Length = 1,

    /// <summary>Causal: a query at position p attends keys at positions ≤ p.</summary>
    Causal = 2,
}
