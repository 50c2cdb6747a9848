using System;

namespace Kernels.Benchmarks;

/// <summary>
/// Softmax over soft-capped logits (Gemma-style: 30·tanh(x/30)), declared here so that the benchmark measures what a
/// user-declared fused transform costs over the plain library softmax.
/// </summary>
[SoftmaxKernel(SoftmaxOutput.Probabilities, Temperature = TemperatureMode.Scalar, Transform = nameof(SoftCap))]
public static partial class SoftCappedSoftmax
{
    static float SoftCap(float x) => 30f * MathF.Tanh(x / 30f);

    /// <summary>The transform in double precision, for the reference.</summary>
    internal static double SoftCapReference(double x) => 30.0 * Math.Tanh(x / 30.0);
}
