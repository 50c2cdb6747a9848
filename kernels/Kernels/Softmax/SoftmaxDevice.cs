using System;
using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The ILGPU side of the softmax family: one group per row. Softmax uses the two-pass (mantissa, exponent) algorithm
/// (pass 1 reduces Σ e^z as m·2^e, pass 2 writes), so the input is read twice and never needs a separate max pass.
/// </summary>
public static class SoftmaxDevice
{
    /// <summary>Processes row <c>Grid.IdxX</c> with transform <typeparamref name="T"/>. Launch with one group per row.</summary>
    public static void Row<T>(ArrayView<float> input, ArrayView<float> output, ArrayView<float> temperatures, ArrayView<float> mask, SoftmaxArgs args)
        where T : struct, ILogitTransform
    {
        int row = Grid.IdxX;
        if (row >= args.Rows)
            return;
        int tid = Group.IdxX;
        int size = Group.DimX;
        long start = (long)row * args.Cols;
        float invT = args.PerRowTemperature != 0 ? SoftmaxMath.InverseTemperature(temperatures[row]) : args.InverseTemperature;

        // Pass 1: the normaliser, and whether the row holds NaN/+inf. Each thread sums blocks of BlockTerms terms and
        // folds the blocks into its total, so a long row on a small group (the emulator's 16 threads) keeps the float
        // rounding error near (BlockTerms + n / BlockTerms)·ε instead of n·ε.
        bool stable = args.Activation == (int)SoftmaxActivation.StableMax;
        var zero = stable ? new FloatPair(0f, 0f) : MantissaExponent.Empty;
        var sum = zero;
        var block = zero;
        float poisoned = 0f;
        // Loops run the same number of times in every thread of the group, with the bound checked inside: PoCL 3.1
        // miscompiles thread-dependent trip counts in kernels with barriers (threads past the row end wrote once).
        for (int first = 0, terms = 0; first < args.Cols; first += size)
        {
            int col = first + tid;
            if (col < args.Cols)
            {
                float z = Logit<T>(input, mask, args, start, col, invT);
                if (SoftmaxMath.Poisons(z))
                    poisoned = 1f;
                else
                    block = Add(block, stable ? new FloatPair(SoftmaxMath.Stable(z), 0f) : MantissaExponent.FromLogit(z), stable);
            }
            if (++terms == BlockTerms)
            {
                sum = Add(sum, block, stable);
                block = zero;
                terms = 0;
            }
        }
        sum = Add(sum, block, stable);
        poisoned = GroupReduce.Max(poisoned);
        if (stable)
            sum.A = GroupReduce.Sum(sum.A);
        else
            sum = GroupReduce.Reduce<MantissaExponent>(sum);

        // Pass 2: the outputs.
        bool empty = sum.A == 0f;
        if (args.Output == (int)SoftmaxOutput.LogSumExp)
        {
            if (tid == 0)
                output[row] = poisoned != 0f ? float.NaN : LogNormaliser(sum, args.Activation);
            return;
        }
        for (int first = 0; first < args.Cols; first += size)
        {
            int col = first + tid;
            if (col < args.Cols)
                output[start + col] = poisoned != 0f ? float.NaN : Output(Logit<T>(input, mask, args, start, col, invT), sum, empty, args);
        }
    }

    private const int BlockTerms = 64;

    private static FloatPair Add(FloatPair x, FloatPair y, bool stable) =>
        stable ? new FloatPair(x.A + y.A, 0f) : default(MantissaExponent).Combine(x, y);

    private static float Output(float z, FloatPair sum, bool empty, SoftmaxArgs args)
    {
        bool log = args.Output == (int)SoftmaxOutput.LogProbabilities;
        if (empty)
            return log ? float.NegativeInfinity : 0f;
        if (args.Activation == (int)SoftmaxActivation.StableMax)
        {
            float s = SoftmaxMath.Stable(z);
            return log ? MathF.Log(s) - MathF.Log(sum.A) : s / sum.A;
        }
        if (z == float.NegativeInfinity)
            return log ? float.NegativeInfinity : 0f;
        return log ? MantissaExponent.LogRatio(z, sum) : MantissaExponent.Ratio(z, sum);
    }

    private static float LogNormaliser(FloatPair sum, int activation) =>
        activation == (int)SoftmaxActivation.StableMax
            ? (sum.A == 0f ? float.NegativeInfinity : MathF.Log(sum.A))
            : MantissaExponent.Log(sum);

    private static float Logit<T>(ArrayView<float> input, ArrayView<float> mask, SoftmaxArgs args, long start, int col, float invT)
        where T : struct, ILogitTransform
    {
        float z = default(T).Apply(input[start + col], col) * invT;
        return args.HasMask != 0 ? z + mask[start + col] : z;
    }
}
