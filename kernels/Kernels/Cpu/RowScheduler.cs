using System;
using System.Threading.Tasks;

namespace Kernels.Cpu;

/// <summary>Work on a range of rows; a struct so that the JIT specialises the loop for each kernel.</summary>
public interface IRowJob
{
    /// <summary>Processes rows [<paramref name="start"/>, <paramref name="end"/>).</summary>
    void Run(int start, int end);
}

/// <summary>
/// Splits rows across cores: contiguous row ranges, a few per core so that uneven rows balance, and small problems
/// inline (a Parallel.For costs microseconds, more than a small softmax).
/// </summary>
public static class RowScheduler
{
    private const long InlineElements = 1 << 15;
    private const int ChunksPerCore = 4;
    // At most one worker per core: the thread pool grows past the core count under load, and a third worker on two
    // cores time-slices with the others, evicting the per-task scratch rows they keep in L2.
    private static readonly ParallelOptions Options = new() { MaxDegreeOfParallelism = Environment.ProcessorCount };

    /// <summary>Runs <paramref name="job"/> over <paramref name="rows"/> rows of <paramref name="cols"/> elements each.</summary>
    public static void For<TJob>(int rows, int cols, TJob job) where TJob : struct, IRowJob
    {
        if (rows <= 0)
            return;
        int cores = Environment.ProcessorCount;
        if (rows == 1 || cores == 1 || (long)rows * cols <= InlineElements)
        {
            job.Run(0, rows);
            return;
        }
        Spread(rows, Math.Min(rows, cores * ChunksPerCore), job);
    }

    // Separate from For, so that the closure is allocated only when work is actually spread (a lambda capturing
    // For's parameters would be allocated on every call, even the inline ones).
    private static void Spread<TJob>(int rows, int chunks, TJob job) where TJob : struct, IRowJob
    {
        Parallel.For(0, chunks, Options, chunk =>
        {
            int start = (int)((long)rows * chunk / chunks);
            int end = (int)((long)rows * (chunk + 1) / chunks);
            job.Run(start, end);
        });
    }
}
