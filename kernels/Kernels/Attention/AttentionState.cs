using System;

namespace Kernels;

/// <summary>
/// A mergeable attention state on the host: the normalised output O [Rows, HeadDim] and its log-sum-exp LSE [Rows]
/// (natural log, float32), one row per (head, query). A new state is empty (O = 0, LSE = −inf), the identity of
/// <see cref="AttentionMerge"/>: merging any state into it gives that state.
/// </summary>
public sealed class AttentionState
{
    /// <summary>An empty state of <paramref name="rows"/> rows of <paramref name="headDim"/>.</summary>
    public AttentionState(long rows, int headDim)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfLessThan(headDim, 1);
        if (rows * headDim > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(rows), "the state is larger than an array can hold.");
        Rows = rows;
        HeadDim = headDim;
        Output = new float[rows * headDim];
        Lse = new float[rows];
        Array.Fill(Lse, float.NegativeInfinity);
    }

    /// <summary>Rows (heads × queries).</summary>
    public long Rows { get; }

    /// <summary>Elements per output row.</summary>
    public int HeadDim { get; }

    /// <summary>O [Rows, HeadDim], row-major.</summary>
    public float[] Output { get; }

    /// <summary>LSE [Rows].</summary>
    public float[] Lse { get; }

    /// <summary>Sets every row back to the empty state.</summary>
    public void Clear()
    {
        Array.Clear(Output);
        Array.Fill(Lse, float.NegativeInfinity);
    }
}
