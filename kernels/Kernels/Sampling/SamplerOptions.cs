// This file is linked into the generator (generators/Kernels.Generators): keep it free of dependencies.
namespace Kernels;

/// <summary>Which sampler a <c>[SamplerKernel]</c> declaration generates.</summary>
public enum SamplerKind
{
    /// <summary>
    /// Categorical sampling from logits, one or several independent draws per row: token (and optionally its
    /// log-probability) per draw. Exact inverse-CDF with one 52-bit uniform per draw and a float64 running sum.
    /// </summary>
    Categorical = 0,

    /// <summary>Gumbel-top-k: k distinct indices per row drawn without replacement, in order, with their perturbed keys.</summary>
    GumbelTopK = 1,

    /// <summary>Gumbel-softmax forward: softmax((κ·z + g)/τ), its hard one-hot, or straight-through (both).</summary>
    GumbelSoftmax = 2,

    /// <summary>
    /// Decode sampling: one token per row from the kept set of the stages the declaration names (top-k, min-p, top-p,
    /// with per-row parameters), by pivot rejection without sorting, with a per-row status (SampleStatus).
    /// </summary>
    Decode = 3,

    /// <summary>
    /// Top-k selection (deterministic, no randomness): the k largest transformed logits per row and their columns, in
    /// the order value descending, column ascending; k up to 1024, without sorting the row.
    /// </summary>
    TopK = 4,

    /// <summary>
    /// Top-H: one token per row from the longest prefix (in the order) of the top n columns whose partial entropy stays
    /// within α times the top-n entropy (α per row, n per launch), with a per-row status (SampleStatus).
    /// </summary>
    TopH = 5,

    /// <summary>
    /// Mirostat (v1): adaptive top-k whose k follows from the row's Zipf exponent and the per-row state μ, which the
    /// kernel updates toward the target surprise τ (τ, η and μ per row), with a per-row status (SampleStatus).
    /// </summary>
    Mirostat = 6,

    /// <summary>
    /// Truncation (deterministic, no randomness): writes each row's truncated distribution under the stages the
    /// declaration names (top-k, min-p, top-p, per-row parameters) — renormalised probabilities, or the values masked
    /// outside the kept set (<see cref="TruncationOutput"/>) — with a per-row status (SampleStatus).
    /// </summary>
    Truncate = 7,
}

/// <summary>Which stopping rule a <see cref="SamplerKind.TopH"/> sampler applies.</summary>
public enum TopHMode
{
    /// <summary>
    /// The reference code's rule: the longest prefix of the top n whose partial entropy −Σ p log2 p stays within α
    /// times the top-n partial entropy (unnormalised sums over the top n).
    /// </summary>
    Reference = 0,

    /// <summary>
    /// The paper's and README's rule H(q) ≤ α·H(p): the greedy prefix (at most n columns) whose renormalised
    /// distribution q has an entropy within α times the entropy of the whole row's distribution p.
    /// </summary>
    Normalized = 1,
}

/// <summary>What a <see cref="SamplerKind.Truncate"/> kernel writes per element.</summary>
public enum TruncationOutput
{
    /// <summary>The renormalised probabilities: p_i / Σ_kept p inside the kept set, 0 outside.</summary>
    Probabilities = 0,

    /// <summary>
    /// The masked values: Transform(x)/T inside the kept set (Transform(x) from probabilities), −inf outside (0 from
    /// probabilities).
    /// </summary>
    Masked = 1,
}

/// <summary>What a Gumbel-softmax kernel writes.</summary>
public enum GumbelSoftmaxMode
{
    /// <summary>The relaxed sample y = softmax((κ·z + g)/τ).</summary>
    Soft = 0,

    /// <summary>The one-hot of argmax(κ·z + g) (an exact categorical sample of softmax(κ·z)).</summary>
    Hard = 1,

    /// <summary>The one-hot forward value and the soft y beside it, for the straight-through backward pass.</summary>
    StraightThrough = 2,
}
