namespace Kernels;

/// <summary>
/// Chain verification for batched speculative decoding with per-request keys: target probabilities [B, L+1, V], draft
/// probabilities [B, L, V] and drafted tokens [B, L] give the accepted count [B] and the emitted tokens [B, L+1] (padded
/// with −1), which follow the target exactly. Each row's <see cref="RngKey"/> fixes its decisions on every backend,
/// whatever its row in the batch. See <see cref="ChainVerifier"/>.
/// </summary>
[SpeculativeKernel(SpeculativeKind.Chain, PerRowKeys = true)]
public static partial class ChainVerify;

/// <summary>Chain verification with one key per launch (row b uses stream <c>Stream + b</c>). See <see cref="ChainVerifier"/>.</summary>
[SpeculativeKernel(SpeculativeKind.Chain)]
public static partial class ChainVerifyBatch;

/// <summary>
/// Expected acceptance per position of a chain, β[b, k] = Σ_v min(p, q): how often verification will accept each
/// draft. See <see cref="ExpectedAcceptanceKernel"/>.
/// </summary>
[SpeculativeKernel(SpeculativeKind.ExpectedAcceptance)]
public static partial class ExpectedAcceptance;
