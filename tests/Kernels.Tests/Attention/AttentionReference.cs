using System;

namespace Kernels.Tests.Attention;

/// <summary>Exact attention in float64, written plainly: the reference every attention kernel is tested against.</summary>
public static class AttentionReference
{
    /// <summary>An exact state: O [rows, d] and LSE [rows] in float64.</summary>
    public sealed record State(double[] Output, double[] Lse);

    /// <summary>
    /// Block attention with the library's layout and masks: query i of head h sees keys j &lt; keyLength (and, causal,
    /// j ≤ offset + i); an empty row gives O = 0, LSE = −inf.
    /// </summary>
    public static State Block(float[] q, float[] k, float[] v, AttentionShape shape, double scale, bool causal = false,
        int offset = 0, int? keyLength = null, float[]? bias = null)
    {
        int d = shape.HeadDim, length = keyLength ?? shape.Keys, group = shape.Heads / shape.KvHeads;
        var output = new double[shape.QueryElements];
        var lse = new double[shape.Rows];
        for (int h = 0; h < shape.Heads; h++)
        {
            for (int i = 0; i < shape.Queries; i++)
            {
                long row = (long)h * shape.Queries + i;
                long visible = causal ? Math.Clamp((long)offset + i + 1, 0, length) : length;
                var keys = new int[visible];
                for (int j = 0; j < visible; j++)
                    keys[j] = j;
                var (o, l) = Row(q, row * d, k, v, (long)(h / group) * shape.Keys * d, keys, d, scale,
                    bias is null ? null : j => bias[row * shape.Keys + j]);
                Array.Copy(o, 0, output, row * d, d);
                lse[row] = l;
            }
        }
        return new State(output, lse);
    }

    /// <summary>
    /// One query row against the listed key rows of a head (K and V rows at <paramref name="kvBase"/> + j·d), with an
    /// optional extra logit (bias) per key and an optional sink logit in the denominator only.
    /// </summary>
    public static (double[] Output, double Lse) Row(float[] q, long qBase, float[] k, float[] v, long kvBase, int[] keys, int d,
        double scale, Func<int, double>? bias = null, double? sink = null)
    {
        var scores = new double[keys.Length];
        double max = sink ?? double.NegativeInfinity;
        for (int t = 0; t < keys.Length; t++)
        {
            double s = 0;
            for (int c = 0; c < d; c++)
                s += (double)q[qBase + c] * k[kvBase + (long)keys[t] * d + c];
            s = s * scale + (bias?.Invoke(keys[t]) ?? 0);
            scores[t] = s;
            if (double.IsNaN(s) || s == double.PositiveInfinity)
                max = double.NaN;
            else if (!double.IsNaN(max))
                max = Math.Max(max, s);
        }
        var output = new double[d];
        if (double.IsNaN(max))
        {
            Array.Fill(output, double.NaN);
            return (output, double.NaN);
        }
        if (max == double.NegativeInfinity)
            return (output, double.NegativeInfinity);
        double sum = sink is { } z ? Math.Exp(z - max) : 0;
        for (int t = 0; t < keys.Length; t++)
        {
            double w = Math.Exp(scores[t] - max);
            sum += w;
            for (int c = 0; c < d; c++)
                output[c] += w * v[kvBase + (long)keys[t] * d + c];
        }
        for (int c = 0; c < d; c++)
            output[c] /= sum;
        return (output, max + Math.Log(sum));
    }
}
