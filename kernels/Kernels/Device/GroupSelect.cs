using ILGPU;

namespace Kernels.Device;

/// <summary>One column's place in a threshold search: its order key and its measure (0 when it is not a member).</summary>
public interface IColumnMeasure
{
    /// <summary>The measure of column <paramref name="col"/> and its <see cref="TruncationRules.OrderKey"/>.</summary>
    double Measure(int col, out uint key);
}

/// <summary>
/// A <see cref="PrefixSearch"/> run to its end in explicitly grouped ILGPU kernels: with a count measure the k-th
/// largest column (top-k), with a probability mass the top-p cutoff. Every thread of the group must call it; its loop
/// has the same trip count in every thread (PoCL 3.1).
/// </summary>
public static class GroupSelect
{
    /// <summary>
    /// The (key, column) of the first column in the order whose running measure reaches <paramref name="target"/>
    /// (precondition: 0 &lt; target ≤ the row's total). Columns before or equal to it form the kept prefix.
    /// </summary>
    public static KeyColumn Prefix<TMeasure>(TMeasure measure, int cols, double target) where TMeasure : struct, IColumnMeasure
    {
        var search = PrefixSearch.Start(target, cols);
        while (!search.Done)
        {
            double sum = 0.0;
            for (int first = 0; first < cols; first += Group.DimX)
            {
                int col = first + Group.IdxX;
                if (col < cols)
                {
                    double m = measure.Measure(col, out uint key);
                    if (search.Counts(key, col))
                        sum += m;
                }
            }
            search.Advance(GroupReduce.SumDouble(sum));
        }
        return search.Result;
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
