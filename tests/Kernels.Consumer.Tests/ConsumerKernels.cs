using System;
using Kernels;

namespace Consumer;

/// <summary>A user's soft-capped softmax with temperature, declared against the package.</summary>
[SoftmaxKernel(SoftmaxOutput.Probabilities, Temperature = TemperatureMode.Scalar, Transform = nameof(SoftCap))]
public static partial class CappedSoftmax
{
    public static float SoftCap(float x) => 20f * MathF.Tanh(x / 20f);
}

/// <summary>A user's decode-time log-softmax: per-request temperatures, a vocabulary mask and a token penalty.</summary>
[SoftmaxKernel(SoftmaxOutput.LogProbabilities, Temperature = TemperatureMode.PerRow, Mask = true, Transform = nameof(Penalty))]
public static partial class DecodeLogSoftmax
{
    public const int BannedBelow = 3;

    public static float Penalty(float x, int column) => column < BannedBelow ? x - 4f : x;
}

/// <summary>A user's decode sampler: soft-capped logits, per-request temperatures and seeds, log-probabilities out.</summary>
[SamplerKernel(SamplerKind.Categorical, Temperature = TemperatureMode.PerRow, PerRowKeys = true, LogProbabilities = true, Transform = nameof(SoftCap))]
public static partial class DecodeSampler
{
    public static float SoftCap(float x) => x > 30f ? 30f : x;
}

/// <summary>
/// A user's truncated decode sampler: a repetition-style penalty on recent tokens (column-dependent), per-request
/// temperature, top-k and top-p, per-request seeds, a status per row.
/// </summary>
[SamplerKernel(SamplerKind.Decode, Temperature = TemperatureMode.PerRow, PerRowKeys = true, TopK = true, TopP = true, Transform = nameof(Penalise))]
public static partial class TopKTopPSampler
{
    public const int Recent = 5;

    public static float Penalise(float x, int column) => column < Recent ? x - 3f : x;
}
