namespace Kernels;

/// <summary>
/// Categorical sampling with a scalar temperature and one key per launch: tokens [rows, samples] ~ softmax(x / T) per
/// row (row r draws from stream <c>key.Stream + r</c>). Exact inverse-CDF; see <see cref="CategoricalSampler"/>.
/// </summary>
[SamplerKernel(SamplerKind.Categorical, Temperature = TemperatureMode.Scalar)]
public static partial class CategoricalSample;

/// <summary>
/// Per-request categorical sampling for batched decoding: each row carries its own temperature and its own
/// <see cref="RngKey"/> (so a request draws the same tokens whatever its row), and the log-probability of each drawn
/// token is written beside it.
/// </summary>
[SamplerKernel(SamplerKind.Categorical, Temperature = TemperatureMode.PerRow, PerRowKeys = true, LogProbabilities = true)]
public static partial class CategoricalSamplePerRequest;

/// <summary>
/// Gumbel-top-k with a scalar temperature: k distinct indices per row, drawn without replacement from softmax(x / T),
/// in order, with their perturbed keys (the draft-tree expansion of Recursive Speculative Decoding). k = 1 is Gumbel-max.
/// </summary>
[SamplerKernel(SamplerKind.GumbelTopK, Temperature = TemperatureMode.Scalar)]
public static partial class GumbelTopK;

/// <summary>Gumbel-softmax, soft: y = softmax((scale·x + g)/τ) per row.</summary>
[SamplerKernel(SamplerKind.GumbelSoftmax, Temperature = TemperatureMode.Scalar)]
public static partial class GumbelSoftmax;

/// <summary>Gumbel-softmax, hard: the one-hot of argmax(scale·x + g), an exact sample of softmax(scale·x).</summary>
[SamplerKernel(SamplerKind.GumbelSoftmax, Temperature = TemperatureMode.Scalar, Mode = GumbelSoftmaxMode.Hard)]
public static partial class GumbelSoftmaxHard;

/// <summary>
/// Gumbel-softmax, straight-through: the one-hot forward value and the soft sample beside it; the backward pass
/// (<see cref="GumbelSoftmaxBackward"/>) differentiates the soft sample.
/// </summary>
[SamplerKernel(SamplerKind.GumbelSoftmax, Temperature = TemperatureMode.Scalar, Mode = GumbelSoftmaxMode.StraightThrough)]
public static partial class GumbelSoftmaxStraightThrough;

/// <summary>
/// The library's general decode sampler for batched serving: per-request temperature, top-k, top-p, min-p and
/// <see cref="RngKey"/>, one token per row and a per-row <see cref="SampleStatus"/>, without sorting the vocabulary.
/// A stage is switched off per row by its neutral value (k = 0, p = 1, min-p = 0). See <see cref="DecodeSampler"/>.
/// </summary>
[SamplerKernel(SamplerKind.Decode, Temperature = TemperatureMode.PerRow, PerRowKeys = true, TopK = true, TopP = true, MinP = true)]
public static partial class DecodeSample;

/// <summary>
/// <see cref="DecodeSample"/> for continuous batching: each request also brings its own RNG offset (its step counter),
/// added to the launch offset, so a request's tokens depend only on its key, its step and its logits — not on the batch
/// it shares or on how many launches ran before it joined.
/// </summary>
[SamplerKernel(SamplerKind.Decode, Temperature = TemperatureMode.PerRow, PerRowKeys = true, PerRowOffsets = true, TopK = true, TopP = true, MinP = true)]
public static partial class ServingDecodeSample;

/// <summary>
/// Top-H decoding for batched serving: per-request temperature, α and <see cref="RngKey"/>, n per launch (default 100),
/// one token per row and a per-row <see cref="SampleStatus"/>. See <see cref="AdaptiveSampler"/>.
/// </summary>
[SamplerKernel(SamplerKind.TopH, Temperature = TemperatureMode.PerRow, PerRowKeys = true)]
public static partial class TopHSample;

/// <summary>
/// <see cref="TopHSample"/> with the paper's normalised rule H(q) ≤ α·H(p) (<see cref="TopHMode.Normalized"/>): the
/// entropy of the renormalised kept prefix against the entropy of the whole row's distribution.
/// </summary>
[SamplerKernel(SamplerKind.TopH, TopHMode = TopHMode.Normalized, Temperature = TemperatureMode.PerRow, PerRowKeys = true)]
public static partial class TopHNormalizedSample;

/// <summary>
/// Mirostat decoding for batched serving: per-request temperature, τ, η, <see cref="RngKey"/> and state μ (read and
/// updated by the kernel; start at 2τ), one token per row and a per-row <see cref="SampleStatus"/>. See
/// <see cref="AdaptiveSampler"/>.
/// </summary>
[SamplerKernel(SamplerKind.Mirostat, Temperature = TemperatureMode.PerRow, PerRowKeys = true)]
public static partial class MirostatSample;

/// <summary>
/// Top-k selection: the k (≤ 1024) largest logits per row and their columns, value descending and ties to the lowest
/// column, without sorting the row. See <see cref="TopKSelector"/>.
/// </summary>
[SamplerKernel(SamplerKind.TopK)]
public static partial class TopK;

/// <summary>
/// <see cref="DecodeSample"/> from probabilities (non-negative, any scale, e.g. a softmax kernel's output) instead of
/// logits: per-request top-k, top-p, min-p and key, one token and a status per row.
/// </summary>
[SamplerKernel(SamplerKind.Decode, Probabilities = true, PerRowKeys = true, TopK = true, TopP = true, MinP = true)]
public static partial class DecodeSampleFromProbabilities;

/// <summary>
/// The truncated distribution of each row of logits under per-request temperature, top-k, top-p and min-p:
/// renormalised probabilities (0 outside the kept set, the set <see cref="DecodeSample"/> draws from) and a per-row
/// <see cref="SampleStatus"/>. See <see cref="TruncationKernel"/>.
/// </summary>
[SamplerKernel(SamplerKind.Truncate, Temperature = TemperatureMode.PerRow, TopK = true, TopP = true, MinP = true)]
public static partial class TruncatedProbabilities;

/// <summary>
/// Renormalised probabilities from probabilities (non-negative, any scale) under per-request top-k, top-p and min-p:
/// FlashInfer's top-k/top-p renormalisation in one kernel. See <see cref="TruncationKernel"/>.
/// </summary>
[SamplerKernel(SamplerKind.Truncate, Probabilities = true, TopK = true, TopP = true, MinP = true)]
public static partial class RenormalizeProbabilities;

/// <summary>
/// The logits over per-request temperature T, with −inf outside the kept set of per-request top-k, top-p and min-p:
/// x/T inside, so a softmax of the output is <see cref="TruncatedProbabilities"/>. See <see cref="TruncationKernel"/>.
/// </summary>
[SamplerKernel(SamplerKind.Truncate, Output = TruncationOutput.Masked, Temperature = TemperatureMode.PerRow, TopK = true, TopP = true, MinP = true)]
public static partial class MaskLogits;
