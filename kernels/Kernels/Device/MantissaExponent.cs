using System;
using ILGPU;

namespace Kernels.Device;

/// <summary>
/// The (mantissa, exponent) accumulator of "The Two-Pass Softmax Algorithm" (Dukhan and Ablavatski): e^z is held as
/// m·2^e with e = round(z·log2 e) and m = e^(z − e·ln 2) in [2^-1/2, 2^1/2], so sums of exponentials of any logits never
/// overflow and need no max pass. Empty (no mass) is m = 0. Valid for |z| below about 1e7 (e stays an exact float).
/// </summary>
public readonly struct MantissaExponent : IPairReduction
{
    private const float Log2E = 1.44269504088896341f;
    // ln 2 split so that e·Ln2Hi is exact for |e| < 2^15 (Cody and Waite).
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;

    /// <summary>The empty sum.</summary>
    public static FloatPair Empty => new(0f, float.NegativeInfinity);

    /// <summary>e^z as (m, e); −inf gives <see cref="Empty"/>.</summary>
    public static FloatPair FromLogit(float z)
    {
        if (z == float.NegativeInfinity)
            return Empty;
        float e = MathF.Floor(z * Log2E + 0.5f);
        return new FloatPair(MathF.Exp(ReducedArgument(z, e)), e);
    }

    /// <summary>Adds two accumulators.</summary>
    public FloatPair Combine(FloatPair x, FloatPair y)
    {
        if (x.A == 0f) return y;
        if (y.A == 0f) return x;
        float e = MathF.Max(x.B, y.B);
        return new FloatPair(x.A * Pow2(x.B - e) + y.A * Pow2(y.B - e), e);
    }

    /// <summary>e^z / Σ for a sum <paramref name="sum"/> that includes e^z.</summary>
    public static float Ratio(float z, FloatPair sum)
    {
        var term = FromLogit(z);
        return term.A / sum.A * Pow2(term.B - sum.B);
    }

    /// <summary>z − ln Σ, computed without forming e·ln 2 in one rounding (keeps log-probabilities near 0 exact).</summary>
    public static float LogRatio(float z, FloatPair sum) =>
        (z - sum.B * Ln2Hi) - (sum.B * Ln2Lo + MathF.Log(sum.A));

    /// <summary>ln Σ.</summary>
    public static float Log(FloatPair sum) => sum.A == 0f ? float.NegativeInfinity : MathF.Log(sum.A) + sum.B * Ln2Hi + sum.B * Ln2Lo;

    private static float ReducedArgument(float z, float e) => (z - e * Ln2Hi) - e * Ln2Lo;

    /// <summary>2^d for an integer-valued d ≤ 0, built from exponent bits; d below −126 flushes to 0 (as GPUs do).</summary>
    private static float Pow2(float d) => d < -126f ? 0f : Interop.IntAsFloat((uint)((int)d + 127) << 23);
}
