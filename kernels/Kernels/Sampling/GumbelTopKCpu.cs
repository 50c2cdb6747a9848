using System;
using System.Runtime.CompilerServices;
using Kernels.Cpu;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The CPU side of Gumbel-top-k: rows spread over cores; per row one pass computing κ = Transform(x)/T + g for every
/// column and keeping the k best in a binary heap (order: key descending, index ascending), then sorting them.
/// </summary>
public static unsafe class GumbelTopKCpu
{
    [ThreadStatic] private static float[]? t_keys;
    [ThreadStatic] private static int[]? t_indices;

    /// <summary>Draws every row with transform <typeparamref name="T"/>.</summary>
    public static void Rows<T>(nint logits, nint temperatures, nint keys, nint noise, nint indices, nint scores, GumbelTopKArgs args)
        where T : struct, ILogitTransform =>
        RowScheduler.For(args.Rows, args.Cols, new Job<T>(logits, temperatures, keys, noise, indices, scores, args));

    private readonly struct Job<T>(nint logits, nint temperatures, nint keys, nint noise, nint indices, nint scores, GumbelTopKArgs args) : IRowJob
        where T : struct, ILogitTransform
    {
        public void Run(int start, int end)
        {
            var heapKeys = t_keys is { } k && k.Length >= args.K ? k : (t_keys = new float[args.K]);
            var heapIndices = t_indices is { } i && i.Length >= args.K ? i : (t_indices = new int[args.K]);
            for (int row = start; row < end; row++)
                DrawRow<T>(row, args, (float*)logits, (float*)temperatures, (RngKey*)keys, (float*)noise, (int*)indices, (float*)scores, heapKeys, heapIndices);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DrawRow<T>(int row, GumbelTopKArgs args, float* logits, float* temperatures, RngKey* keys, float* noise,
        int* indices, float* scores, float[] heapKeys, int[] heapIndices)
        where T : struct, ILogitTransform
    {
        int cols = args.Cols, k = args.K;
        long start = (long)row * cols;
        long outStart = (long)row * k;
        float invT = args.PerRowTemperature != 0 ? SoftmaxMath.InverseTemperature(temperatures[row]) : args.InverseTemperature;
        var key = args.PerRowKeys != 0 && args.ExplicitNoise == 0 ? keys[row] : Rng.RowKey(args.Key, row);

        int count = 0;
        bool poisoned = false;
        for (int col = 0; col < cols; col++)
        {
            float z = default(T).Apply(logits[start + col], col) * invT;
            if (SoftmaxMath.Poisons(z))
            {
                poisoned = true;
                break;
            }
            if (z == float.NegativeInfinity)
                continue;
            if (count == k && args.ExplicitNoise == 0 && !KeyIndex.Before(z + MaxGumbel(args.Precision), col, heapKeys[0], heapIndices[0]))
                continue; // even the largest possible noise cannot enter the heap: skip the RNG
            float g = args.ExplicitNoise != 0 ? noise[start + col] : GumbelNoise.At(key, col, args.Offset, args.Precision);
            float kappa = z + g;
            if (count < k)
            {
                heapKeys[count] = kappa;
                heapIndices[count] = col;
                SiftUp(heapKeys, heapIndices, count++);
            }
            else if (KeyIndex.Before(kappa, col, heapKeys[0], heapIndices[0]))
            {
                heapKeys[0] = kappa;
                heapIndices[0] = col;
                SiftDown(heapKeys, heapIndices, count);
            }
        }
        if (poisoned)
        {
            for (int r = 0; r < k; r++)
            {
                indices[outStart + r] = SamplingMath.NoToken;
                scores[outStart + r] = float.NaN;
            }
            return;
        }
        // Pop the heap from the worst: fill the output back to front.
        for (int r = k - 1; r >= 0; r--)
        {
            if (r >= count)
            {
                indices[outStart + r] = SamplingMath.NoToken;
                scores[outStart + r] = float.NegativeInfinity;
                continue;
            }
            indices[outStart + r] = heapIndices[0];
            scores[outStart + r] = heapKeys[0];
            int last = --count;
            heapKeys[0] = heapKeys[last];
            heapIndices[0] = heapIndices[last];
            SiftDown(heapKeys, heapIndices, count);
        }
    }

    /// <summary>A bound on the noise (the construction's cap, rounded up), to skip columns that cannot enter the heap.</summary>
    private static float MaxGumbel(int precision) => precision == (int)VariatePrecision.Float64 ? 36.8f : 44.4f;

    // A min-heap in the order "worst first": the root is the pair every other pair comes before.
    private static void SiftUp(float[] keys, int[] indices, int i)
    {
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!KeyIndex.Before(keys[parent], indices[parent], keys[i], indices[i]))
                break;
            Swap(keys, indices, i, parent);
            i = parent;
        }
    }

    private static void SiftDown(float[] keys, int[] indices, int count)
    {
        int i = 0;
        while (true)
        {
            int left = 2 * i + 1, right = left + 1, worst = i;
            if (left < count && KeyIndex.Before(keys[worst], indices[worst], keys[left], indices[left]))
                worst = left;
            if (right < count && KeyIndex.Before(keys[worst], indices[worst], keys[right], indices[right]))
                worst = right;
            if (worst == i)
                return;
            Swap(keys, indices, i, worst);
            i = worst;
        }
    }

    private static void Swap(float[] keys, int[] indices, int a, int b)
    {
        (keys[a], keys[b]) = (keys[b], keys[a]);
        (indices[a], indices[b]) = (indices[b], indices[a]);
    }
}
