using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kernels.Cpu;

/// <summary>
/// The few vector operations the CPU math needs, over a vector width, so that a routine such as exp is written once
/// for 8 and 16 lanes. The JIT specialises and inlines every call for the struct that implements it.
/// </summary>
internal interface ILanes<T> where T : struct, ILanes<T>
{
    static abstract T Create(float value);
    static abstract T Add(T a, T b);
    static abstract T Multiply(T a, T b);
    static abstract T FusedMultiplyAdd(T a, T b, T c);
    /// <summary>c − a·b, rounded once.</summary>
    static abstract T NegatedMultiplyAdd(T a, T b, T c);
    /// <summary>The larger of each pair, the x86 way (for a NaN, the second operand): callers handle NaN themselves.</summary>
    static abstract T Max(T a, T b);
    /// <summary>The smaller of each pair, the x86 way (for a NaN, the second operand).</summary>
    static abstract T Min(T a, T b);
    /// <summary>a where <paramref name="condition"/> holds, else b.</summary>
    static abstract T Select(T condition, T a, T b);
    /// <summary>All bits set in the lanes where a &gt; b.</summary>
    static abstract T GreaterThan(T a, T b);
    /// <summary>All bits set in the lanes that are not NaN.</summary>
    static abstract T IsNumber(T a);
    /// <summary>
    /// 1/d roughly: the 14-bit hardware estimate where AVX-512 has it (so both widths give the same bits), else AVX's
    /// 12-bit one, else the quotient.
    /// </summary>
    static abstract T ReciprocalEstimate(T d);
    static abstract T Round(T a);

    /// <summary>p·2^n for integral n in the normal exponent range, by adding n to the exponent field.</summary>
    static abstract T ScaleByPowerOfTwo(T p, T n);

    /// <summary>The low 9 bits of each lane's bits moved into the sign and exponent field (the rest zero).</summary>
    static abstract T LowBitsToExponent(T t);

    /// <summary>value, with 0 in the lanes where <paramref name="x"/> &lt; <paramref name="bound"/>.</summary>
    static abstract T ZeroWhereBelow(T value, T x, T bound);
}

/// <summary>Eight float lanes (Vector256).</summary>
internal readonly struct Lanes8(Vector256<float> value) : ILanes<Lanes8>
{
    public Vector256<float> Value { get; } = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 Create(float value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 Add(Lanes8 a, Lanes8 b) => new(a.Value + b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 Multiply(Lanes8 a, Lanes8 b) => new(a.Value * b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 FusedMultiplyAdd(Lanes8 a, Lanes8 b, Lanes8 c) => new(Vector256.FusedMultiplyAdd(a.Value, b.Value, c.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 NegatedMultiplyAdd(Lanes8 a, Lanes8 b, Lanes8 c) => new(Vector256.FusedMultiplyAdd(-a.Value, b.Value, c.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 Max(Lanes8 a, Lanes8 b) => new(Vector256.MaxNative(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 Min(Lanes8 a, Lanes8 b) => new(Vector256.MinNative(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 Select(Lanes8 condition, Lanes8 a, Lanes8 b) => new(Vector256.ConditionalSelect(condition.Value, a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 GreaterThan(Lanes8 a, Lanes8 b) => new(Vector256.GreaterThan(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 IsNumber(Lanes8 a) => new(Vector256.Equals(a.Value, a.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes8 ReciprocalEstimate(Lanes8 d) => new(
        Avx512F.VL.IsSupported ? Avx512F.VL.Reciprocal14(d.Value) : Avx.IsSupported ? Avx.Reciprocal(d.Value) : Vector256<float>.One / d.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 Round(Lanes8 a) => new(Vector256.Round(a.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes8 ScaleByPowerOfTwo(Lanes8 p, Lanes8 n) => new((p.Value.AsInt32() + (Vector256.ConvertToInt32Native(n.Value) << 23)).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes8 LowBitsToExponent(Lanes8 t) => new((t.Value.AsInt32() << 23).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes8 ZeroWhereBelow(Lanes8 value, Lanes8 x, Lanes8 bound) => new(Vector256.AndNot(value.Value, Vector256.LessThan(x.Value, bound.Value)));
}

/// <summary>Sixteen float lanes (Vector512).</summary>
internal readonly struct Lanes16(Vector512<float> value) : ILanes<Lanes16>
{
    public Vector512<float> Value { get; } = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 Create(float value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 Add(Lanes16 a, Lanes16 b) => new(a.Value + b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 Multiply(Lanes16 a, Lanes16 b) => new(a.Value * b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 FusedMultiplyAdd(Lanes16 a, Lanes16 b, Lanes16 c) => new(Vector512.FusedMultiplyAdd(a.Value, b.Value, c.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 NegatedMultiplyAdd(Lanes16 a, Lanes16 b, Lanes16 c) => new(Vector512.FusedMultiplyAdd(-a.Value, b.Value, c.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 Max(Lanes16 a, Lanes16 b) => new(Vector512.MaxNative(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 Min(Lanes16 a, Lanes16 b) => new(Vector512.MinNative(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 Select(Lanes16 condition, Lanes16 a, Lanes16 b) => new(Vector512.ConditionalSelect(condition.Value, a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 GreaterThan(Lanes16 a, Lanes16 b) => new(Vector512.GreaterThan(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 IsNumber(Lanes16 a) => new(Vector512.Equals(a.Value, a.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16 ReciprocalEstimate(Lanes16 d) => new(Avx512F.IsSupported ? Avx512F.Reciprocal14(d.Value) : Vector512<float>.One / d.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 Round(Lanes16 a) => new(Vector512.Round(a.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16 ScaleByPowerOfTwo(Lanes16 p, Lanes16 n) => new((p.Value.AsInt32() + (Vector512.ConvertToInt32Native(n.Value) << 23)).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16 LowBitsToExponent(Lanes16 t) => new((t.Value.AsInt32() << 23).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16 ZeroWhereBelow(Lanes16 value, Lanes16 x, Lanes16 bound) => new(Vector512.AndNot(value.Value, Vector512.LessThan(x.Value, bound.Value)));
}
