using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
    public static Vector256<float> ExpNonPositive(Vector256<float> x) => ExpCore(new Lanes8(x), new Lanes8(x)).Value;

    /// <summary><see cref="ExpNonPositive(Vector256{float})"/> on sixteen lanes (AVX-512).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ExpNonPositive(Vector512<float> x) => ExpCore(new Lanes16(x), new Lanes16(x)).Value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpCore(Vector256<float> x, Vector256<float> original) => ExpCore(new Lanes8(x), new Lanes8(original)).Value;

    /// <summary>
    /// The polynomial and exponent scaling, written once for every vector width, for x ≤ <see cref="MaxArgument"/>;
    /// lanes of <paramref name="original"/> below the underflow bound give 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T ExpCore<T>(T x, T original) where T : struct, ILanes<T>
    {
        var clamped = T.Max(x, T.Create(MinArgument));
        var n = T.Round(T.Multiply(clamped, T.Create(Log2E)));
        var r = T.FusedMultiplyAdd(n, T.Create(-Ln2Hi), clamped);
        r = T.FusedMultiplyAdd(n, T.Create(-Ln2Lo), r);
        var p = T.Create(1.9875691500E-4f);
        p = T.FusedMultiplyAdd(p, r, T.Create(1.3981999507E-3f));
        p = T.FusedMultiplyAdd(p, r, T.Create(8.3334519073E-3f));
        p = T.FusedMultiplyAdd(p, r, T.Create(4.1665795894E-2f));
        p = T.FusedMultiplyAdd(p, r, T.Create(1.6666665459E-1f));
        p = T.FusedMultiplyAdd(p, r, T.Create(5.0000001201E-1f));
        p = T.Add(T.FusedMultiplyAdd(p, T.Multiply(r, r), r), T.Create(1f));
        // 2^n by adding n to the exponent field; n stays within [-125, 128] after the clamp.
        return T.ZeroWhereBelow(T.ScaleByPowerOfTwo(p, n), original, T.Create(MinArgument));
    }

    /// <summary>Natural logarithm per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Log(Vector256<float> x) => Vector256.Log(x);

    /// <summary>
    /// tanh per lane: a [13/6] rational approximation on [−7.905, 7.905] (beyond, tanh rounds to ±1 in float), max
    /// relative error 2.8e-7 over the float range (about 5e-7 with the refined reciprocal). Eleven FMAs and a
    /// reciprocal: cheap enough to fuse before a softmax. NaN gives NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x)
    {
        var bound = Vector256.Create(7.90531110763549805f);
        x = Vector256.Min(Vector256.Max(x, -bound), bound);
        var x2 = x * x;
        var p = Vector256.Create(-2.76076847742355e-16f);
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(2.00018790482477e-13f));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(-8.60467152213735e-11f));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(5.12229709037114e-08f));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(1.48572235717979e-05f));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(6.37261928875436e-04f));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(4.89352455891786e-03f));
        var q = Vector256.Create(1.19825839466702e-06f);
        q = Vector256.FusedMultiplyAdd(q, x2, Vector256.Create(1.18534705686654e-04f));
        q = Vector256.FusedMultiplyAdd(q, x2, Vector256.Create(2.26843463243900e-03f));
        q = Vector256.FusedMultiplyAdd(q, x2, Vector256.Create(4.89352518554385e-03f));
        return p * x * Reciprocal(q);
    }

    /// <summary>
    /// 1/d to about 2^-23 relative: the hardware estimate refined by one Newton step where AVX has it (a division blocks
    /// the divider for several cycles per vector, which a fused transform would pay on every element), else 1/d.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Reciprocal(Vector256<float> d)
    {
        if (!Avx.IsSupported)
            return Vector256<float>.One / d;
        var r = Avx.Reciprocal(d);
        return r * Vector256.FusedMultiplyAdd(-d, r, Vector256.Create(2f));
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
