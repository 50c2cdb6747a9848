using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// One row of a truncation kernel on the ILGPU side: w = Transform(x)·scale recomputed from the logits on every pass
/// (no per-row storage), and membership of the set S (top-k threshold, min-p). As an <see cref="IColumnMeasure"/> it
/// measures a column by its count (for the top-k search) or by its mass e in S (for the top-p cutoff).
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

    /// <summary>1 when top-k truncates the row.</summary>
    public int TopKActive;

    /// <summary>The top-k threshold (valid when <see cref="TopKActive"/>).</summary>
    public KeyColumn TopK;

    /// <summary>The min-p bound on e (0 without min-p).</summary>
    public float MinP;

    /// <summary>1 to measure columns by count (every column 1), 0 to measure them by their mass in S.</summary>
    public int CountMeasure;

    /// <summary>w of a column.</summary>
    public float W(int col) => default(T).Apply(Logits[Start + col], col) * Scale;

    /// <summary>The mass e of a column in S (0 outside S) given its w.</summary>
    public float Mass(int col, float w)
    {
        if (TopKActive != 0 && !TopK.Keeps(TruncationRules.OrderKey(w), col))
            return 0f;
        float e = PortableMath.Exp2(w - Max);
        return e >= MinP ? e : 0f;
    }

    /// <inheritdoc/>
    public double Measure(int col, out uint key)
    {
        float w = W(col);
        key = TruncationRules.OrderKey(w);
        return CountMeasure != 0 ? 1.0 : Mass(col, w);
    }
}
