using System;
using System.Threading.Tasks;

namespace Kernels.Benchmarks;

/// <summary>Inputs and float64 references for checking kernel outputs before they are timed.</summary>
public static class Reference
{
    /// <summary>Parses "ROWSxCOLS".</summary>
    public static (int Rows, int Cols) ParseShape(string shape)
    {
        var parts = shape.Split('x');
        if (parts.Length != 2 || !int.TryParse(parts[0], out int rows) || !int.TryParse(parts[1], out int cols) || rows < 1 || cols < 1)
            throw new ArgumentException($"Shape '{shape}' is not ROWSxCOLS.", nameof(shape));
        return (rows, cols);
    }

    /// <summary>Random logits ~ N(0, <paramref name="scale"/>²) from a fixed seed (Box–Muller).</summary>
    public static float[] Logits(long count, int seed, double scale)
    {
        var data = GC.AllocateUninitializedArray<float>(checked((int)count));
        var random = new System.Random(seed);
        for (int i = 0; i < data.Length; i += 2)
        {
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            double r = scale * Math.Sqrt(-2.0 * Math.Log(u1));
            data[i] = (float)(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < data.Length)
                data[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
        }
        return data;
    }

    /// <summary>Row softmax (or log-softmax) of <c>transform(x)</c> in double precision.</summary>
    public static double[] Softmax(float[] x, int rows, int cols, bool log, Func<double, double>? transform = null)
    {
        var result = new double[(long)rows * cols];
        Parallel.For(0, rows, row =>
        {
            int start = row * cols;
            double max = double.NegativeInfinity;
            for (int i = 0; i < cols; i++)
            {
                double z = transform is null ? x[start + i] : transform(x[start + i]);
                result[start + i] = z;
                max = Math.Max(max, z);
            }
            double sum = 0;
            for (int i = 0; i < cols; i++)
                sum += Math.Exp(result[start + i] - max);
            double logSum = Math.Log(sum);
            for (int i = 0; i < cols; i++)
                result[start + i] = log ? result[start + i] - max - logSum : Math.Exp(result[start + i] - max) / sum;
        });
        return result;
    }

    /// <summary>
    /// The largest error of <paramref name="actual"/> against <paramref name="expected"/>: relative over elements whose
    /// reference exceeds 1e-30 for probabilities; |a − r| / max(|r|, 1) for log-probabilities. NaN counts as infinite.
    /// </summary>
    public static double MaxError(ReadOnlySpan<float> actual, double[] expected, bool log)
    {
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double r = expected[i];
            double a = actual[i];
            if (double.IsNaN(a))
                return double.PositiveInfinity;
            if (log)
                worst = Math.Max(worst, Math.Abs(a - r) / Math.Max(Math.Abs(r), 1.0));
            else if (r > 1e-30)
                worst = Math.Max(worst, Math.Abs(a - r) / r);
        }
        return worst;
    }

    /// <summary>Throws unless <paramref name="actual"/> matches <paramref name="expected"/> within <paramref name="tolerance"/>.</summary>
    public static double Check(string what, ReadOnlySpan<float> actual, double[] expected, bool log, double tolerance)
    {
        double error = MaxError(actual, expected, log);
        if (!(error <= tolerance))
            throw new InvalidOperationException($"{what}: max error {error:E3} exceeds {tolerance:E1}; the result is wrong, refusing to time it.");
        return error;
    }
}
