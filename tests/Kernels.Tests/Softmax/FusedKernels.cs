using System;

namespace Kernels.Tests.Softmax;

/// <summary>Soft-capped logits (Gemma-style), vectorised on the CPU by the generator.</summary>
[SoftmaxKernel(SoftmaxOutput.Probabilities, Temperature = TemperatureMode.Scalar, Transform = nameof(SoftCap))]
public static partial class SoftCappedSoftmax
{
    public static float SoftCap(float x) => 30f * MathF.Tanh(x / 30f);
}

/// <summary>A column-dependent penalty (the first columns are discouraged) with a clamp, in a block body with a local.</summary>
[SoftmaxKernel(SoftmaxOutput.LogProbabilities, Temperature = TemperatureMode.PerRow, Mask = true, Transform = nameof(Penalise))]
public static partial class PenalisedLogSoftmax
{
    public const int PenalisedColumns = 5;

    public static float Penalise(float x, int column)
    {
        // A comparison, not MathF.Max: Max's NaN rule differs between .NET (NaN wins) and GPU fmax (NaN loses).
        float clamped = x > -20f ? x : -20f;
        return column < PenalisedColumns ? clamped - 1.5f : clamped;
    }
}

/// <summary>A transform outside the vectorisable subset (it calls a helper): the CPU kernel applies it lane by lane (KRN1005).</summary>
[SoftmaxKernel(SoftmaxOutput.Probabilities, Transform = nameof(Squash))]
public static partial class SquashedSoftmax
{
    public static float Squash(float x) => Helper(x);

    private static float Helper(float x) => x / (1f + MathF.Abs(x));
}
