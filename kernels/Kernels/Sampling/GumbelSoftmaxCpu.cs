using System;
using System.Runtime.CompilerServices;
using Kernels.Cpu;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The CPU side of Gumbel-softmax: rows spread over cores; per row s = κ·Transform(x) + g is computed once into a
/// per-thread buffer (the noise dominates the cost), then the arg-max, Σ 2^((s − max)·log2(e)/τ) in double, and the
/// outputs, with the same element math as the ILGPU side.
/// </summary>
public static unsafe class GumbelSoftmaxCpu
{
    [ThreadStatic] private static float[]? t_row;

    /// <summary>Processes every row with transform <typeparamref name="T"/>.</summary>
    public static void Rows<T>(nint logits, nint temperatures, nint keys, nint noise, nint output, nint soft, GumbelSoftmaxArgs args)
        where T : struct, ILogitTransform =>
        RowScheduler.For(args.Rows, args.Cols, new Job<T>(logits, temperatures, keys, noise, output, soft, args));

    private readonly struct Job<T>(nint logits, nint temperatures, nint keys, nint noise, nint output, nint soft, GumbelSoftmaxArgs args) : IRowJob
        where T : struct, ILogitTransform
    {
        public void Run(int start, int end)
        {
            var buffer = t_row is { } r && r.Length >= args.Cols ? r : (t_row = GC.AllocateUninitializedArray<float>(args.Cols, pinned: true));
            fixed (float* s = buffer)
            {
                for (int row = start; row < end; row++)
                    ProcessRow<T>(row, args, (float*)logits, (float*)temperatures, (RngKey*)keys, (float*)noise, (float*)output, (float*)soft, s);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ProcessRow<T>(int row, GumbelSoftmaxArgs args, float* logits, float* temperatures, RngKey* keys, float* noise,
        float* output, float* soft, float* s)
        where T : struct, ILogitTransform
    {
        int cols = args.Cols;
        long start = (long)row * cols;
        float invTau = args.PerRowTemperature != 0 ? SoftmaxMath.InverseTemperature(temperatures[row]) : args.InverseTau;
        float c = invTau * GumbelSoftmaxMath.Log2E;
        var key = args.PerRowKeys != 0 && args.ExplicitNoise == 0 ? keys[row] : Rng.RowKey(args.Key, row);

        bool poisoned = SoftmaxMath.Poisons(c);
        float bestKey = float.NegativeInfinity;
        int bestIndex = int.MaxValue;
        for (int col = 0; col < cols; col++)
        {
            float z = default(T).Apply(logits[start + col], col) * args.Scale;
            float v = z;
            if (z != float.NegativeInfinity)
                v = z + (args.ExplicitNoise != 0 ? noise[start + col] : GumbelNoise.At(key, col, args.Offset, args.Precision));
            s[col] = v;
            if (SoftmaxMath.Poisons(v))
                poisoned = true;
            else if (v != float.NegativeInfinity && KeyIndex.Before(v, col, bestKey, bestIndex))
            {
                bestKey = v;
                bestIndex = col;
            }
        }
        bool empty = bestIndex == int.MaxValue;
        bool needSoft = args.Mode != (int)GumbelSoftmaxMode.Hard;
        double sum = 0;
        if (needSoft && !poisoned && !empty)
        {
            for (int col = 0; col < cols; col++)
                sum += PortableMath.Exp2((s[col] - bestKey) * c);
        }
        float inverse = (float)(1.0 / sum);
        for (int col = 0; col < cols; col++)
        {
            float y = poisoned ? float.NaN : !empty && needSoft ? PortableMath.Exp2((s[col] - bestKey) * c) * inverse : 0f;
            float hard = poisoned ? float.NaN : col == bestIndex ? 1f : 0f;
            if (args.Mode == (int)GumbelSoftmaxMode.Soft)
            {
                output[start + col] = y;
            }
            else
            {
                output[start + col] = hard;
                if (args.Mode == (int)GumbelSoftmaxMode.StraightThrough)
                    soft[start + col] = y;
            }
        }
    }
}
