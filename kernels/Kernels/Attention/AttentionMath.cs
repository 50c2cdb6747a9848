using System;

namespace Kernels;

/// <summary>
/// Scalar pieces of the attention family, shared by the CPU and ILGPU kernels (plain float code that ILGPU compiles).
/// </summary>
public static class AttentionMath
{
    /// <summary>
    /// The number of keys query row <paramref name="query"/> sees: the key length, cut by the causal mask
    /// (keys j ≤ offset + query), never negative. Computed in 64 bits so extreme offsets cannot wrap.
    /// </summary>
    public static int VisibleKeys(AttentionArgs args, int query)
    {
        if (args.Causal == 0)
            return args.KeyLength;
        long last = (long)args.QueryOffset + query + 1;
        return last <= 0 ? 0 : last < args.KeyLength ? (int)last : args.KeyLength;
    }

    /// <summary>
    /// Merges two states' log-sum-exps: returns LSE = log(e^a + e^b) and the weights w_a = e^(a − LSE'),
    /// w_b = e^(b − LSE') relative to the larger one (so the larger weight is exactly 1 and nothing overflows, whatever
    /// a − b is). The merged output is (w_a·O_a + w_b·O_b)/(w_a + w_b). Symmetric in its arguments bit for bit.
    /// Two empty states (−inf) give −inf with zero weights; NaN gives NaN.
    /// </summary>
    public static float Merge(float a, float b, out float weightA, out float weightB)
    {
        if (float.IsNaN(a) || float.IsNaN(b))
        {
            weightA = weightB = float.NaN;
            return float.NaN;
        }
        if (a == float.NegativeInfinity && b == float.NegativeInfinity)
        {
            weightA = weightB = 0f;
            return float.NegativeInfinity;
        }
        float m = a > b ? a : b;
        // The larger side gives e^0 = 1 exactly; the other e^(−|a − b|) ∈ [0, 1]. Both +inf gives NaN (inf − inf).
        weightA = MathF.Exp(a - m);
        weightB = MathF.Exp(b - m);
        return m + MathF.Log(weightA + weightB);
    }

    /// <summary>The reciprocal of a merged state's total weight, 0 for an empty merge (the output is then 0).</summary>
    public static float InverseWeight(float weightA, float weightB)
    {
        float total = weightA + weightB;
        return total == 0f ? 0f : 1f / total;
    }
}
