namespace Kernels;

/// <summary>Row softmax over [rows, cols] with a scalar temperature: p = softmax(x / T).</summary>
[SoftmaxKernel(SoftmaxOutput.Probabilities, Temperature = TemperatureMode.Scalar)]
public static partial class Softmax;

/// <summary>Row log-softmax over [rows, cols] with a scalar temperature: log softmax(x / T).</summary>
[SoftmaxKernel(SoftmaxOutput.LogProbabilities, Temperature = TemperatureMode.Scalar)]
public static partial class LogSoftmax;

/// <summary>Row log-sum-exp with a scalar temperature: [rows, cols] → [rows], log Σ exp(x / T).</summary>
[SoftmaxKernel(SoftmaxOutput.LogSumExp, Temperature = TemperatureMode.Scalar)]
public static partial class LogSumExp;

/// <summary>
/// Decode-time softmax: per-row (per-request) temperatures and an additive mask (−inf excludes a token):
/// p = softmax(x / T_row + mask).
/// </summary>
[SoftmaxKernel(SoftmaxOutput.Probabilities, Temperature = TemperatureMode.PerRow, Mask = true)]
public static partial class MaskedSoftmax;

/// <summary>StableMax (s(z) = z + 1 for z ≥ 0, 1/(1 − z) below) normalised per row: a softmax replacement that cannot collapse.</summary>
[SoftmaxKernel(SoftmaxOutput.Probabilities, Activation = SoftmaxActivation.StableMax, Temperature = TemperatureMode.Scalar)]
public static partial class StableMax;

/// <summary>Log-StableMax per row, for the StableMax cross-entropy.</summary>
[SoftmaxKernel(SoftmaxOutput.LogProbabilities, Activation = SoftmaxActivation.StableMax, Temperature = TemperatureMode.Scalar)]
public static partial class LogStableMax;
