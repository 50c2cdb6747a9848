using System;

namespace Kernels;

/// <summary>The scalar formulas of linear attention, shared by the CPU and ILGPU kernels.</summary>
public static class LinearAttentionMath
{
    /// <summary>elu(x) + 1: x + 1 for x &gt; 0, eˣ otherwise (NaN stays NaN).</summary>
    public static float EluPlusOne(float x) => x > 0f ? x + 1f : MathF.Exp(x);

    /// <summary>The FAVOR+ feature exp(ω·x̃ − ‖x̃‖²/2) from the dot product and half the squared norm.</summary>
    public static float RandomFeature(float dot, float halfNormSquared) => MathF.Exp(dot - halfNormSquared);

    /// <summary>
    /// num/den: 0 where the denominator is 0 (no key mass: an empty state, or every feature underflowed), NaN where it
    /// is NaN (checked explicitly: PoCL folds ordered comparisons with NaN).
    /// </summary>
    public static float Ratio(float numerator, float denominator) =>
        float.IsNaN(denominator) ? float.NaN : denominator == 0f ? 0f : numerator / denominator;

    /// <summary>Divides <paramref name="count"/> numerators at <paramref name="row"/> by <paramref name="denominator"/> (see <see cref="Ratio"/>).</summary>
    internal static unsafe void Normalise(float* row, int count, float denominator)
    {
        for (int c = 0; c < count; c++)
            row[c] = Ratio(row[c], denominator);
    }
}
