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
}
