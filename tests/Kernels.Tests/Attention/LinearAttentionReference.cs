using System;

namespace Kernels.Tests.Attention;

/// <summary>
/// The explicit O(n²) kernelised attention in float64: o_i = Σ_j (φ(q_i)·φ(k_j)) v_j / Σ_j φ(q_i)·φ(k_j) over j ≤ i
/// (causal) or all j, with φ evaluated in double from the attention's own projection.
/// </summary>
public static class LinearAttentionReference
{
    public static double[] Attend(LinearAttention attention, float[] q, float[] k, float[] v, int heads, int tokens, int valueDim, bool causal)
    {
        int d = attention.HeadDim, dv = valueDim;
        var o = new double[heads * tokens * dv];
        for (int h = 0; h < heads; h++)
        {
            var phiK = new double[tokens][];
            for (int j = 0; j < tokens; j++)
                phiK[j] = Features(attention, k, (h * tokens + j) * d);
            for (int i = 0; i < tokens; i++)
            {
                var phiQ = Features(attention, q, (h * tokens + i) * d);
                double den = 0;
                var num = new double[dv];
                for (int j = 0; j < (causal ? i + 1 : tokens); j++)
                {
                    double a = 0;
                    for (int f = 0; f < phiQ.Length; f++)
                        a += phiQ[f] * phiK[j][f];
                    den += a;
                    for (int c = 0; c < dv; c++)
                        num[c] += a * v[(h * tokens + j) * dv + c];
                }
                for (int c = 0; c < dv; c++)
                    o[(h * tokens + i) * dv + c] = den == 0 ? 0 : num[c] / den;
            }
        }
        return o;
    }

    public static double[] Features(LinearAttention attention, float[] x, int start)
    {
        int d = attention.HeadDim, m = attention.Features;
        var phi = new double[m];
        if (attention.FeatureMap == LinearFeatureMap.EluPlusOne)
        {
            for (int j = 0; j < d; j++)
                phi[j] = x[start + j] > 0 ? x[start + j] + 1.0 : Math.Exp(x[start + j]);
            return phi;
        }
        double scale = Math.Pow(d, -0.25), half = 0;
        for (int j = 0; j < d; j++)
            half += x[start + j] * scale * x[start + j] * scale / 2;
        var w = attention.Projection;
        for (int f = 0; f < m; f++)
        {
            double dot = 0;
            for (int j = 0; j < d; j++)
                dot += w[f * d + j] * (x[start + j] * scale);
            phi[f] = Math.Exp(dot - half);
        }
        return phi;
    }
}
