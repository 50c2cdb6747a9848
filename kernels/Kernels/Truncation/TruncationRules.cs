using ILGPU;

namespace Kernels;

/// <summary>
/// The definitions shared by both sides of the truncation family (top-k, top-p, min-p), so that the ILGPU and CPU
/// kernels keep the same set and take the same decisions.
/// </summary>
/// <remarks>
/// <para><b>Order</b>: columns are ranked by w descending, then by column ascending (ties go to the lowest index; <see cref="Device.KeyIndex.Before"/>).
/// −0 and +0 are equal.</para>
/// <para><b>Kept set</b> of a row, with w = Transform(x)·log2(e)/T, M = max w and e = 2^(w − M)
/// (<see cref="PortableMath.Exp2(float)"/>; from probabilities w = Transform(x) and e = w, see <see cref="MassRule"/>): top-k keeps the first k columns in the order (inactive when k ≤ 0 or
/// k ≥ cols); min-p keeps e ≥ min-p (p_i ≥ min-p·p_max); S is their intersection, restricted to e &gt; 0, with mass
/// T_S = Σ_S e; top-p (inactive when p = 1) keeps the columns j of S whose mass before j in the order, over S, is below
/// p·T_S (the smallest prefix of S with mass ≥ p·T_S). The token is drawn from the kept set with probability
/// proportional to e.</para>
/// </remarks>
public static class TruncationRules
{
    /// <summary>Pivot-rejection rounds before the exact cutoff is computed instead.</summary>
    public const int MaxRounds = 32;

    /// <summary>The largest k of the top-k selection kernel.</summary>
    public const int MaxSelectK = 1024;

    /// <summary>Whether a per-row k truncates a row of <paramref name="cols"/> columns (0 &lt; k &lt; cols).</summary>
    public static bool TopKActive(int k, int cols) => k > 0 && k < cols;

    // NaN is tested explicitly: PoCL 3.1 let a NaN p through the comparisons alone (an inverted, unordered compare).

    /// <summary>Whether a per-row top-p is in its domain (0, 1].</summary>
    public static bool ValidTopP(float p) => !float.IsNaN(p) && p > 0f && p <= 1f;

    /// <summary>Whether a per-row min-p is in its domain [0, 1].</summary>
    public static bool ValidMinP(float minP) => !float.IsNaN(minP) && minP >= 0f && minP <= 1f;

    /// <summary>
    /// A key whose unsigned order is the float order of a non-NaN w (−0 and +0 map to the same key), for threshold
    /// searches over bits.
    /// </summary>
    public static uint OrderKey(float w)
    {
        uint bits = Interop.FloatAsInt(w);
        bits = bits == NegativeZeroBits ? 0u : bits;
        return (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
    }

    /// <summary>
    /// w with −0 as +0. Not <c>w + 0f</c>: ILGPU folds that addition away, so −0 would stay −0 on CUDA and OpenCL.
    /// </summary>
    public static float WithoutNegativeZero(float w)
    {
        uint bits = Interop.FloatAsInt(w);
        return bits == NegativeZeroBits ? 0f : w;
    }

    private const uint NegativeZeroBits = 0x80000000u;

    /// <summary>The float of an <see cref="OrderKey"/>.</summary>
    public static float FromOrderKey(uint key) =>
        Interop.IntAsFloat((key & 0x80000000u) != 0 ? key & 0x7FFFFFFFu : ~key);

    /// <summary>Whether a w invalidates its row: NaN or +inf, and for probabilities a negative value.</summary>
    public static bool Poisons(float w, bool probabilities) => SoftmaxMath.Poisons(w) || (probabilities && w < 0f);

    /// <summary>Whether a row with max w <paramref name="max"/> has nothing to draw: all −inf (logits), all 0 (probabilities).</summary>
    public static bool Empty(float max, bool probabilities) => probabilities ? !(max > 0f) : max == float.NegativeInfinity;

    /// <summary>
    /// A row's outcome before drawing: <see cref="SampleStatus.InvalidParameter"/> for a NaN scale (invalid temperature),
    /// p ∉ (0, 1] or min-p ∉ [0, 1]; <see cref="SampleStatus.InvalidData"/> for a <see cref="Poisons"/> value;
    /// <see cref="SampleStatus.Empty"/> for an <see cref="Empty"/> row; else <see cref="SampleStatus.Sampled"/>.
    /// </summary>
    public static SampleStatus Outcome(float scale, float p, float minP, bool poisoned, bool empty)
    {
        if (float.IsNaN(scale) || !ValidTopP(p) || !ValidMinP(minP))
            return SampleStatus.InvalidParameter;
        if (poisoned)
            return SampleStatus.InvalidData;
        return empty ? SampleStatus.Empty : SampleStatus.Sampled;
    }
}
