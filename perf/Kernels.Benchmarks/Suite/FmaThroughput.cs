using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading.Tasks;

namespace Kernels.Benchmarks.Suite;

/// <summary>Peak fused multiply-add throughput in GFLOP/s (2 FLOPs per lane per FMA), one thread and all threads.</summary>
/// <param name="OneThread">Best of the runs on one thread.</param>
/// <param name="AllThreads">Best of the runs with every hardware thread.</param>
/// <param name="VectorBits">The vector width used (512 where the JIT accelerates Vector512, else 256).</param>
public sealed record FmaResult(double OneThread, double AllThreads, int VectorBits);

/// <summary>
/// The compute roof: independent FMA chains (12 accumulators, enough to cover the FMA latency on current cores) on the
/// widest vectors the JIT accelerates. Not a benchmark: a probe run once per suite and stored with the results.
/// </summary>
public static class FmaThroughput
{
    private const int Accumulators = 12;

    /// <summary>Measures; <paramref name="iterations"/> loop trips per thread per run (each trip = 12 vector FMAs).</summary>
    public static FmaResult Measure(int iterations = 4_000_000, int repeats = 3)
    {
        int bits = Vector512.IsHardwareAccelerated ? 512 : 256;
        int lanes = bits / 32;
        double flopsPerThread = 2.0 * lanes * Accumulators * iterations;
        int threads = Environment.ProcessorCount;
        double one = Best(repeats, () => Run(bits, iterations), flopsPerThread);
        double all = Best(repeats, () => Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => Run(bits, iterations)),
            flopsPerThread * threads);
        return new FmaResult(one, all, bits);
    }

    private static double Best(int repeats, Action action, double flops)
    {
        action();
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return flops / best / 1e9;
    }

    private static float _sink;

    private static void Run(int bits, int iterations) => _sink += bits == 512 ? Run512(iterations) : Run256(iterations);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Run256(int iterations)
    {
        var m = Vector256.Create(0.999999f);
        var c = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c);
            a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Run512(int iterations)
    {
        var m = Vector512.Create(0.999999f);
        var c = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c);
            a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
