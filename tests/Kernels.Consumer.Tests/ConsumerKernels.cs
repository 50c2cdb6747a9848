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
