using System.Runtime.Intrinsics;

namespace Kernels;

/// <summary>Element rules shared by both softmax kernels, so that they compute the same function.</summary>
public static class SoftmaxMath
{
    /// <summary>1/T for a per-row temperature; NaN (which turns the row into NaN) unless T is finite and positive and 1/T is finite.</summary>
    public static float InverseTemperature(float temperature) =>
        temperature > 0f && temperature < float.PositiveInfinity && 1f / temperature < float.PositiveInfinity ? 1f / temperature : float.NaN;

    /// <summary>StableMax's map: z + 1 for z ≥ 0, 1 / (1 − z) for z &lt; 0 (so −inf maps to 0).</summary>
    public static float Stable(float z) => z >= 0f ? z + 1f : 1f / (1f - z);

    /// <summary>StableMax's map on eight lanes.</summary>
    public static Vector256<float> Stable(Vector256<float> z)
    {
        var one = Vector256<float>.One;
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(z, Vector256<float>.Zero), z + one, one / (one - z));
    }

    /// <summary>Whether a z value poisons its row (NaN or +inf).</summary>
    public static bool Poisons(float z) => float.IsNaN(z) || z == float.PositiveInfinity;
}
