using System;
using System.Linq;
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
        const int k = 5, limit = 2 * k + 16;
        collector.Reset(k);
        for (int col = 0; col < k; col++)
            collector.Add(col, col);
        collector.Seal();
        Assert.That(collector.Threshold, Is.EqualTo(0f));
        // Ascending w: every column is admitted; when 2k + 16 are in, the buffer is cut back to the best k.
        for (int col = k; col < limit; col++)
            collector.Add(col, col);
        Assert.That(collector.Threshold, Is.EqualTo((float)(limit - k)));
        var top = collector.Finish();
        Assert.That(top.Length, Is.EqualTo(k));
        Assert.That(TopKCollector.Column(top[0]), Is.EqualTo(limit - 1));
    }

    [Test]
    public void SelectSmallestPutsTheKSmallestFirst()
    {
        var random = new System.Random(7);
        foreach (int n in new[] { 1, 2, 3, 17, 264, 1000 })
        {
            foreach (int k in new[] { 1, 2, n / 2, n - 1, n })
            {
                if (k < 1)
                    continue;
                // Distinct composites in random order, ascending and descending runs among them.
                var items = Enumerable.Range(0, n).Select(i => ((ulong)random.Next(1 << 20) << 32) | (uint)i).ToArray();
                if (n > 10)
                    Array.Sort(items, 0, n / 3);
                var expected = items.OrderBy(v => v).Take(k).ToArray();
                TopKCollector.SelectSmallest(items, k);
                Assert.That(items.Take(k).OrderBy(v => v), Is.EqualTo(expected), $"n = {n}, k = {k}");
            }
        }
    }
}
