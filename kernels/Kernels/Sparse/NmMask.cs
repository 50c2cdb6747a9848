using System;

namespace Kernels;

/// <summary>
/// Magnitude N:M masks: in every group of M consecutive columns of each row, the N elements of largest |w| are kept.
/// </summary>
/// <remarks>
/// <b>Ties</b>: among equal magnitudes the lowest column wins (a stable descending sort by |w|), so the mask is a pure
/// function of the weights. NaN counts as larger than any number (it is kept, so that it shows up downstream instead of
/// being silently pruned); −0 and +0 are equal. Every group gets exactly N kept elements, all-zero groups included.
/// </remarks>
public static class NmMask
{
    /// <summary>
    /// Writes the mask of <paramref name="weights"/> [rows, cols] into <paramref name="mask"/> [rows, cols] (1 kept, 0 pruned).
    /// </summary>
    public static void Select(ReadOnlySpan<float> weights, int rows, int cols, NmPattern pattern, Span<byte> mask)
    {
        Check(weights.Length, mask.Length, rows, cols, pattern);
        Span<int> kept = stackalloc int[pattern.N];
        for (long g = 0; g < (long)rows * cols / pattern.M; g++)
        {
            int start = (int)(g * pattern.M);
            TopN(weights.Slice(start, pattern.M), pattern.N, kept);
            mask.Slice(start, pattern.M).Clear();
            foreach (int k in kept)
                mask[start + k] = 1;
        }
    }

    /// <summary>
    /// The N kept positions of one group in ascending order: repeated selection of the largest |w|, lowest index first
    /// among equals (a position is taken only when strictly larger than the best so far).
    /// </summary>
    internal static void TopN(ReadOnlySpan<float> group, int n, Span<int> kept)
    {
        uint taken = 0;
        for (int t = 0; t < n; t++)
        {
            int best = -1;
            float bestMagnitude = 0f;
            for (int i = 0; i < group.Length; i++)
            {
                if ((taken & (1u << i)) != 0)
                    continue;
                float magnitude = Math.Abs(group[i]);
                if (best < 0 || Larger(magnitude, bestMagnitude))
                {
                    best = i;
                    bestMagnitude = magnitude;
                }
            }
            taken |= 1u << best;
        }
        int j = 0;
        for (int i = 0; i < group.Length; i++)
        {
            if ((taken & (1u << i)) != 0)
                kept[j++] = i;
        }
    }

    // NaN above every number; otherwise strictly greater (equal magnitudes keep the earlier index).
    private static bool Larger(float a, float b) => float.IsNaN(a) ? !float.IsNaN(b) : a > b;

    private static void Check(int weights, int mask, int rows, int cols, NmPattern pattern)
    {
        pattern.CheckDefined(nameof(pattern));
        Runtime.Guard.AtLeast(rows, 0, nameof(rows));
        pattern.CheckColumns(cols, nameof(cols));
        long elements = Runtime.Guard.Elements(rows, cols);
        Runtime.Guard.Span(weights, elements, nameof(weights));
        Runtime.Guard.Span(mask, elements, nameof(mask));
    }
}
