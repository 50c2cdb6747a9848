using System;
using System.Diagnostics;
using Kernels.Runtime;

namespace Kernels.Benchmarks.Suite;

/// <summary>
/// The copy bandwidth of an ILGPU backend's own memory (device to device on a GPU), so that "% of limit" for kernels
/// on that backend compares with what the device can move, not with the host's memory.
/// </summary>
public static class DeviceCopy
{
    /// <summary>Best of a few buffer-to-buffer copies, GB/s counting bytes read + written; null on the cpu backend.</summary>
    public static double? Measure(KernelRuntime runtime, int mebibytes)
    {
        if (!runtime.IsIlgpu)
            return null;
        long length = (long)mebibytes << 18; // floats
        using var source = runtime.Allocate<float>(length);
        using var destination = runtime.Allocate<float>(length);
        source.CopyTo(destination); // warm up
        double best = double.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            var watch = Stopwatch.StartNew();
            source.CopyTo(destination);
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return 2.0 * length * sizeof(float) / best / 1e9;
    }
}
