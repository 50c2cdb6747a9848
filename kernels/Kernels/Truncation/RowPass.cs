using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Kernels.Cpu;

namespace Kernels;

/// <summary>
/// The CPU truncation kernels' one read of a row: w = Transform(x)·scale eight lanes at a time, its max and min,
/// whether it holds NaN, and either the staged w (for later passes in cache) or the top k columns collected on the fly.
/// This pass must keep up with memory on every core, so its common loop does little per vector: two vectors per step,
/// one unordered compare for NaN, and the collector's threshold kept in a register until an admission changes it.
/// </summary>
public static unsafe class RowPass
{
    private const int Lanes = 8;

    /// <summary>
    /// A row's input as the transform sees it. Two implementations, chosen once per row by a type parameter, so that the
    /// pass's loop carries no test for a context.
    /// </summary>
    public interface IInput
    {
        /// <summary>Transform(x) of the eight columns from <paramref name="i"/> (all inside the row).</summary>
        Vector256<float> Transformed<T>(int i, Vector256<int> columns) where T : struct, ILogitTransform;

        /// <summary>Transform(x) of the columns from <paramref name="i"/> that are inside the row (loads stop at the end).</summary>
        Vector256<float> TransformedTail<T>(int i, int cols, Vector256<int> columns) where T : struct, ILogitTransform;

        /// <summary>Transform(x) of one column.</summary>
        float Transformed<T>(int col) where T : struct, ILogitTransform;
    }

    /// <summary>The row's logits, for a transform without context.</summary>
    public readonly struct Plain(float* x) : IInput
    {
        private readonly float* _x = x;

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Transformed<T>(int i, Vector256<int> columns) where T : struct, ILogitTransform =>
            default(T).Apply(Vector256.Load(_x + i), columns);

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> TransformedTail<T>(int i, int cols, Vector256<int> columns) where T : struct, ILogitTransform =>
            default(T).Apply(SoftmaxCpu.Load(_x, i, cols, 0f), columns);

        /// <inheritdoc/>
        public float Transformed<T>(int col) where T : struct, ILogitTransform => default(T).Apply(_x[col], col);
    }

    /// <summary>The row's logits with the transform's per-element context and row parameter.</summary>
    public readonly struct WithContext(float* x, float* context, float parameter) : IInput
    {
        private readonly float* _x = x, _context = context;
        private readonly float _parameter = parameter;

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Transformed<T>(int i, Vector256<int> columns) where T : struct, ILogitTransform =>
            default(T).Apply(Vector256.Load(_x + i), columns, Vector256.Load(_context + i), Vector256.Create(_parameter));

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> TransformedTail<T>(int i, int cols, Vector256<int> columns) where T : struct, ILogitTransform =>
            default(T).Apply(SoftmaxCpu.Load(_x, i, cols, 0f), columns, SoftmaxCpu.Load(_context, i, cols, 0f), Vector256.Create(_parameter));

        /// <inheritdoc/>
        public float Transformed<T>(int col) where T : struct, ILogitTransform => default(T).Apply(_x[col], col, _context[col], _parameter);
    }

