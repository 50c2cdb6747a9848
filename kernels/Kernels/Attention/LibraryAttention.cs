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

/// <summary>Linear attention kernels for any head dimension up to 256: the default of <see cref="LinearAttention"/>.</summary>
[AttentionKernel(AttentionKind.Linear)]
public static partial class LinearAttentionAny;

/// <summary>Linear attention kernels specialised for d = 64.</summary>
[AttentionKernel(AttentionKind.Linear, HeadDim = 64)]
public static partial class LinearAttention64;

/// <summary>HyperAttention with block-attention kernels specialised for d = 64.</summary>
[AttentionKernel(AttentionKind.HyperAttention, HeadDim = 64)]
public static partial class HyperAttention64;

/// <summary>HyperAttention with block-attention kernels specialised for d = 128.</summary>
[AttentionKernel(AttentionKind.HyperAttention, HeadDim = 128)]
public static partial class HyperAttention128;
