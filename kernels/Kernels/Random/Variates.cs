using System;
using System.Numerics;
using ILGPU;

namespace Kernels;

/// <summary>
/// Uniform, exponential and Gumbel variates from random bits, usable in ILGPU kernels and CPU code.
/// </summary>
/// <remarks>
/// <para><b>Uniform</b> (<see cref="Uniform(ulong)"/>): the top 52 bits j give u = (j + ½)·2^-52, an open-interval
/// uniform: 2^52 equally likely values from 2^-53 to 1 − 2^-53, symmetric about ½, each exact in double (a 53rd bit
/// would need 54 significant bits at the top of the interval and could round to 1). Never 0, never 1.</para>
/// <para><b>Float64 construction</b>: E = −ln u ∈ [1.1e-16, 36.7] and G = −ln E ∈ [−3.60, 36.74]. Its upper tail, which
/// decides Gumbel-max samples, is capped at 36.74 (a float32 uniform caps it at 16.64 and under-samples rare tokens).</para>
/// <para><b>Float32 construction</b> (<see cref="ExponentialF32"/>, for devices without doubles): from 64 bits k, the
/// complement v = 1 − u ≈ k·2^-64 is formed near 0 directly as a float with 24 significant bits (integer operations), so
/// v reaches 2^-64; E = −log1p(−v) (polynomial, exact for tiny v) when v &lt; ¼, else E = −ln u with u formed the same
/// way from the complementary bits ~k. G = −ln E ∈ [−3.79, 44.36]. Relative error of E about 2^-22; all operations
/// are plain float arithmetic and <see cref="PortableMath"/>, so the bits are the same on every backend.</para>
/// </remarks>
public static class Variates
{
    private const double TwoPowMinus52 = 1.0 / 4503599627370496.0;
    private const double TwoPowMinus32 = 1.0 / 4294967296.0;

    /// <summary>The open-interval uniform from the top 52 bits of <paramref name="bits"/>.</summary>
    /// <remarks>
    /// Built from two 32-bit halves, hi·2^-32 + (lo + ½)·2^-52 (both terms and their sum exact): PoCL 3.1 miscompiles
    /// the direct 64-bit integer to double conversion in work-group-vectorised kernels (bit 51 was lost).
    /// </remarks>
    public static double Uniform(ulong bits)
    {
        uint hi = (uint)(bits >> 32);
        int lo = (int)((uint)bits >> 12);
        return (double)hi * TwoPowMinus32 + ((double)lo + 0.5) * TwoPowMinus52;
    }

    /// <summary>A standard exponential, −ln u, in double.</summary>
    public static double Exponential(ulong bits) => -Math.Log(Uniform(bits));

    /// <summary>A standard Gumbel, −ln(−ln u), in double.</summary>
    public static double Gumbel(ulong bits) => -Math.Log(Exponential(bits));

    /// <summary>
    /// (k | 1)·2^-64 as a float, truncated to 24 significant bits: integer operations only, exact exponent down to 2^-64.
    /// </summary>
    public static float Fraction64(ulong bits)
    {
        ulong k = bits | 1UL;
        int zeros = BitOperations.LeadingZeroCount(k);
        ulong normalised = k << zeros; // bit 63 set
        uint mantissa = (uint)(normalised >> 40) & 0x007FFFFFu;
        uint exponent = (uint)(126 - zeros); // value in [2^(-1-zeros), 2^-zeros)
        return Interop.IntAsFloat((exponent << 23) | mantissa);
    }

    /// <summary>A standard exponential in float, safe without doubles (see the remarks).</summary>
    public static float ExponentialF32(ulong bits)
    {
        if (bits < 0x4000000000000000UL)
            return -PortableMath.Log1pSmall(-Fraction64(bits)); // v < ¼: −log1p(−v)
        return -PortableMath.Log(Fraction64(~bits)); // u ≤ ¾, formed from the complementary bits
    }

    /// <summary>A standard Gumbel in float, safe without doubles: −ln(<see cref="ExponentialF32"/>).</summary>
    public static float GumbelF32(ulong bits) => -PortableMath.Log(ExponentialF32(bits));

    /// <summary>A standard Gumbel with the chosen construction, as a float.</summary>
    public static float Gumbel(ulong bits, VariatePrecision precision) =>
        precision == VariatePrecision.Float64 ? (float)Gumbel(bits) : GumbelF32(bits);

    /// <summary>A standard exponential with the chosen construction, as a float.</summary>
    public static float Exponential(ulong bits, VariatePrecision precision) =>
        precision == VariatePrecision.Float64 ? (float)Exponential(bits) : ExponentialF32(bits);
}
