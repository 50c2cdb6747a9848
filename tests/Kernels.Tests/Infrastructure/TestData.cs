using System;

namespace Kernels.Tests.Infrastructure;

/// <summary>Deterministic test inputs.</summary>
public static class TestData
{
    /// <summary>Normal(0, scale) logits from a fixed seed.</summary>
    public static float[] Logits(int count, int seed, double scale = 3.0, double shift = 0.0)
    {
        var random = new System.Random(seed);
        var data = new float[count];
        for (int i = 0; i < count; i++)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            data[i] = (float)(shift + scale * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return data;
    }

    /// <summary>Uniform values in [lo, hi).</summary>
    public static float[] Uniform(int count, int seed, double lo, double hi)
    {
        var random = new System.Random(seed);
        var data = new float[count];
        for (int i = 0; i < count; i++)
            data[i] = (float)(lo + (hi - lo) * random.NextDouble());
        return data;
    }
}
