using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using ILGPU;

namespace Kernels;

/// <summary>
/// Float functions written with plain IEEE operations (add, subtract, multiply, floor, bit casts; no fused multiply-add,
/// no division, no library transcendental), so that they give the same bits in ILGPU kernels on every backend and in
/// the vectorised CPU code: random decisions built on them do not depend on a backend's libm. Each scalar function has a
/// Vector256 twin doing the same operations in the same order. The polynomials are Cephes' (S. Moshier): log ≈ 1 ulp,
/// exp2 ≈ 2 ulp.
/// </summary>
/// <remarks>
/// The JIT never contracts a*b + c into an FMA, and ILGPU writes each operation as its own statement (OpenCL C contracts
/// only within one expression), so the separate roundings are kept on <c>cpu</c>, <c>ilgpu-cpu</c> and OpenCL.
/// </remarks>
public static class PortableMath
{
    private const float SqrtHalf = 0.707106781186547524f;
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;

    // Cephes logf: log(1 + x) = x − x²/2 + x³·P(x) on [√½ − 1, √2 − 1].
    private const float L0 = 7.0376836292E-2f, L1 = -1.1514610310E-1f, L2 = 1.1676998740E-1f, L3 = -1.2420140846E-1f,
        L4 = 1.4249322787E-1f, L5 = -1.6668057665E-1f, L6 = 2.0000714765E-1f, L7 = -2.4999993993E-1f, L8 = 3.3333331174E-1f;

    // Cephes exp2f: 2^f = 1 + f·P(f) on [−½, ½].
    private const float E0 = 1.535336188319500E-4f, E1 = 1.339887440266574E-3f, E2 = 9.618437357674640E-3f,
        E3 = 5.550332471162809E-2f, E4 = 2.402264791363012E-1f, E5 = 6.931472028550421E-1f;

    /// <summary>Natural log of a positive normal float (the only inputs the library passes).</summary>
    public static float Log(float x)
    {
        uint bits = Interop.FloatAsInt(x);
        float e = (int)((bits >> 23) & 0xFF) - 126;
        float m = Interop.IntAsFloat((bits & 0x007FFFFFu) | 0x3F000000u); // x = m·2^e, m in [½, 1)
        if (m < SqrtHalf)
        {
            e -= 1f;
            m = m + m - 1f;
        }
        else
        {
            m -= 1f;
        }
        return Log1pReduced(m, e);
    }

    /// <summary>log(1 + x) for x in [√½ − 1, √2 − 1] ⊃ [−¼, ¼], without forming 1 + x (exact for tiny x).</summary>
    public static float Log1pSmall(float x) => Log1pReduced(x, 0f);

    private static float Log1pReduced(float m, float e)
    {
        float z = m * m;
        float p = L0;
        p = p * m + L1;
        p = p * m + L2;
        p = p * m + L3;
        p = p * m + L4;
        p = p * m + L5;
        p = p * m + L6;
        p = p * m + L7;
        p = p * m + L8;
        float y = p * m * z;
        y = y + e * Ln2Lo;
        y = y - 0.5f * z;
        float r = m + y;
        return r + e * Ln2Hi;
    }

    /// <summary>
    /// 2^d for d ≤ 0: d = 0 gives 1; d below −126.5 (and −inf) give 0 (flushed, as GPUs do). NaN is not expected.
    /// </summary>
    public static float Exp2(float d)
    {
        if (d < -127f)
            d = -127f; // then n = −127, whose scale has exponent field 0: the result is +0
        float n = MathF.Floor(d + 0.5f);
        float f = d - n; // exact: n is the nearest integer
        float p = E0;
        p = p * f + E1;
        p = p * f + E2;
        p = p * f + E3;
        p = p * f + E4;
        p = p * f + E5;
        float r = 1f + p * f;
        return r * Interop.IntAsFloat((uint)((int)n + 127) << 23);
    }

    /// <summary><see cref="Exp2(float)"/> on eight lanes: the same operations, lane for lane the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp2(Vector256<float> d)
    {
        var clamped = Vector256.MaxNative(d, Vector256.Create(-127f));
        var n = Vector256.Floor(clamped + Vector256.Create(0.5f));
        var f = clamped - n;
        var p = Vector256.Create(E0);
        p = p * f + Vector256.Create(E1);
        p = p * f + Vector256.Create(E2);
        p = p * f + Vector256.Create(E3);
        p = p * f + Vector256.Create(E4);
        p = p * f + Vector256.Create(E5);
        var r = Vector256<float>.One + p * f;
        var scale = ((Vector256.ConvertToInt32Native(n) + Vector256.Create(127)) << 23).AsSingle();
        return r * scale;
    }

    /// <summary><see cref="Exp2(float)"/> on sixteen lanes (AVX-512): the same operations, lane for lane the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp2(Vector512<float> d)
    {
        var clamped = Vector512.MaxNative(d, Vector512.Create(-127f));
        var n = Vector512.Floor(clamped + Vector512.Create(0.5f));
        var f = clamped - n;
        var p = Vector512.Create(E0);
        p = p * f + Vector512.Create(E1);
        p = p * f + Vector512.Create(E2);
        p = p * f + Vector512.Create(E3);
        p = p * f + Vector512.Create(E4);
        p = p * f + Vector512.Create(E5);
        var r = Vector512<float>.One + p * f;
        var scale = ((Vector512.ConvertToInt32Native(n) + Vector512.Create(127)) << 23).AsSingle();
        return r * scale;
    }

    /// <summary><see cref="Log(float)"/> on eight lanes (positive normal inputs): lane for lane the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Log(Vector256<float> x)
    {
        var bits = x.AsUInt32();
        var e = Vector256.ConvertToSingle(((bits >> 23) & Vector256.Create(0xFFu)).AsInt32() - Vector256.Create(126));
        var m = ((bits & Vector256.Create(0x007FFFFFu)) | Vector256.Create(0x3F000000u)).AsSingle();
        var small = Vector256.LessThan(m, Vector256.Create(SqrtHalf));
        e = Vector256.ConditionalSelect(small, e - Vector256<float>.One, e);
        m = Vector256.ConditionalSelect(small, m + m - Vector256<float>.One, m - Vector256<float>.One);
        var z = m * m;
        var p = Vector256.Create(L0);
        p = p * m + Vector256.Create(L1);
        p = p * m + Vector256.Create(L2);
        p = p * m + Vector256.Create(L3);
        p = p * m + Vector256.Create(L4);
        p = p * m + Vector256.Create(L5);
        p = p * m + Vector256.Create(L6);
        p = p * m + Vector256.Create(L7);
        p = p * m + Vector256.Create(L8);
        var y = p * m * z;
        y = y + e * Vector256.Create(Ln2Lo);
        y = y - Vector256.Create(0.5f) * z;
        var r = m + y;
        return r + e * Vector256.Create(Ln2Hi);
    }
}
