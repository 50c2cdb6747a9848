namespace Kernels;

/// <summary>What a truncated (decode) sampler did with one row, written to its optional status buffer.</summary>
public enum SampleStatus
{
    /// <summary>A token was drawn by pivot rejection within <see cref="TruncationRules.MaxRounds"/> rounds.</summary>
    Sampled = 0,

    /// <summary>
    /// A token was drawn after <see cref="TruncationRules.MaxRounds"/> rejections, from the exact top-p cutoff (the same
    /// law; only slower).
    /// </summary>
    Fallback = 1,

    /// <summary>The row holds NaN or +inf after the transform and temperature: token −1.</summary>
    InvalidData = 2,

    /// <summary>Every logit of the row is −inf (nothing to draw): token −1.</summary>
    Empty = 3,

    /// <summary>
    /// The row's temperature, top-p or min-p (Top-H: α; Mirostat: τ, η or μ) is outside its domain: token −1.
    /// </summary>
    InvalidParameter = 4,
}
