using System;
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
            {
                long outStart = (long)row * args.K;
                float* v = (float*)values + outStart;
                int* c = (int*)indices + outStart;
                RowPass.Run<T>((float*)logits + (long)row * args.Cols, args.Cols, 1f, null, collector, args.K, out _, out bool nan);
                if (nan)
                {
                    new Span<float>(v, args.K).Fill(float.NaN);
                    new Span<int>(c, args.K).Fill(SamplingMath.NoToken);
                    continue;
                }
                var top = collector.Finish();
                for (int i = 0; i < top.Length; i++)
                {
                    v[i] = TopKCollector.W(top[i]);
                    c[i] = TopKCollector.Column(top[i]);
                }
            }
        }
    }
}
