using System;
using System.Threading.Tasks;

namespace Kernels.Cli;

/// <summary>Plain float64 references for the softmax family, and the error measure the demo reports.</summary>
public static class ReferenceMath
{
    /// <summary>Logits ~ N(0, <paramref name="scale"/>²) from a fixed seed (Box–Muller).</summary>
    public static float[] Logits(int count, int seed, double scale)
    {
        var data = new float[count];
        var random = new System.Random(seed);
        for (int i = 0; i < count; i += 2)
        {
            double r = scale * Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble()));
            double angle = 2 * Math.PI * random.NextDouble();
            data[i] = (float)(r * Math.Cos(angle));
            if (i + 1 < count) data[i + 1] = (float)(r * Math.Sin(angle));
        }
        return data;
    }

    /// <summary>
    /// Per row, z = x / T(row) + mask, then softmax (or StableMax) written as <paramref name="output"/>: rows*cols values,
    /// or one per row for log-sum-exp. A row whose z are all −inf gives 0, −inf, −inf.
    /// </summary>
    public static double[] Compute(float[] x, int rows, int cols, SoftmaxOutput output, bool stableMax,
        Func<int, double> temperature, float[]? mask = null)
    {
        var result = new double[output == SoftmaxOutput.LogSumExp ? rows : (long)rows * cols];
        Parallel.For(0, rows, row =>
        {
            long start = (long)row * cols;
            double invT = 1.0 / temperature(row);
            var z = new double[cols];
            double max = double.NegativeInfinity;
            for (int i = 0; i < cols; i++)
            {
                z[i] = x[start + i] * invT + (mask is null ? 0.0 : mask[start + i]);
                max = Math.Max(max, z[i]);
            }

            double sum = 0;
            for (int i = 0; i < cols; i++)
                sum += stableMax ? Stable(z[i]) : Math.Exp(z[i] - max);
            bool empty = stableMax ? sum == 0 : max == double.NegativeInfinity;
            // log Σ: for softmax m + log Σ e^(z−m); for StableMax log Σ s(z).
            double logSum = empty ? double.NegativeInfinity : stableMax ? Math.Log(sum) : max + Math.Log(sum);

            if (output == SoftmaxOutput.LogSumExp)
            {
                result[row] = logSum;
                return;
            }
            for (int i = 0; i < cols; i++)
            {
                double value;
                if (empty || z[i] == double.NegativeInfinity)
                    value = output == SoftmaxOutput.Probabilities ? 0.0 : double.NegativeInfinity;
                else if (output == SoftmaxOutput.Probabilities)
                    value = stableMax ? Stable(z[i]) / sum : Math.Exp(z[i] - max) / sum;
                else
                    value = (stableMax ? Math.Log(Stable(z[i])) : z[i]) - logSum;
                result[start + i] = value;
            }
        });
        return result;
    }

    private static double Stable(double z) => z >= 0 ? z + 1 : 1 / (1 - z);

    /// <summary>The outcome of comparing a kernel's output with the reference.</summary>
    /// <param name="MaxError">
    /// Probabilities: the largest relative error over elements whose reference exceeds 1e-30. Log outputs:
    /// the largest |a − r| / max(|r|, 1) over finite references.
    /// </param>
    /// <param name="Mismatches">Elements that must be exact and are not (0 or −inf references, NaN outputs).</param>
    public readonly record struct Comparison(double MaxError, long Mismatches);

    /// <summary>Compares <paramref name="actual"/> with <paramref name="expected"/>.</summary>
    public static Comparison Compare(ReadOnlySpan<float> actual, double[] expected, SoftmaxOutput output)
    {
        double worst = 0;
        long mismatches = 0;
        bool log = output != SoftmaxOutput.Probabilities;
        for (int i = 0; i < expected.Length; i++)
        {
            double r = expected[i];
            double a = actual[i];
            if (double.IsNaN(a) || double.IsNaN(r))
            {
                if (double.IsNaN(a) != double.IsNaN(r)) mismatches++;
            }
            else if (log)
            {
                if (double.IsInfinity(r) || double.IsInfinity(a))
                {
                    if (a != r) mismatches++;
                }
                else
                    worst = Math.Max(worst, Math.Abs(a - r) / Math.Max(Math.Abs(r), 1.0));
            }
            else if (r > 1e-30)
                worst = Math.Max(worst, Math.Abs(a - r) / r);
            else if (r == 0 && a != 0)
                mismatches++;
        }
        return new Comparison(worst, mismatches);
    }
}
