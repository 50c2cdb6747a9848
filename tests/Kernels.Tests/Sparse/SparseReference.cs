using System;
using System.Linq;

namespace Kernels.Tests.Sparse;

/// <summary>Plain references for the sparse family: sort-based masks and a float64 matrix product.</summary>
internal static class SparseReference
{
    /// <summary>The N:M magnitude mask by a stable sort of each group by descending |w| (NaN first), lowest index first among equals.</summary>
    public static byte[] Mask(float[] w, int rows, int cols, int n, int m)
    {
        var mask = new byte[w.Length];
        for (int g = 0; g < rows * cols / m; g++)
        {
            var order = Enumerable.Range(0, m)
                .OrderByDescending(i => float.IsNaN(w[g * m + i]) ? double.PositiveInfinity : Math.Abs((double)w[g * m + i]))
                .ThenBy(i => i)
                .Take(n);
            foreach (int i in order)
                mask[g * m + i] = 1;
        }
        return mask;
    }

    /// <summary>Y [batch, out] = X [batch, in] · Wᵀ (+ bias) in float64, W dense [out, in].</summary>
    public static double[] Product(float[] x, float[] w, int batch, int outs, int ins, float[]? bias = null)
    {
        var y = new double[batch * outs];
        for (int r = 0; r < batch; r++)
        {
            for (int o = 0; o < outs; o++)
            {
                double s = bias is null ? 0.0 : bias[o];
                for (int k = 0; k < ins; k++)
                    s += (double)x[r * ins + k] * w[o * ins + k];
                y[r * outs + o] = s;
            }
        }
        return y;
    }

    /// <summary>Σ|x||w| per output: the scale of a float32 product's rounding error.</summary>
    public static double[] AbsProduct(float[] x, float[] w, int batch, int outs, int ins)
    {
        var y = new double[batch * outs];
        for (int r = 0; r < batch; r++)
            for (int o = 0; o < outs; o++)
                for (int k = 0; k < ins; k++)
                    y[r * outs + o] += Math.Abs((double)x[r * ins + k] * w[o * ins + k]);
        return y;
    }

    /// <summary>Weights with many exact ties (small integers, half of them negated) so that the tie-break matters.</summary>
    public static float[] TiedWeights(int count, int seed)
    {
        var random = new System.Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(random.Next(4) * (random.Next(2) == 0 ? 1 : -1))).ToArray();
    }
}
