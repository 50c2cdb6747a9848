using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Kernels.Benchmarks;

/// <summary>
/// "GB/s": bytes a kernel must move (input read once, output written once) over its mean time; or, with
/// <c>percent</c>, that rate as a share of the measured memory bandwidth limit.
/// </summary>
public sealed class BandwidthColumn(bool percent, double limitGBps) : IColumn
{
    /// <inheritdoc/>
    public string Id => percent ? "Kernels.PercentOfLimit" : "Kernels.GBps";

    /// <inheritdoc/>
    public string ColumnName => percent ? "% of limit" : "GB/s";

    /// <inheritdoc/>
    public bool AlwaysShow => true;

    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc/>
    public int PriorityInCategory => percent ? 1 : 0;

    /// <inheritdoc/>
    public bool IsNumeric => true;

    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc/>
    public string Legend => percent
        ? $"GB/s as a share of the measured all-thread copy bandwidth ({limitGBps:F1} GB/s, read+write)"
        : "Bytes the kernel must move once (its class's BytesMoved: softmax reads and writes rows*cols*4, samplers read it) per mean time, 10^9 bytes/s";

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (meanNs is not > 0)
            return "NA";
        // Classes with a Shape parameter measure per shape; the others (one shape) per method.
        string shape = benchmarkCase.Parameters["Shape"] as string ?? benchmarkCase.Descriptor.WorkloadMethod.Name;
        if (BytesMoved.Of(benchmarkCase.Descriptor.Type, shape, benchmarkCase.Descriptor.WorkloadMethod.Name) is not long bytes)
            return "NA";
        double gbps = bytes / meanNs.Value; // bytes per ns = GB/s
        return percent
            ? (100 * gbps / limitGBps).ToString("F0", CultureInfo.InvariantCulture) + "%"
            : gbps.ToString("F1", CultureInfo.InvariantCulture);
    }

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc/>
    public override string ToString() => ColumnName;
}
