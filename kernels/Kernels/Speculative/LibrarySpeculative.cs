namespace Kernels;

/// <summary>
/// Chain verification for batched speculative decoding with per-request keys: target probabilities [B, L+1, V], draft
/// probabilities [B, L, V] and drafted tokens [B, L] give the accepted count [B] and the emitted tokens [B, L+1] (padded
/// with −1), which follow the target exactly. Each row's <see cref="RngKey"/> fixes its decisions on every backend,
/// whatever its row in the batch. See <see cref="ChainVerifier"/>.
/// </summary>
[SpeculativeKernel(SpeculativeKind.Chain, PerRowKeys = true)]
public static partial class ChainVerify;

/// <summary>
/// Chain verification on logits with per-request keys: target logits [B, L+1, V] and draft logits [B, L, V] both go
/// through the decode pipeline with per-request temperature, top-k and top-p ([B] each), then are verified as by
/// <see cref="ChainVerify"/> — fused per request on the cpu backend. See <see cref="ChainLogitVerifier"/>.
/// </summary>
[SpeculativeKernel(SpeculativeKind.Chain, PerRowKeys = true, Temperature = TemperatureMode.PerRow, TopK = true, TopP = true)]
public static partial class ChainVerifyLogits;

/// <summary>Chain verification with one key per launch (row b uses stream <c>Stream + b</c>). See <see cref="ChainVerifier"/>.</summary>
[SpeculativeKernel(SpeculativeKind.Chain)]
public static partial class ChainVerifyBatch;

/// <summary>
/// Expected acceptance per position of a chain, β[b, k] = Σ_v min(p, q): how often verification will accept each
/// draft. See <see cref="ExpectedAcceptanceKernel"/>.
/// </summary>
[SpeculativeKernel(SpeculativeKind.ExpectedAcceptance)]
public static partial class ExpectedAcceptance;

/// <summary>
/// Multi-draft verification by recursive rejection sampling (RSD) with per-request keys: target and draft probabilities
/// [B, V] and k drafts [B, k] drawn from q without replacement, in drawing (Gumbel-top-k) order, give the accepted slot
/// [B] (−1: none) and the emitted token [B], which follows the target exactly. See <see cref="MultiDraftVerifier"/>.
/// </summary>
[SpeculativeKernel(SpeculativeKind.RecursiveRejection, PerRowKeys = true)]
public static partial class RecursiveRejectionVerify;

/// <summary>
/// Multi-draft verification by K-SEQ (SpecTr) with per-request keys: k i.i.d. drafts [B, k] from q, ρ by a root search;
/// acceptance 1 − (1 − β(ρ))^k. See <see cref="MultiDraftVerifier"/>.
/// </summary>
[SpeculativeKernel(SpeculativeKind.KSeq, PerRowKeys = true)]
public static partial class KSeqVerify;

/// <summary>
/// Token-tree verification (RSD per node) with per-request keys: parents and tokens [B, N], target and draft probabilities
/// [B, N, V] give the accepted depth [B], path [B, N] and emitted tokens [B, N]. See <see cref="TreeVerifier"/>.
/// </summary>
[SpeculativeKernel(SpeculativeKind.Tree, PerRowKeys = true)]
public static partial class TreeVerify;
