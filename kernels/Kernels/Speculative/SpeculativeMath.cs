namespace Kernels;

/// <summary>
/// The element rules of the speculative-decoding kernels, shared by the ILGPU and CPU sides so that both take the same
/// decisions bit for bit (every operation here is exactly rounded).
/// </summary>
public static class SpeculativeMath
{
    /// <summary>Accepted-count value of an invalid row (and the token written for "no token").</summary>
    public const int Invalid = -1;

    /// <summary>Whether a probability is usable: finite and not negative.</summary>
    /// <remarks>NaN is tested with IsNaN, not through a comparison: PoCL's OpenCL folds ordered comparisons with NaN.</remarks>
    public static bool Valid(float x) => !float.IsNaN(x) && x >= 0f && x != float.PositiveInfinity;

    /// <summary>
    /// Accepts a draft with probability min(1, p/q): u·q &lt; p in double, u in (0, 1). q = 0 accepts when p &gt; 0 (the
    /// limit of the ratio) and rejects when p = 0; the product of a 52-bit u and a float is exact in double.
    /// </summary>
    public static bool Accepts(double u, float p, float q) => u * q < p;

    /// <summary>The residual max(0, p − q) (one float subtraction, the same bits everywhere).</summary>
    public static float Residual(float p, float q)
    {
        float d = p - q;
        return d > 0f ? d : 0f;
    }
}
