using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kernels;

/// <summary>
/// The mass of a column in the truncation family, given its w and the row's max: from logits e = 2^(w − max), kept when
/// e ≥ min-p; from probabilities e = w itself, kept when w ≥ min-p·max (both: p_i ≥ min-p·p_max). A scalar form (ILGPU
/// kernels) and vector forms (CPU kernels) doing the same operations, so every backend keeps the same set.
/// </summary>
public readonly struct MassRule
{
    /// <summary>max w of the row.</summary>
    public readonly float Max;

    /// <summary>The min-p bound on e (on w for probabilities).</summary>
    public readonly float Bound;

    /// <summary>1 when w are probabilities.</summary>
    public readonly int Probabilities;

    /// <summary>The rule of a row with max <paramref name="max"/> and min-p <paramref name="minP"/> (0: none).</summary>
    public MassRule(float max, float minP, bool probabilities)
    {
        Max = max;
        Probabilities = probabilities ? 1 : 0;
        Bound = probabilities ? minP * max : minP;
    }

    /// <summary>The mass of a column (0 below min-p).</summary>
    public float Mass(float w)
    {
        float e = Probabilities != 0 ? w : PortableMath.Exp2(w - Max);
        return e >= Bound ? e : 0f;
    }

    /// <summary><see cref="Mass(float)"/> on eight lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Mass(Vector256<float> w)
    {
        var e = Probabilities != 0 ? w : PortableMath.Exp2(w - Vector256.Create(Max));
        return e & Vector256.GreaterThanOrEqual(e, Vector256.Create(Bound));
    }

    /// <summary><see cref="Mass(float)"/> on sixteen lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Mass(Vector512<float> w)
    {
        var e = Probabilities != 0 ? w : PortableMath.Exp2(w - Vector512.Create(Max));
        return e & Vector512.GreaterThanOrEqual(e, Vector512.Create(Bound));
    }
}
