using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading.Tasks;

namespace Kernels.Benchmarks;

/// <summary>Streaming memory bandwidth of this machine, in GB/s (10^9 bytes per second), best of several runs.</summary>
/// <param name="ReadOneThread">Sum of a 256 MiB float array on one thread.</param>
/// <param name="ReadAllThreads">The same sum split over every hardware thread.</param>
/// <param name="CopyOneThread">Copy of 256 MiB to a second array on one thread, counting bytes read plus bytes written.</param>
/// <param name="CopyAllThreads">The same copy split over every hardware thread.</param>
/// <param name="Threads">Hardware threads used for the all-thread runs.</param>
public sealed record MemoryBandwidthResult(double ReadOneThread, double ReadAllThreads, double CopyOneThread, double CopyAllThreads, int Threads)
{
    /// <summary>
    /// The limit a row kernel that reads its input and writes its output once is compared with: the all-thread copy,
    /// which moves bytes in the same read-one-write-one pattern and is counted the same way (read + written).
    /// </summary>
    public double Limit => CopyAllThreads;

    /// <inheritdoc/>
    public override string ToString() =>
        $"memory bandwidth (GB/s, best of {MemoryBandwidth.Repeats}, 256 MiB): " +
        $"read 1 thread {ReadOneThread:F1}, read {Threads} threads {ReadAllThreads:F1}, " +
        $"copy 1 thread {CopyOneThread:F1}, copy {Threads} threads {CopyAllThreads:F1} (read+write); limit used = {Limit:F1}";
}

/// <summary>
/// A plain probe (not a benchmark) of streaming memory bandwidth: the ceiling for memory-bound kernels such as softmax,
/// used by the GB/s and "% of limit" columns and printed at start.
/// </summary>
public static class MemoryBandwidth
{
    /// <summary>Runs of each measurement; the best is kept.</summary>
    public const int Repeats = 5;

    private const int DefaultMebibytes = 256;
    private static readonly Lazy<MemoryBandwidthResult> Cached = new(() => Measure());

    /// <summary>The measurement, taken once per process on first use.</summary>
    public static MemoryBandwidthResult Current => Cached.Value;

    /// <summary>Measures read and copy bandwidth with one thread and with all threads.</summary>
    public static MemoryBandwidthResult Measure(int mebibytes = DefaultMebibytes)
    {
        int elements = mebibytes * 1024 * 1024 / sizeof(float);
        var source = GC.AllocateUninitializedArray<float>(elements);
        var destination = GC.AllocateUninitializedArray<float>(elements);
        // Touch every page first so that page faults are not timed.
        new System.Random(1).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(source.AsSpan()));
        Array.Fill(destination, 0f);
        for (int i = 0; i < source.Length; i++)
            if (!float.IsFinite(source[i])) source[i] = 0f;

        int threads = Environment.ProcessorCount;
        long bytes = (long)elements * sizeof(float);
        double read1 = Best(bytes, () => Sink(Sum(source, 0, elements)));
        double readN = Best(bytes, () => Sink(ParallelSum(source, threads)));
        double copy1 = Best(2 * bytes, () => source.AsSpan().CopyTo(destination));
        double copyN = Best(2 * bytes, () => ParallelCopy(source, destination, threads));
        return new MemoryBandwidthResult(read1, readN, copy1, copyN, threads);
    }

    private static double Best(long bytes, Action action)
    {
        action(); // warm-up (JIT, thread pool)
        double best = double.MaxValue;
        for (int i = 0; i < Repeats; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return bytes / best / 1e9;
    }

    private static float _sink;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Sink(float value) => _sink += value;

    private static float ParallelSum(float[] data, int threads)
    {
        var partial = new float[threads];
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            int start = (int)((long)data.Length * t / threads);
            int end = (int)((long)data.Length * (t + 1) / threads);
            partial[t] = Sum(data, start, end);
        });
        float total = 0;
        foreach (float p in partial) total += p;
        return total;
    }

    private static void ParallelCopy(float[] source, float[] destination, int threads) =>
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            int start = (int)((long)source.Length * t / threads);
            int end = (int)((long)source.Length * (t + 1) / threads);
            source.AsSpan(start, end - start).CopyTo(destination.AsSpan(start, end - start));
        });

    private static unsafe float Sum(float[] data, int start, int end)
    {
        // Four independent accumulators keep the loads, not the add latency, the bottleneck.
        var a0 = Vector256<float>.Zero;
        var a1 = Vector256<float>.Zero;
        var a2 = Vector256<float>.Zero;
        var a3 = Vector256<float>.Zero;
        fixed (float* p = data)
        {
            int i = start;
            for (; i <= end - 32; i += 32)
            {
                a0 += Vector256.Load(p + i);
                a1 += Vector256.Load(p + i + 8);
                a2 += Vector256.Load(p + i + 16);
                a3 += Vector256.Load(p + i + 24);
            }
            float tail = 0;
            for (; i < end; i++) tail += p[i];
            return Vector256.Sum(a0 + a1 + a2 + a3) + tail;
        }
    }
}