    /// <summary>
    /// Reads row <paramref name="x"/>: stores w into <paramref name="stage"/> (padded with −inf to a multiple of eight)
    /// when it is not null, admits columns into <paramref name="collector"/> (reset to k) when it is not null.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<T, TIn>(TIn x, int cols, float scale, float* stage, TopKCollector? collector, int k,
        out float max, out float min, out bool nan)
        where T : struct, ILogitTransform
        where TIn : struct, IInput
    {
        var vscale = Vector256.Create(scale);
        var stats = new Stats
        {
            Max = Vector256.Create(float.NegativeInfinity),
            Min = Vector256.Create(float.PositiveInfinity),
            Nan = Vector256<float>.Zero,
        };
        var end = Vector256.Create(cols);
        int i = 0;

        // The first k columns (to the vector holding the k-th) all enter the collector; then it sets its threshold.
        if (collector is not null)
        {
            collector.Reset(k);
            int sealAt = (k + Lanes - 1) & ~(Lanes - 1);
            for (; i < sealAt && i < cols; i += Lanes)
            {
                var w = Tail<T, TIn>(x, i, cols, vscale, end, out var inside);
                Track(w, inside, ref stats);
                if (stage != null)
                    Vector256.Store(w, stage + i);
                Add(collector, w, i, inside.ExtractMostSignificantBits());
            }
            collector.Seal();
        }

        var threshold = Vector256.Create(collector?.Threshold ?? float.PositiveInfinity);
        int last = cols - 2 * Lanes;
        var events = new Events();
        while (i <= last)
        {
            i = Scan<T, TIn>(x, i, last, vscale, threshold, collector is not null, stage, ref stats, ref events, out int count);
            for (int e = 0; e < count; e++)
                threshold = Admit<T, TIn>(x, events[e], vscale, collector!, threshold);
        }
        for (; i < cols; i += Lanes)
        {
            var w = Tail<T, TIn>(x, i, cols, vscale, end, out var inside);
            Track(w, inside, ref stats);
            if (stage != null)
                Vector256.Store(w, stage + i);
            if (collector is not null)
                Add(collector, w, i, (Vector256.GreaterThan(w, threshold) & inside).ExtractMostSignificantBits());
        }
        max = VectorMath.HorizontalMax(stats.Max);
        min = -VectorMath.HorizontalMax(-stats.Min);
        nan = stats.Nan != Vector256<float>.Zero;
    }

    // Max, min and NaN so far.
    private struct Stats
    {
        public Vector256<float> Max, Min, Nan;
    }

    // Steps with a column above the threshold, admitted after the loop leaves.
    [InlineArray(EventCapacity)]
    private struct Events
    {
        private int _step;
    }

    private const int EventCapacity = 32;

    // The common loop, two vectors a step, from i past last or to the step that fills events (returns the next step;
    // events: the steps with a column above the threshold, tracked and staged but not admitted). A method of its own,
    // with its accumulators in locals: every vector register is caller-saved here, so a call anywhere in the loop's
    // method would keep them on the stack, a store and a reload on each step's dependency chain. The threshold does not
    // move inside: the collector raises it only when it cuts back, every k + 16 admissions.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Scan<T, TIn>(TIn x, int i, int last, Vector256<float> scale, Vector256<float> threshold, bool admit, float* stage,
        ref Stats stats, ref Events events, out int count)
        where T : struct, ILogitTransform
        where TIn : struct, IInput
    {
        count = 0;
        Vector256<float> max = stats.Max, max2 = max, min = stats.Min, min2 = min, nan = stats.Nan;
        for (; i <= last; i += 2 * Lanes)
        {
            var a = Scaled<T, TIn>(x, i, scale);
            var b = Scaled<T, TIn>(x, i + Lanes, scale);
            nan |= Avx.IsSupported ? Avx.Compare(a, b, FloatComparisonMode.UnorderedNonSignaling) : ~Vector256.Equals(a, a) | ~Vector256.Equals(b, b);
            max = Vector256.MaxNative(max, a);
            max2 = Vector256.MaxNative(max2, b);
            min = Vector256.MinNative(min, a);
            min2 = Vector256.MinNative(min2, b);
            if (stage != null)
            {
                Vector256.Store(a, stage + i);
                Vector256.Store(b, stage + i + Lanes);
            }
            if (admit && (Vector256.GreaterThan(a, threshold) | Vector256.GreaterThan(b, threshold)) != Vector256<float>.Zero)
            {
                events[count++] = i;
                if (count == EventCapacity)
                {
                    i += 2 * Lanes;
                    break;
                }
            }
        }
        stats.Max = Vector256.MaxNative(max, max2);
        stats.Min = Vector256.MinNative(min, min2);
        stats.Nan = nan;
        return i;
    }

    // The admissions of the two vectors from i (the second against the threshold the first leaves); the new threshold.
    private static Vector256<float> Admit<T, TIn>(TIn x, int i, Vector256<float> scale, TopKCollector collector, Vector256<float> threshold)
        where T : struct, ILogitTransform
        where TIn : struct, IInput
    {
        for (int at = i; at < i + 2 * Lanes; at += Lanes)
        {
            var w = Scaled<T, TIn>(x, at, scale);
            Add(collector, w, at, Vector256.GreaterThan(w, threshold).ExtractMostSignificantBits());
            threshold = Vector256.Create(collector.Threshold);
        }
        return threshold;
    }

    // w of the eight columns from i (all inside the row): Transform(x)·scale.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Scaled<T, TIn>(TIn x, int i, Vector256<float> scale)
        where T : struct, ILogitTransform
        where TIn : struct, IInput =>
        x.Transformed<T>(i, Vector256.Create(i) + Vector256<int>.Indices) * scale;

    // Eight columns from i, any of them past the end: those lanes hold −inf.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Tail<T, TIn>(TIn x, int i, int cols, Vector256<float> scale, Vector256<int> end, out Vector256<float> inside)
        where T : struct, ILogitTransform
        where TIn : struct, IInput
    {
        var columns = Vector256.Create(i) + Vector256<int>.Indices;
        inside = Vector256.LessThan(columns, end).AsSingle();
        return Vector256.ConditionalSelect(inside, x.TransformedTail<T>(i, cols, columns) * scale,
            Vector256.Create(float.NegativeInfinity));
    }

    // Max, min (over the lanes inside the row) and NaN of one vector outside the common loop.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Track(Vector256<float> w, Vector256<float> inside, ref Stats stats)
    {
        stats.Nan |= ~Vector256.Equals(w, w);
        stats.Max = Vector256.MaxNative(stats.Max, w);
        stats.Min = Vector256.MinNative(stats.Min, Vector256.ConditionalSelect(inside, w, Vector256.Create(float.PositiveInfinity)));
    }

    private static void Add(TopKCollector collector, Vector256<float> w, int i, uint lanes)
    {
        while (lanes != 0)
        {
            int lane = BitOperations.TrailingZeroCount(lanes);
            collector.Add(w.GetElement(lane), i + lane);
            lanes &= lanes - 1;
        }
    }
}
