using ILGPU;

namespace Kernels.Device;

/// <summary>What a column contributes to one step of a row machine's pass.</summary>
public interface ISegmentMeasure
{
    /// <summary>The measure of column <paramref name="col"/> (≥ 0).</summary>
    double Measure(int col);
}

/// <summary>
/// One step of the truncation kernels' row machines: each thread sums a measure over its contiguous segment of the row,
/// one group scan, and, for a draw, the column at which the running sum (in column order) first exceeds the target
/// (the owning thread rescans its own segment), else the last column with measure (rounding left the target at or
/// above the last running sum). Every thread must call it, with the same trip count.
/// </summary>
public static class SegmentDraw
{
    /// <summary>Runs the step over the segment [<paramref name="begin"/>, begin + segment) of this thread.</summary>
    public static StepResult Step<TMeasure>(TMeasure measure, int begin, int segment, int cols, bool drawing, double target)
        where TMeasure : struct, ISegmentMeasure
    {
        int tid = Group.IdxX;
        double own = 0.0;
        int lastOwn = -1;
        for (int i = 0; i < segment; i++)
        {
            int col = begin + i;
            if (col < cols)
            {
                double m = measure.Measure(col);
                own += m;
                if (m > 0.0)
                    lastOwn = col;
            }
        }
        var scan = GroupReduce.InclusiveScanDouble(own);

        int owner = GroupReduce.MinInt(drawing && own > 0.0 && scan.Inclusive > target ? tid : int.MaxValue);
        int found = -1;
        if (tid == owner)
        {
            found = lastOwn;
            double running = scan.Exclusive;
            for (int i = 0; i < segment; i++)
            {
                int col = begin + i;
                double m = col < cols ? measure.Measure(col) : 0.0;
                running += m;
                if (m > 0.0 && running > target)
                {
                    found = col;
                    break;
                }
            }
        }
        int token = GroupReduce.MaxInt(found);
        int last = GroupReduce.MaxInt(lastOwn);
        return new StepResult(scan.Total, scan.Exclusive, owner == int.MaxValue ? last : token);
    }
}

/// <summary>The outcome of a <see cref="SegmentDraw.Step"/>.</summary>
public readonly struct StepResult
{
    /// <summary>The group total of the measure.</summary>
    public readonly double Total;

    /// <summary>The measure of the segments before this thread's.</summary>
    public readonly double Exclusive;

    /// <summary>The column drawn (meaningful on a drawing step).</summary>
    public readonly int Column;

    /// <summary>Creates the result.</summary>
    public StepResult(double total, double exclusive, int column)
    {
        Total = total;
        Exclusive = exclusive;
        Column = column;
    }
}
