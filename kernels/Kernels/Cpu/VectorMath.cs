using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kernels.Cpu;

/// <summary>
/// Eight-lane float math for the CPU kernels and for user transforms translated by the generator. Exp is a Cody–Waite
/// reduction with a degree-6 polynomial (Cephes expf, about 1 ulp): cheaper than <see cref="Vector256.Exp(Vector256{float})"/>,
/// which matters because softmax is compute-bound on two cores. Results below 2^-126 flush to 0, as on GPUs.
/// </summary>
public static class VectorMath
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;
    private const float MaxArgument = 88.72283f;
    // Below ln(2^-125) the exponent trick would leave the normal range: flush to 0 there.
    private const float MinArgument = -86.64f;

    /// <summary>e^x per lane; −inf gives 0, NaN gives NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        var result = ExpCore(Vector256.Min(x, Vector256.Create(MaxArgument)), x);
        result = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(MaxArgument)), Vector256.Create(float.PositiveInfinity), result);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    /// <summary>e^x for x ≤ 0 and not NaN (softmax after subtracting the max): skips the overflow and NaN cases.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExpNonPositive(Vector256<float> x) => ExpCore(x, x);

    /// <summary>The polynomial and exponent scaling, for x ≤ <see cref="MaxArgument"/>; lanes of <paramref name="original"/> below the underflow bound give 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpCore(Vector256<float> x, Vector256<float> original)
    {
        var clamped = Vector256.Max(x, Vector256.Create(MinArgument));
        var n = Vector256.Round(clamped * Vector256.Create(Log2E));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi), clamped);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo), r);
        var p = Vector256.Create(1.9875691500E-4f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.3981999507E-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(8.3334519073E-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(4.1665795894E-2f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.6666665459E-1f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(5.0000001201E-1f));
        p = Vector256.FusedMultiplyAdd(p, r * r, r) + Vector256<float>.One;
        // 2^n by adding n to the exponent field; n stays within [-125, 128] after the clamp.
        var scaled = (p.AsInt32() + (Vector256.ConvertToInt32Native(n) << 23)).AsSingle();
        return Vector256.AndNot(scaled, Vector256.LessThan(original, Vector256.Create(MinArgument)));
    }

    /// <summary>Natural logarithm per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Log(Vector256<float> x) => Vector256.Log(x);

    /// <summary>tanh per lane: a polynomial for |x| &lt; 0.625 (no cancellation near 0), 1 − 2/(e^{2|x|} + 1) beyond.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x)
    {
        var a = Vector256.Abs(x);
        var z = x * x;
        var p = Vector256.Create(-5.70498872745E-3f);
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(2.06390887954E-2f));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(-5.37397155531E-2f));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(1.33314422036E-1f));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(-3.33332819422E-1f));
        var small = Vector256.FusedMultiplyAdd(p * z, x, x);
        var two = Vector256.Create(2f);
        var large = Vector256<float>.One - two / (Exp(two * a) + Vector256<float>.One);
        large = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), -large, large);
        return Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(0.625f)), small, large);
    }

    /// <summary>Lane-wise maximum, ignoring NaN ordering (callers detect NaN separately).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HorizontalMax(Vector256<float> v)
    {
        var m = Vector128.MaxNative(v.GetLower(), v.GetUpper());
        m = Vector128.MaxNative(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        m = Vector128.MaxNative(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2)));
        return m.ToScalar();
    }

    /// <summary>Sum of the lanes in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double HorizontalSum(Vector256<float> v)
    {
        var (lo, hi) = Vector256.Widen(v);
        return Vector256.Sum(lo + hi);
    }
}
