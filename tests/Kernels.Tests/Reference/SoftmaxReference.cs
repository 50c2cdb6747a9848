using System;

namespace Kernels.Tests.Reference;

/// <summary>
/// The softmax family in float64, written plainly: z = transform(x, col) / T + mask; max-subtracted exp; the documented
/// outcomes for rows holding NaN/+inf (all NaN) and rows of all −inf (0, −inf, −inf).
/// </summary>
public static class SoftmaxReference
{
    public static double[] Compute(
        float[] x, int rows, int cols, SoftmaxOutput output, SoftmaxActivation activation = SoftmaxActivation.Softmax,
        double temperature = 1, float[]? temperatures = null, float[]? mask = null, Func<double, int, double>? transform = null)
    {
        var result = new double[output == SoftmaxOutput.LogSumExp ? rows : rows * cols];
        var z = new double[cols];
        for (int r = 0; r < rows; r++)
        {
            double t = temperatures is null ? temperature : temperatures[r];
            double invT = t > 0 && !double.IsInfinity(t) && !float.IsInfinity(1f / (float)t) ? 1 / t : double.NaN;
            bool poisoned = false;
            for (int c = 0; c < cols; c++)
            {
                double v = x[r * cols + c];
                v = (transform is null ? v : transform(v, c)) * invT;
                if (mask is not null) v += mask[r * cols + c];
                z[c] = v;
                poisoned |= double.IsNaN(v) || double.IsPositiveInfinity(v);
            }
            Row(z, poisoned, output, activation, result.AsSpan(output == SoftmaxOutput.LogSumExp ? r : r * cols, output == SoftmaxOutput.LogSumExp ? 1 : cols));
        }
        return result;
    }

    private static void Row(double[] z, bool poisoned, SoftmaxOutput output, SoftmaxActivation activation, Span<double> y)
    {
        if (poisoned)
        {
            y.Fill(double.NaN);
            return;
        }
        Func<double, double> positive;
        double shift = 0;
        if (activation == SoftmaxActivation.StableMax)
            positive = v => v >= 0 ? v + 1 : 1 / (1 - v);
        else
        {
            shift = double.NegativeInfinity;
            foreach (double v in z) shift = Math.Max(shift, v);
            double m = shift;
            positive = v => Math.Exp(v - m);
        }
        double sum = 0;
        foreach (double v in z) sum += positive(v);
        if (sum == 0 || double.IsNegativeInfinity(shift))
        {
            y.Fill(output == SoftmaxOutput.Probabilities ? 0 : double.NegativeInfinity);
            return;
        }
        double logSum = Math.Log(sum) + (activation == SoftmaxActivation.StableMax ? 0 : shift);
        if (output == SoftmaxOutput.LogSumExp)
        {
            y[0] = logSum;
            return;
        }
        for (int c = 0; c < z.Length; c++)
            y[c] = output == SoftmaxOutput.Probabilities ? positive(z[c]) / sum
                : activation == SoftmaxActivation.StableMax ? Math.Log(positive(z[c])) - Math.Log(sum)
                : z[c] - logSum;
    }
}
