using Kernels.Cpu;
using NUnit.Framework;

namespace Kernels.Tests.Truncation;

/// <summary>
/// The CPU top-k collector is per thread and reused across rows and kernels: a row's k, not the largest k the thread
/// has seen, decides when the threshold tightens.
/// </summary>
public class TopKCollectorTests
{
    [Test]
    public void ThresholdTightensForTheRowsKAfterALargerK()
    {
        var collector = new TopKCollector();
        collector.Reset(100_000); // a Mirostat-sized row first grows the buffer
        const int k = 5, limit = 4 * k + 64;
        collector.Reset(k);
        for (int col = 0; col < k; col++)
            collector.Add(col, col);
        collector.Seal();
        Assert.That(collector.Threshold, Is.EqualTo(0f));
        // Ascending w: every column is admitted; when 4k + 64 are in, the buffer is cut back to the best k.
        for (int col = k; col < limit; col++)
            collector.Add(col, col);
        Assert.That(collector.Threshold, Is.EqualTo((float)(limit - k)));
        var top = collector.Finish();
        Assert.That(top.Length, Is.EqualTo(k));
        Assert.That(TopKCollector.Column(top[0]), Is.EqualTo(limit - 1));
    }
}
