using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// One row of a truncation kernel on the ILGPU side: w = Transform(x)·scale recomputed from the logits on every pass
/// (no per-row storage) and the min-p rule. As an <see cref="IColumnMeasure"/> (top-k selection) it counts columns.
/// </summary>
public struct DecodeRow<T> : IColumnMeasure where T : struct, ILogitTransform
{
    /// <summary>The logits.</summary>
    public ArrayView<float> Logits;

    /// <summary>The row's first element.</summary>
    public long Start;

    /// <summary>log2(e)/T.</summary>
    public float Scale;

    /// <summary>max w (valid once the row is scanned).</summary>
    public float Max;

    /// <summary>The min-p bound on e (0 without min-p).</summary>
    public float MinP;

    /// <summary>w of a column.</summary>
    public float W(int col) => default(T).Apply(Logits[Start + col], col) * Scale;

    /// <summary>The mass e = 2^(w − max) of a column, 0 below min-p (top-k membership is the caller's).</summary>
    public float Mass(float w)
    {
        float e = PortableMath.Exp2(w - Max);
        return e >= MinP ? e : 0f;
    }

    /// <summary>
    /// The first pass over the row (every thread of the group calls it; uniform trip count for PoCL 3.1): sets
    /// <see cref="Max"/> to max w and tells whether the row holds NaN or +inf.
    /// </summary>
    public void ScanMax(int cols, out bool poisoned)
    {
        float max = float.NegativeInfinity;
        float bad = 0f;
        for (int first = 0; first < cols; first += Group.DimX)
        {
            int col = first + Group.IdxX;
            if (col < cols)
            {
                float w = W(col);
                if (SoftmaxMath.Poisons(w))
                    bad = 1f;
                else if (w > max)
                    max = w;
            }
        }
        poisoned = GroupReduce.Max(bad) != 0f;
        Max = GroupReduce.Max(max);
    }

    /// <inheritdoc/>
    public double Measure(int col, out uint key)
    {
        float w = W(col);
        key = TruncationRules.OrderKey(w);
        return 1.0;
    }
}
