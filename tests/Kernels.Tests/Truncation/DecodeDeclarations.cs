namespace Kernels.Tests.Truncation;

/// <summary>
/// A user's decode sampler: scalar temperature and one launch key, a fused column penalty (a repetition penalty on the
/// first columns, exactly rounded operations only), top-k and top-p; no min-p.
/// </summary>
[SamplerKernel(SamplerKind.Decode, Temperature = TemperatureMode.Scalar, TopK = true, TopP = true, Transform = nameof(Penalise))]
public static partial class PenalisedTopKTopP
{
    public const int PenalisedColumns = 4;

    public static float Penalise(float x, int column) => column < PenalisedColumns ? x - 2f : x;
}

/// <summary>
/// A per-request repetition penalty (CTRL / Hugging Face form) fused into the decode sampler: the context holds how often
/// the request already produced each token, the parameter the request's penalty θ.
/// </summary>
[SamplerKernel(SamplerKind.Decode, Temperature = TemperatureMode.PerRow, PerRowKeys = true, TopK = true, TopP = true, Transform = nameof(Penalise))]
public static partial class RepetitionPenaltySampler
{
    public static float Penalise(float x, int column, float count, float penalty) =>
        count > 0f ? (x > 0f ? x / penalty : x * penalty) : x;
}

/// <summary>The same penalty in a truncation kernel: renormalised probabilities of the penalised logits under min-p.</summary>
[SamplerKernel(SamplerKind.Truncate, Temperature = TemperatureMode.PerRow, MinP = true, Transform = nameof(Penalise))]
public static partial class RepetitionPenaltyTruncation
{
    public static float Penalise(float x, int column, float count, float penalty) => RepetitionPenaltySampler.Penalise(x, column, count, penalty);
}
