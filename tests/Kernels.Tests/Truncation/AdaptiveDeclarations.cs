namespace Kernels.Tests.Truncation;

/// <summary>
/// A user's Top-H sampler: scalar temperature, one launch key (row r uses stream Stream + r) and a fused column penalty
/// (exactly rounded operations only).
/// </summary>
[SamplerKernel(SamplerKind.TopH, Temperature = TemperatureMode.Scalar, Transform = nameof(Penalise))]
public static partial class PenalisedTopH
{
    public const int PenalisedColumns = 3;

    public static float Penalise(float x, int column) => column < PenalisedColumns ? x - 1.5f : x;
}
