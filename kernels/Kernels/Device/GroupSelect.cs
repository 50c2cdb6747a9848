using ILGPU;

namespace Kernels.Device;

/// <summary>One column's place in a threshold search: its order key and its measure (0 when it is not a member).</summary>
public interface IColumnMeasure
{
    /// <summary>The measure of column <paramref name="col"/> and its <see cref="TruncationRules.OrderKey"/>.</summary>
    double Measure(int col, out uint key);
}

/// <summary>
/// Threshold search over a row for explicitly grouped ILGPU kernels, without sorting: the first column in the order
/// (key descending, column ascending) at which the running measure reaches a target. With a count measure this is the
/// k-th largest element (top-k); with a probability mass it is the top-p cutoff. The key is found bit by bit from the
/// top (32 passes, each a group sum), then the column among equal keys by bisection (⌈log2 cols⌉ passes). Every
/// thread of the group must call it; loops have the same trip count in every thread (PoCL 3.1).
/// </summary>
public static class GroupSelect
{
    /// <summary>
    /// The (key, column) of the first column in the order whose running measure reaches <paramref name="target"/>
    /// (precondition: 0 &lt; target ≤ the row's total). Columns before or equal to it form the kept prefix.
    /// </summary>
    public static KeyColumn Prefix<TMeasure>(TMeasure measure, int cols, double target) where TMeasure : struct, IColumnMeasure
    {
        uint threshold = 0;
        for (int bit = 31; bit >= 0; bit--)
        {
            uint candidate = threshold | (1u << bit);
            if (GroupReduce.SumDouble(AtLeast(measure, cols, candidate)) >= target)
                threshold = candidate;
        }
        double above = threshold == uint.MaxValue ? 0.0 : GroupReduce.SumDouble(AtLeast(measure, cols, threshold + 1));
        int lo = 0, hi = cols - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (above + GroupReduce.SumDouble(TiesThrough(measure, cols, threshold, mid)) >= target)
                hi = mid;
            else
                lo = mid + 1;
        }
        return new KeyColumn(threshold, lo);
    }

    // This thread's measure over its strided columns whose key is at least the threshold.
    private static double AtLeast<TMeasure>(TMeasure measure, int cols, uint threshold) where TMeasure : struct, IColumnMeasure
    {
        double sum = 0.0;
        for (int first = 0; first < cols; first += Group.DimX)
        {
            int col = first + Group.IdxX;
            if (col < cols)
            {
                double m = measure.Measure(col, out uint key);
                if (key >= threshold)
                    sum += m;
            }
        }
        return sum;
    }

    // This thread's measure over its strided columns with key equal to the threshold and column at most last.
    private static double TiesThrough<TMeasure>(TMeasure measure, int cols, uint threshold, int last) where TMeasure : struct, IColumnMeasure
    {
        double sum = 0.0;
        for (int first = 0; first < cols; first += Group.DimX)
        {
            int col = first + Group.IdxX;
            if (col < cols)
            {
                double m = measure.Measure(col, out uint key);
                if (key == threshold && col <= last)
                    sum += m;
            }
        }
        return sum;
    }
}

/// <summary>A threshold found by <see cref="GroupSelect.Prefix"/>: the order key and the column of the last kept column.</summary>
public readonly struct KeyColumn
{
    /// <summary>The order key.</summary>
    public readonly uint Key;

    /// <summary>The column.</summary>
    public readonly int Column;

    /// <summary>Creates the threshold.</summary>
    public KeyColumn(uint key, int column)
    {
        Key = key;
        Column = column;
    }

    /// <summary>Whether a column with order key <paramref name="key"/> is kept (before or equal to the threshold).</summary>
    public bool Keeps(uint key, int column) => key > Key || (key == Key && column <= Column);
}
