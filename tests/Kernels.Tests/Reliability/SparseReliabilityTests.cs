using System;
using System.Diagnostics;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Reliability;

/// <summary>The sparse family's bad arguments (exception before launch, output untouched) and a long decode run.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class SparseReliabilityTests(Backend backend) : BackendTest(backend)
{
    private const int Out = 8, In = 32, Batch = 3;
    private const float Sentinel = 42f;

    private static NmSparseMatrix Weights(NmPattern pattern) => NmSparseMatrix.Compress(TestData.Logits(Out * In, 2), Out, In, pattern);

    [TestCase("weights of another pattern", typeof(ArgumentException), "weights")]
    [TestCase("short x", typeof(ArgumentException), "x")]
    [TestCase("short bias", typeof(ArgumentException), "bias")]
    [TestCase("batch negative", typeof(ArgumentOutOfRangeException), "batch")]
    [TestCase("y is x", typeof(ArgumentException), "y")]
    [TestCase("x from another runtime", typeof(ArgumentException), "x")]
    [TestCase("disposed weights", typeof(ArgumentException), "weights")]
    [TestCase("null weights", typeof(ArgumentNullException), "weights")]
    public void BadLaunchThrowsBeforeLaunchWithTheOutputUntouched(string name, Type exception, string parameter)
    {
        using var other = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        var weights = new NmSparseBuffers(Runtime, Weights(new NmPattern(name == "weights of another pattern" ? 1 : 2, 4)));
        var x = name == "x from another runtime" ? other.Allocate<float>(Batch * In)
            : Runtime.Upload<float>(TestData.Logits((name == "short x" ? Batch - 1 : Batch) * In, 3));
        using var bias = Runtime.Allocate<float>(name == "short bias" ? Out - 1 : Out);
        using var y = Runtime.Upload<float>(Enumerable.Repeat(Sentinel, Batch * Out).ToArray());
        if (name == "disposed weights")
            weights.Dispose();
        int batch = name == "batch negative" ? -1 : Batch;
        try
        {
            var e = Assert.Throws(exception, () => SparseMatMul24.Launch(Runtime, x, name == "null weights" ? null! : weights,
                name == "y is x" ? x : y, batch, bias));
            Assert.That(((ArgumentException)e!).ParamName, Is.EqualTo(parameter));
            Assert.That(y.ToArray(), Is.All.EqualTo(Sentinel), "output untouched");
        }
        finally
        {
            weights.Dispose();
            x.Dispose();
        }
    }

    [Test]
    public void TenThousandDecodeLaunchesDoNotGrowMemory()
    {
        if (Backend != Backend.Cpu)
            Assert.Ignore("the long run is sized for the cpu backend");
        const int launches = 10_000, outs = 256, ins = 512;
        using var weights = new NmSparseBuffers(Runtime, NmSparseMatrix.Compress(TestData.Logits(outs * ins, 4), outs, ins, new NmPattern(2, 4)));
        using var x = Runtime.Upload<float>(TestData.Logits(ins, 5));
        using var y = Runtime.Allocate<float>(outs);
        for (int i = 0; i < 100; i++)
            SparseMatMul24.Launch(Runtime, x, weights, y, 1);
        var first = y.ToArray();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < launches; i++)
            SparseMatMul24.Launch(Runtime, x, weights, y, 1);
        watch.Stop();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        long after = GC.GetTotalMemory(forceFullCollection: true);
        TestContext.Out.WriteLine($"{launches} 2:4 GEMV launches ({outs} x {ins}) in {watch.Elapsed.TotalSeconds:F2} s; heap {before / 1024} KiB -> {after / 1024} KiB; allocated {allocated / (double)launches:F1} B/launch");
        Assert.That(y.ToArray(), Is.EqualTo(first), "the same result every launch");
        Assert.That(after - before, Is.LessThan(256 * 1024), "no growth of the managed heap");
        Assert.That(allocated / (double)launches, Is.LessThan(512), "a launch allocates (almost) nothing");
    }

    [Test]
    public void PrefillLaunchesReuseTheirScratch()
    {
        if (Backend != Backend.Cpu)
            Assert.Ignore("the scratch buffers are the cpu backend's");
        // Prefill transposes X (here 64 x 512 floats = 128 KiB) and packs weight blocks: into buffers kept across launches.
        const int launches = 1000, outs = 256, ins = 512, batch = 40;
        foreach (var pattern in new[] { new NmPattern(2, 4), new NmPattern(1, 1) })
        {
            var kernel = pattern.N == pattern.M ? DenseMatMul.Kernel : SparseMatMul24.Kernel;
            using var weights = new NmSparseBuffers(Runtime, NmSparseMatrix.Compress(TestData.Logits(outs * ins, 4), outs, ins, pattern));
            using var x = Runtime.Upload<float>(TestData.Logits(batch * ins, 5));
            using var y = Runtime.Allocate<float>(batch * outs);
            for (int i = 0; i < 20; i++)
                kernel.Launch(Runtime, x, weights, y, batch);
            var first = y.ToArray();
            long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < launches; i++)
                kernel.Launch(Runtime, x, weights, y, batch);
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            TestContext.Out.WriteLine($"{pattern}: {launches} prefill launches ({batch} x {ins} x {outs}); allocated {allocated / (double)launches:F1} B/launch");
            Assert.That(y.ToArray(), Is.EqualTo(first), "the same result every launch");
            Assert.That(allocated / (double)launches, Is.LessThan(4096), "a launch allocates no scratch (only the scheduler's small closures)");
        }
    }
}
