// This file is linked into the generator (generators/Kernels.Generators): keep it free of dependencies.
namespace Kernels;

/// <summary>Which kernel a <c>[SpeculativeKernel]</c> declaration generates.</summary>
public enum SpeculativeKind
{
    /// <summary>
    /// Single-draft chain verification: target probabilities [B, L+1, V], draft probabilities [B, L, V] and drafted tokens
    /// [B, L] give the accepted count [B] and the emitted tokens [B, L+1] (accepted drafts, then the correction or bonus
    /// token, then −1), so that the emitted tokens follow the target distributions exactly.
    /// </summary>
    Chain = 0,

    /// <summary>
    /// The acceptance diagnostic of a chain: β[b, k] = Σ_v min(p[b, k, v], q[b, k, v]) = 1 − TV(p, q), the probability that
    /// position k's draft is accepted given that it is reached. Draws no random numbers.
    /// </summary>
    ExpectedAcceptance = 1,

    /// <summary>
    /// Multi-draft verification by recursive rejection sampling (RSD): target and draft probabilities [B, V] and k drafts
    /// [B, k] drawn from q without replacement, in their drawing (Gumbel-top-k) order, give the accepted slot [B] (−1 when
    /// all are rejected) and the emitted token [B], which follows the target exactly.
    /// </summary>
    RecursiveRejection = 2,

    /// <summary>
    /// Multi-draft verification by K-SEQ (SpecTr) over k i.i.d. drafts [B, k] from q, with ρ found by a root search on c(ρ) = ρ: same
    /// shapes and outputs as <see cref="RecursiveRejection"/>; acceptance 1 − (1 − β(ρ))^k.
    /// </summary>
    KSeq = 3,

    /// <summary>
    /// Token-tree verification (RSD per node): parents [B, N] and tokens [B, N] of a draft tree (node 0 the root), target
    /// and draft probabilities [B, N, V] per node, give the accepted depth [B], the accepted path [B, N] and the emitted
    /// tokens [B, N] (−1 padded).
    /// </summary>
    Tree = 4,
}
