namespace Kernels;

/// <summary>
/// Block attention over any head dimension up to <see cref="BlockAttentionKernel.MaxHeadDim"/> and any GQA ratio: (O, LSE)
/// of queries against keys and values, with causal and key-length masks and an optional bias. See
/// <see cref="BlockAttentionKernel"/> for the layout and outcomes.
/// </summary>
[AttentionKernel(AttentionKind.Block)]
public static partial class BlockAttention;

/// <summary>Decode attention, d = 128, any GQA ratio, per-sequence lengths (flash-decoding over 256-key chunks).</summary>
[AttentionKernel(AttentionKind.Decode, HeadDim = 128, Masks = AttentionMasks.Length)]
public static partial class DecodeAttention128;

/// <summary>Decode attention, d = 64, any GQA ratio, per-sequence lengths.</summary>
[AttentionKernel(AttentionKind.Decode, HeadDim = 64, Masks = AttentionMasks.Length)]
public static partial class DecodeAttention64;

/// <summary>Decode attention, d = 128, per-sequence lengths and a learned sink logit per head (gpt-oss style).</summary>
[AttentionKernel(AttentionKind.Decode, HeadDim = 128, Masks = AttentionMasks.Length, Sink = true)]
public static partial class DecodeAttentionSink128;

/// <summary>Decode attention, d = 64, per-sequence lengths and a learned sink logit per head.</summary>
[AttentionKernel(AttentionKind.Decode, HeadDim = 64, Masks = AttentionMasks.Length, Sink = true)]
public static partial class DecodeAttentionSink64;
