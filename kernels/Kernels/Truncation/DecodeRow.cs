using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// One row of a truncation kernel on the ILGPU side: w = Transform(x)·scale recomputed from the logits on every pass
/// (no per-row storage) and its <see cref="MassRule"/>. As an <see cref="IColumnMeasure"/> (top-k selection) it counts columns.
/// </summary>
public struct DecodeRow<T> : IColumnMeasure where T : struct, ILogitTransform
{
    /// <summary>The logits.</summary>
    public ArrayView<float> Logits;

    /// <summary>The row's first element.</summary>
    public long Start;

    /// <summary>log2(e)/T.</summary>
    public float Scale;

    /// <summary>1 when the transform takes <see cref="Context"/> and <see cref="Parameter"/>.</summary>
    public int HasContext;

    /// <summary>The per-element context [rows, cols] (read only with <see cref="HasContext"/>).</summary>
    public ArrayView<float> Context;

    /// <summary>The row's parameter for the transform.</summary>
    public float Parameter;

    /// <summary>The mass rule (valid once the row is scanned: it holds max w).</summary>
    public MassRule Rule;

    /// <summary>Transform(x) of a column, with its context when the declaration has one.</summary>
    public readonly float Transformed(int col) => HasContext != 0
        ? default(T).Apply(Logits[Start + col], col, Context[Start + col], Parameter)
        : default(T).Apply(Logits[Start + col], col);

    /// <summary>w of a column.</summary>
    public readonly float W(int col) => Transformed(col) * Scale;

    /// <summary>The mass of a column, 0 below min-p (top-k membership is the caller's).</summary>
    public readonly float Mass(float w) => Rule.Mass(w);

    /// <summary>max w (valid once <see cref="Rule"/> is set).</summary>
    public readonly float Max => Rule.Max;

    /// <summary>
    /// The first pass over the row (every thread of the group calls it; uniform trip count for PoCL 3.1): max w over
    /// the valid values, and whether the row holds a value that poisons it (<see cref="TruncationRules.Poisons"/>).
    /// </summary>
    public readonly float ScanMax(int cols, bool probabilities, out bool poisoned)
    {
        float max = float.NegativeInfinity;
        float bad = 0f;
        for (int first = 0; first < cols; first += Group.DimX)
        {
            int col = first + Group.IdxX;
            if (col < cols)
            {
                float w = W(col);
                if (TruncationRules.Poisons(w, probabilities))
                    bad = 1f;
                else if (w > max)
                    max = w;
            }
        }
        poisoned = GroupReduce.Max(bad) != 0f;
        return GroupReduce.Max(max);
    }

    /// <inheritdoc/>
    public double Measure(int col, out uint key)
    {
        float w = W(col);
        key = TruncationRules.OrderKey(w);
        return 1.0;
    }
}
