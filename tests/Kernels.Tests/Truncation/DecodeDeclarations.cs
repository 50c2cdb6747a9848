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
