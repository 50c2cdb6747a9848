using System;
using System.Runtime.CompilerServices;
using Kernels.Cpu;

namespace Kernels;

/// <summary>
/// The CPU side of top-k selection: rows spread over cores, one vectorised read per row with a
/// <see cref="TopKCollector"/> (columns above the running k-th value only), then the k sorted.
/// </summary>
public static unsafe class TopKCpu
{
    [ThreadStatic] private static TopKCollector? t_collector;

    /// <summary>Selects every row with transform <typeparamref name="T"/>.</summary>
    public static void Rows<T>(nint logits, nint temperatures, nint keys, nint values, nint indices, TopKArgs args)
        where T : struct, ILogitTransform =>
        RowScheduler.For(args.Rows, args.Cols, new Job<T>(logits, values, indices, args));

    private readonly struct Job<T>(nint logits, nint values, nint indices, TopKArgs args) : IRowJob
        where T : struct, ILogitTransform
    {
        public void Run(int start, int end)
        {
            var collector = t_collector ??= new TopKCollector();
            for (int row = start; row < end; row++)
                SelectRow<T>((float*)logits + (long)row * args.Cols, (float*)values + (long)row * args.K, (int*)indices + (long)row * args.K, args, collector);
        }
    }

    // Fully optimised at first call: a row method runs only rows-times per launch, too few for tiering to promote it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SelectRow<T>(float* x, float* values, int* indices, TopKArgs args, TopKCollector collector)
        where T : struct, ILogitTransform
    {
        RowPass.Run<T, RowPass.Plain>(new RowPass.Plain(x), args.Cols, 1f, null, collector, args.K, out _, out _, out bool nan);
        if (nan)
        {
            new Span<float>(values, args.K).Fill(float.NaN);
            new Span<int>(indices, args.K).Fill(SamplingMath.NoToken);
            return;
        }
        var top = collector.Finish();
        for (int i = 0; i < top.Length; i++)
        {
            values[i] = TopKCollector.W(top[i]);
            indices[i] = TopKCollector.Column(top[i]);
        }
    }
}
