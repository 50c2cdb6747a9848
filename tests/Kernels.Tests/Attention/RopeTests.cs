using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Attention;

/// <summary>Rotary embedding on every backend present against a float64 rotation.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class RopeTests(Backend backend) : BackendTest(backend)
{
    [TestCase(RopeLayout.Half, 64)]
    [TestCase(RopeLayout.Interleaved, 128)]
    [TestCase(RopeLayout.Half, 6)]
    public void RotationEqualsTheFloat64Rotation(RopeLayout layout, int d)
    {
        int[] positions = { 0, 1, 7, 4099, 131_071, 1_000_003, int.MaxValue };
        var x = TestData.Logits(positions.Length * d, seed: d, scale: 1.0);
        var y = (float[])x.Clone();
        Rope.Run(Runtime, y, positions, positions.Length, d, 500000, layout);
        for (int r = 0; r < positions.Length; r++)
        {
            var expected = Rotate(x.AsSpan(r * d, d).ToArray(), positions[r], 500000, layout);
            Compare.Close(y.AsSpan(r * d, d), expected, 1e-6, 2e-6, $"position {positions[r]}");
        }
    }

    [Test]
    public void ScoresDependOnlyOnTheDistance()
    {
        const int d = 64;
        var q = TestData.Logits(d, seed: 1, scale: 1.0);
        var k = TestData.Logits(d, seed: 2, scale: 1.0);
        double Score(int pq, int pk)
        {
            var a = (float[])q.Clone();
            var b = (float[])k.Clone();
            Rope.Run(Runtime, a, new[] { pq }, 1, d);
            Rope.Run(Runtime, b, new[] { pk }, 1, d);
            return a.Zip(b, (u, v) => (double)u * v).Sum();
        }
        double near = Score(10, 3);
        Assert.That(Score(100_007, 100_000), Is.EqualTo(near).Within(1e-4));
        Assert.That(Score(7, 0), Is.EqualTo(near).Within(1e-4));
    }

    /// <summary>RoPE in double: pair i turned by position·θ^(−2i/d).</summary>
    internal static double[] Rotate(float[] x, long position, double theta, RopeLayout layout)
    {
        int d = x.Length, half = d / 2;
        var y = x.Select(v => (double)v).ToArray();
        for (int i = 0; i < half; i++)
        {
            double angle = position * Math.Pow(theta, -2.0 * i / d);
            int a = layout == RopeLayout.Half ? i : 2 * i, b = layout == RopeLayout.Half ? i + half : 2 * i + 1;
            y[a] = x[a] * Math.Cos(angle) - x[b] * Math.Sin(angle);
            y[b] = x[b] * Math.Cos(angle) + x[a] * Math.Sin(angle);
        }
        return y;
    }
}
