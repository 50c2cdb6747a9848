using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kernels.Cpu;

namespace Kernels;

/// <summary>
/// The CPU truncation kernels' one read of a row: w = Transform(x)·scale eight lanes at a time, its max, whether it
/// holds NaN or a negative value, and either the staged w (for later passes in cache) or the top k columns collected on the fly.
/// </summary>
public static unsafe class RowPass
{
    private const int Lanes = 8;

    /// <summary>
    /// Reads row <paramref name="x"/>: stores w into <paramref name="stage"/> (padded with −inf to a multiple of eight)
    /// when it is not null, admits columns into <paramref name="collector"/> (reset to k) when it is not null.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<T>(float* x, int cols, float scale, float* stage, TopKCollector? collector, int k, out float max, out bool nan, out bool negative)
        where T : struct, ILogitTransform
    {
        collector?.Reset(k);
        int sealAt = (k + Lanes - 1) & ~(Lanes - 1);
        var vscale = Vector256.Create(scale);
        var vmax = Vector256.Create(float.NegativeInfinity);
        var vmax2 = vmax;
        var vnan = Vector256<float>.Zero;
        var vneg = Vector256<float>.Zero;
        int i = 0;
        // Two vectors per step on the common path (no collector admission due): independent max chains, half the
        // loop overhead; this pass must keep up with memory on every core.
        for (; i <= cols - 2 * Lanes; i += 2 * Lanes)
        {
            var a = default(T).Apply(Vector256.Load(x + i), Vector256.Create(i) + Vector256<int>.Indices) * vscale;
            var b = default(T).Apply(Vector256.Load(x + i + Lanes), Vector256.Create(i + Lanes) + Vector256<int>.Indices) * vscale;
            vnan |= ~Vector256.Equals(a, a) | ~Vector256.Equals(b, b);
            vneg |= Vector256.LessThan(a, Vector256<float>.Zero) | Vector256.LessThan(b, Vector256<float>.Zero);
            vmax = Vector256.MaxNative(vmax, a);
            vmax2 = Vector256.MaxNative(vmax2, b);
            if (stage != null)
            {
                Vector256.Store(a, stage + i);
                Vector256.Store(b, stage + i + Lanes);
            }
            if (collector is not null)
            {
                Admit(collector, a, i, sealAt, 0xFF);
                Admit(collector, b, i + Lanes, sealAt, 0xFF);
            }
        }
        var end = Vector256.Create(cols);
        for (; i < cols; i += Lanes)
        {
            var columns = Vector256.Create(i) + Vector256<int>.Indices;
            var inside = Vector256.LessThan(columns, end).AsSingle();
            var w = Vector256.ConditionalSelect(inside, default(T).Apply(SoftmaxCpu.Load(x, i, cols, 0f), columns) * vscale,
                Vector256.Create(float.NegativeInfinity));
            vnan |= ~Vector256.Equals(w, w);
            vneg |= Vector256.LessThan(w, Vector256<float>.Zero) & inside;
            vmax = Vector256.MaxNative(vmax, w);
            if (stage != null)
                Vector256.Store(w, stage + i);
            if (collector is not null)
                Admit(collector, w, i, sealAt, inside.ExtractMostSignificantBits());
        }
        vmax = Vector256.MaxNative(vmax, vmax2);
        max = VectorMath.HorizontalMax(vmax);
        nan = vnan != Vector256<float>.Zero;
        negative = vneg != Vector256<float>.Zero;
    }

    // The first k columns (to the vector holding the k-th) all enter; later ones only above the current k-th w.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Admit(TopKCollector collector, Vector256<float> w, int i, int sealAt, uint live)
    {
        uint admit = (i < sealAt ? 0xFFu : Vector256.GreaterThan(w, Vector256.Create(collector.Threshold)).ExtractMostSignificantBits()) & live;
        while (admit != 0)
        {
            int lane = BitOperations.TrailingZeroCount(admit);
            collector.Add(w.GetElement(lane), i + lane);
            admit &= admit - 1;
        }
        if (i + Lanes == sealAt)
            collector.Seal();
    }
}
