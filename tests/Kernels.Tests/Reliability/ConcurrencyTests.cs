using System;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using Kernels.Tests.Softmax;
using NUnit.Framework;

namespace Kernels.Tests.Reliability;

/// <summary>
/// Eight threads launching a mix of kernels on one runtime give exactly the results of a serial run, and the
/// decode path survives 10^5 launches on the cpu backend without managed-memory growth.
/// </summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class ConcurrencyTests(Backend backend) : BackendTest(backend)
{
    private const int Threads = 8;

    [Test]
    public void MixedKernelsFromEightThreadsMatchASerialRun()
    {
        int rows = 4, cols = IsEmulated ? 257 : 4099, rounds = IsEmulated ? 3 : 40;
        var problems = SoftmaxCase.All
            .Select((c, i) => new SoftmaxProblem(c, TestData.Logits(rows * cols, seed: 100 + i), rows, cols, seed: i))
            .ToArray();
        var serial = problems.Select(p => p.Launch(Runtime)).ToArray();

        var watch = Stopwatch.StartNew();
        int mismatches = 0, launches = 0;
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, thread =>
        {
            for (int round = 0; round < rounds; round++)
            {
                int k = (thread + round) % problems.Length;
                var result = round % 2 == 0 ? problems[k].Launch(Runtime) : problems[k].Run(Runtime);
                if (!result.AsSpan().SequenceEqual(serial[k])) System.Threading.Interlocked.Increment(ref mismatches);
                System.Threading.Interlocked.Increment(ref launches);
            }
        });
        TestContext.Out.WriteLine($"{Backend.ToName()}: {Threads} threads, {launches} launches of {problems.Length} kernels in {watch.Elapsed.TotalSeconds:F1} s, {mismatches} mismatches vs serial");
        Assert.That(mismatches, Is.Zero, "bit-identical to the serial run");
    }

    [Test]
    public void HundredThousandDecodeLaunchesDoNotGrowMemory()
    {
        if (Backend != Backend.Cpu)
            Assert.Ignore("the long run is sized for the cpu backend; the emulators run the concurrency test");
        const int launches = 100_000, rows = 4, cols = 512;
        using var input = Runtime.Upload<float>(TestData.Logits(rows * cols, 1));
        using var output = Runtime.Allocate<float>(rows * cols);
        using var temperatures = Runtime.Upload<float>(new[] { 0.7f, 1f, 1.3f, 0.9f });
        using var mask = Runtime.Allocate<float>(rows * cols);
        for (int i = 0; i < 1000; i++) MaskedSoftmax.Launch(Runtime, input, output, rows, cols, temperatures, mask); // warm up

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long before = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < launches; i++)
            MaskedSoftmax.Launch(Runtime, input, output, rows, cols, temperatures, mask);
        watch.Stop();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        long after = GC.GetTotalMemory(forceFullCollection: true);
        TestContext.Out.WriteLine($"{launches} launches in {watch.Elapsed.TotalSeconds:F2} s; heap {before / 1024} KiB -> {after / 1024} KiB; allocated {allocated / (double)launches:F1} B/launch");
        Assert.That(after - before, Is.LessThan(256 * 1024), "no growth of the managed heap");
        Assert.That(allocated / (double)launches, Is.LessThan(64), "launches on device buffers allocate (almost) nothing");
    }
}
