using System;
using System.Collections.Generic;
using System.Linq;
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
    public static double[] Softmax(float[] x, int rows, int cols, bool log, Func<double, double>? transform = null) =>
        Compute(x, rows, cols, log ? SoftmaxOutput.LogProbabilities : SoftmaxOutput.Probabilities, stableMax: false, _ => 1.0, null, transform);

    /// <summary>
    /// The softmax family in float64, written plainly — the one reference of the benchmarks and the CLI demo: per row
    /// z = transform(x) / T(row) + mask, then softmax (or StableMax) written as <paramref name="output"/>: rows*cols
    /// values, or one per row for log-sum-exp. A row whose z are all −inf gives 0, −inf, −inf.
    /// </summary>
    public static double[] Compute(float[] x, int rows, int cols, SoftmaxOutput output, bool stableMax,
        Func<int, double> temperature, float[]? mask = null, Func<double, double>? transform = null)
    {
        var result = new double[output == SoftmaxOutput.LogSumExp ? rows : (long)rows * cols];
        Parallel.For(0, rows, () => new double[cols], (row, _, z) =>
        {
            long start = (long)row * cols;
            double invT = 1.0 / temperature(row);
            double max = double.NegativeInfinity;
            for (int i = 0; i < cols; i++)
            {
                double v = transform is null ? x[start + i] : transform(x[start + i]);
                z[i] = v * invT + (mask is null ? 0.0 : mask[start + i]);
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
                return z;
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
            return z;
        }, _ => { });
        return result;
    }

    private static double Stable(double z) => z >= 0 ? z + 1 : 1 / (1 - z);

    /// <summary>
    /// Max error (relative over references above 1e-30 for probabilities; |a − r| / max(|r|, 1) for log outputs) and
    /// exact mismatches (zeros, −inf and NaN that must match exactly).
    /// </summary>
    public static (double MaxError, long Mismatches) Compare(ReadOnlySpan<float> actual, double[] expected, SoftmaxOutput output)
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
        return (worst, mismatches);
    }

    /// <summary>The largest error of <paramref name="actual"/> (see <see cref="Compare"/>); a mismatch counts as infinite.</summary>
    public static double MaxError(ReadOnlySpan<float> actual, double[] expected, bool log)
    {
        var (error, mismatches) = Compare(actual, expected, log ? SoftmaxOutput.LogProbabilities : SoftmaxOutput.Probabilities);
        return mismatches > 0 ? double.PositiveInfinity : error;
    }

    /// <summary>Throws unless <paramref name="actual"/> matches <paramref name="expected"/> within <paramref name="tolerance"/>.</summary>
    public static double Check(string what, ReadOnlySpan<float> actual, double[] expected, bool log, double tolerance)
    {
        double error = MaxError(actual, expected, log);
        if (!(error <= tolerance))
            throw new InvalidOperationException($"{what}: max error {error:E3} exceeds {tolerance:E1}; the result is wrong, refusing to time it.");
        return error;
    }

    /// <summary>The columns of a row in the truncation order: value descending, column ascending.</summary>
    public static int[] Order(ReadOnlySpan<float> row)
    {
        var values = row.ToArray();
        return Enumerable.Range(0, values.Length).OrderByDescending(i => values[i]).ThenBy(i => i).ToArray();
    }

    /// <summary>
    /// The kept set of a decode sampler's row from its definition, in float64 over the row sorted in
    /// <paramref name="order"/>: the first k columns (k ≤ 0 or k ≥ V: all), those with exp((x − max)/T) ≥ min-p, then
    /// the smallest prefix of them with mass ≥ p of theirs (p = 1: all).
    /// </summary>
    public static HashSet<int> KeptSet(ReadOnlySpan<float> row, IReadOnlyList<int> order, double temperature, int k, double p, double minP)
    {
        double max = row[order[0]] / temperature;
        var candidates = new List<(int Column, double E)>();
        for (int r = 0; r < (k > 0 && k < row.Length ? k : row.Length); r++)
        {
            double e = Math.Exp(row[order[r]] / temperature - max);
            if (e >= minP)
                candidates.Add((order[r], e));
        }
        double total = candidates.Sum(c => c.E), before = 0;
        var kept = new HashSet<int>();
        foreach (var (column, e) in candidates)
        {
            if (p < 1 && !(before < p * total))
                break;
            kept.Add(column);
            before += e;
        }
        return kept;
    }
}
