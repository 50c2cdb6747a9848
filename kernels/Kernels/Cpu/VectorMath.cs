using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kernels.Cpu;

/// <summary>
/// Float math at eight and sixteen lanes (each routine written once over <see cref="ILanes{T}"/>) for the CPU kernels
/// and for user transforms translated by the generator. Exp is a Cody–Waite
/// reduction with a degree-6 polynomial (Cephes expf, about 1 ulp): cheaper than <see cref="Vector256.Exp(Vector256{float})"/>,
/// which matters because softmax is compute-bound on two cores. Results below about 2^-125 (x below −86.64) flush to 0, as on GPUs.
/// </summary>
public static class VectorMath
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;
    private const float MaxArgument = 88.72283f;
    // Below ln(2^-125) the exponent trick would leave the normal range: flush to 0 there.
    private const float MinArgument = -86.64f;
    // 1.5·2^23 + 127: a float of that size has unit ulp, so x·log2 e + RoundingBias rounds x·log2 e to an integer n
    // and holds n + 127 in its low mantissa bits.
    private const float RoundingBias = 12583039f;

    /// <summary>e^x per lane; −inf gives 0, NaN gives NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x) => Exp(new Lanes8(x)).Value;

    /// <summary><see cref="Exp(Vector256{float})"/> on sixteen lanes (AVX-512).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x) => Exp(new Lanes16(x)).Value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Exp<T>(T x) where T : struct, ILanes<T>
    {
        var result = ExpCore(T.Min(x, T.Create(MaxArgument)), x);
        result = T.Select(T.GreaterThan(x, T.Create(MaxArgument)), T.Create(float.PositiveInfinity), result);
        return T.Select(T.IsNumber(x), result, x);
    }

    /// <summary>e^x for x ≤ 0 (softmax after subtracting the max): skips the overflow case; NaN gives NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExpNonPositive(Vector256<float> x) => ExpNonPositiveCore(new Lanes8(x)).Value;

    /// <summary><see cref="ExpNonPositive(Vector256{float})"/> on sixteen lanes (AVX-512).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ExpNonPositive(Vector512<float> x) => ExpNonPositiveCore(new Lanes16(x)).Value;

    /// <summary>
    /// The softmax exponential, the hottest loop of the family (compute-bound on two cores): the same reduction and
    /// polynomial as <see cref="ExpCore{T}"/>, but x ≤ 0 needs no clamp, and the rounding of n = round(x·log2 e) also
    /// yields 2^n — adding <see cref="RoundingBias"/> leaves n + 127 in the low mantissa bits, one shift from the
    /// exponent field. About a third fewer instructions; lanes below the underflow bound (−inf included) give 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T ExpNonPositiveCore<T>(T x) where T : struct, ILanes<T>
    {
        var t = T.FusedMultiplyAdd(x, T.Create(Log2E), T.Create(RoundingBias));
        var scale = T.LowBitsToExponent(t);
        var n = T.Add(t, T.Create(-RoundingBias));
        // e^x = 2^n·(1 + q).
        var q = ReducedExpMinusOne(x, n);
        return T.ZeroWhereBelow(T.FusedMultiplyAdd(q, scale, scale), x, T.Create(MinArgument));
    }

    /// <summary>
    /// The polynomial and exponent scaling, written once for every vector width, for x ≤ <see cref="MaxArgument"/>;
    /// lanes of <paramref name="original"/> below the underflow bound give 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T ExpCore<T>(T x, T original) where T : struct, ILanes<T>
    {
        var clamped = T.Max(x, T.Create(MinArgument));
        var n = T.Round(T.Multiply(clamped, T.Create(Log2E)));
        var p = T.Add(ReducedExpMinusOne(clamped, n), T.Create(1f));
        // 2^n by adding n to the exponent field; n stays within [-125, 128] after the clamp.
        return T.ZeroWhereBelow(T.ScaleByPowerOfTwo(p, n), original, T.Create(MinArgument));
    }

    /// <summary>
    /// e^r − 1 for r = x − n·ln 2 (n = round(x·log2 e)), shared by both exponentials: the reduction with ln 2 in two
    /// parts (Cody–Waite), then r + r²·p(r) with the Cephes expf polynomial on [−ln2/2, ln2/2].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T ReducedExpMinusOne<T>(T x, T n) where T : struct, ILanes<T>
    {
        var r = T.FusedMultiplyAdd(n, T.Create(-Ln2Hi), x);
        r = T.FusedMultiplyAdd(n, T.Create(-Ln2Lo), r);
        var p = T.Create(1.9875691500E-4f);
        p = T.FusedMultiplyAdd(p, r, T.Create(1.3981999507E-3f));
        p = T.FusedMultiplyAdd(p, r, T.Create(8.3334519073E-3f));
        p = T.FusedMultiplyAdd(p, r, T.Create(4.1665795894E-2f));
        p = T.FusedMultiplyAdd(p, r, T.Create(1.6666665459E-1f));
        p = T.FusedMultiplyAdd(p, r, T.Create(5.0000001201E-1f));
        return T.FusedMultiplyAdd(p, T.Multiply(r, r), r);
    }

    /// <summary>Natural logarithm per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Log(Vector256<float> x) => Vector256.Log(x);

    /// <summary>Natural logarithm on sixteen lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Log(Vector512<float> x) => Vector512.Log(x);

    /// <summary>
    /// tanh per lane: a [13/6] rational approximation on [−7.905, 7.905] (beyond, tanh rounds to ±1 in float), max
    /// relative error 2.8e-7 over the float range (about 5e-7 with the refined reciprocal). Eleven FMAs and a
    /// reciprocal: cheap enough to fuse before a softmax. NaN gives NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x) => Tanh(new Lanes8(x)).Value;

    /// <summary><see cref="Tanh(Vector256{float})"/> on sixteen lanes (AVX-512).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x) => Tanh(new Lanes16(x)).Value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Tanh<T>(T x) where T : struct, ILanes<T>
    {
        // The clamp is the x86 min/max (one instruction each, where the IEEE ones take three), which return their second
        // operand when either is NaN: with x second, a NaN passes through both, and the polynomials keep it NaN.
        var c = T.Min(T.Create(7.90531110763549805f), T.Max(T.Create(-7.90531110763549805f), x));
        var x2 = T.Multiply(c, c);
        var p = T.Create(-2.76076847742355e-16f);
        p = T.FusedMultiplyAdd(p, x2, T.Create(2.00018790482477e-13f));
        p = T.FusedMultiplyAdd(p, x2, T.Create(-8.60467152213735e-11f));
        p = T.FusedMultiplyAdd(p, x2, T.Create(5.12229709037114e-08f));
        p = T.FusedMultiplyAdd(p, x2, T.Create(1.48572235717979e-05f));
        p = T.FusedMultiplyAdd(p, x2, T.Create(6.37261928875436e-04f));
        p = T.FusedMultiplyAdd(p, x2, T.Create(4.89352455891786e-03f));
        var q = T.Create(1.19825839466702e-06f);
        q = T.FusedMultiplyAdd(q, x2, T.Create(1.18534705686654e-04f));
        q = T.FusedMultiplyAdd(q, x2, T.Create(2.26843463243900e-03f));
        q = T.FusedMultiplyAdd(q, x2, T.Create(4.89352518554385e-03f));
        return T.Multiply(T.Multiply(p, c), Reciprocal(q));
    }

    /// <summary>1/d to about 2^-23 relative: the estimate refined by one Newton step (a division would block the divider).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Reciprocal<T>(T d) where T : struct, ILanes<T>
    {
        var r = T.ReciprocalEstimate(d);
        return T.Multiply(r, T.NegatedMultiplyAdd(d, r, T.Create(2f)));
    }

    /// <summary>1/d to about 2^-23 relative: the hardware estimate refined by one Newton step where AVX has it, else 1/d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Reciprocal(Vector256<float> d) => Reciprocal(new Lanes8(d)).Value;

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
