using System;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Kernels.Cpu;
using NUnit.Framework;

namespace Kernels.Tests.Cpu;

/// <summary>
/// The CPU vector math at both widths against double-precision System.Math, over a dense sweep of each function's
/// range and its special values: the fused transforms and the softmax exponent rely on these bounds.
/// </summary>
[TestFixture]
public class VectorMathTests
{
    private const int Points = 200_000;

    private static float[] Sweep(double from, double to)
    {
        var xs = new float[Points];
        for (int i = 0; i < Points; i++)
            xs[i] = (float)(from + (to - from) * i / (Points - 1));
        return xs;
    }

    /// <summary>
    /// Runs <paramref name="f8"/> and <paramref name="f16"/> on every input; both must give the same bits on AVX-512
    /// hardware (elsewhere Vector512 is emulated, without the same reciprocal estimate: within an ulp).
    /// </summary>
    private static float[] Both(float[] xs, Func<Vector256<float>, Vector256<float>> f8, Func<Vector512<float>, Vector512<float>> f16)
    {
        var result = new float[xs.Length];
        for (int i = 0; i + 16 <= xs.Length; i += 16)
        {
            var wide = f16(Vector512.Create(xs.AsSpan(i, 16)));
            var lo = f8(Vector256.Create(xs.AsSpan(i, 8)));
            var hi = f8(Vector256.Create(xs.AsSpan(i + 8, 8)));
            for (int k = 0; k < 16; k++)
            {
                float narrow = k < 8 ? lo[k] : hi[k - 8];
                if (Avx512F.VL.IsSupported || float.IsNaN(narrow))
                    Assert.That(BitConverter.SingleToInt32Bits(wide[k]), Is.EqualTo(BitConverter.SingleToInt32Bits(narrow)),
                        $"x = {xs[i + k]:R}: 16 lanes give {wide[k]:R}, 8 lanes {narrow:R}");
                else
                    Assert.That(wide[k], Is.EqualTo(narrow).Within(1).Ulps, $"x = {xs[i + k]:R}");
                result[i + k] = wide[k];
            }
        }
        return result;
    }

    private static void AssertRelative(float[] xs, float[] ys, Func<double, double> exact, double bound, double below = 0)
    {
        double worst = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            double e = exact(xs[i]);
            if (Math.Abs(e) <= below)
                continue;
            worst = Math.Max(worst, Math.Abs(ys[i] - e) / Math.Abs(e));
        }
        Assert.That(worst, Is.LessThanOrEqualTo(bound));
    }

    [Test]
    public void ExpNonPositiveIsWithinTwoUlpAndFlushesBelowTheBound()
    {
        var xs = Sweep(-86.6, 0);
        AssertRelative(xs, Both(xs, VectorMath.ExpNonPositive, VectorMath.ExpNonPositive), Math.Exp, 2.4e-7);
        var special = new[] { 0f, -0f, -1e-30f, -86.7f, -100f, -1e30f, float.NegativeInfinity, -87.4f, -88f, -200f, -1e-3f, -0.5f, -0.35f, -0.36f, -50f, float.NaN };
        var ys = Both(special, VectorMath.ExpNonPositive, VectorMath.ExpNonPositive);
        Assert.That(ys[^1], Is.NaN, "softmax finds NaN rows by their NaN sum");
        for (int i = 0; i < special.Length - 1; i++)
        {
            if (special[i] < -86.64f)
                Assert.That(ys[i], Is.EqualTo(0f), $"e^{special[i]:R}");
            else
                Assert.That(ys[i], Is.EqualTo(Math.Exp(special[i])).Within(2.4e-7).Percent.Or.EqualTo((float)Math.Exp(special[i])).Within(1).Ulps, $"e^{special[i]:R}");
        }
    }

    [Test]
    public void ExpIsWithinTwoUlpWithOverflowAndNaN()
    {
        var xs = Sweep(-86.6, 88.7);
        AssertRelative(xs, Both(xs, VectorMath.Exp, VectorMath.Exp), Math.Exp, 2.4e-7);
        var special = new[] { float.NaN, float.PositiveInfinity, 89f, 1e30f, float.NegativeInfinity, -100f, 0f, 1f, -1f, 88.7f, 10f, -10f, 50f, -50f, 20f, -20f };
        var ys = Both(special, VectorMath.Exp, VectorMath.Exp);
        Assert.That(ys[0], Is.NaN);
        Assert.That(ys[1], Is.EqualTo(float.PositiveInfinity));
        Assert.That(ys[2], Is.EqualTo(float.PositiveInfinity));
        Assert.That(ys[3], Is.EqualTo(float.PositiveInfinity));
        Assert.That(ys[4], Is.EqualTo(0f));
        Assert.That(ys[5], Is.EqualTo(0f));
        Assert.That(ys[6], Is.EqualTo(1f));
    }

    [Test]
    public void TanhIsWithinSixTenthsOfAMillionthAndKeepsNaN()
    {
        var xs = Sweep(-10, 10);
        AssertRelative(xs, Both(xs, VectorMath.Tanh, VectorMath.Tanh), Math.Tanh, 6e-7);
        var special = new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1e-30f, -1e-30f, 20f, -20f, 1e30f, -1e30f, 7.9f, -7.9f, 1f, -1f, 0.5f };
        var ys = Both(special, VectorMath.Tanh, VectorMath.Tanh);
        Assert.That(ys[0], Is.NaN, "tanh(NaN)");
        Assert.That(ys[1], Is.EqualTo(1f).Within(3e-7), "tanh(+inf): the rational at the clamp");
        Assert.That(ys[2], Is.EqualTo(-1f).Within(3e-7), "tanh(-inf)");
        for (int i = 3; i < special.Length; i++)
            Assert.That(ys[i], Is.EqualTo(Math.Tanh(special[i])).Within(6e-5).Percent, $"tanh({special[i]:R})");
    }

    [Test]
    public void LogMatchesAtBothWidths()
    {
        var xs = Sweep(1e-6, 1e6);
        AssertRelative(xs, Both(xs, VectorMath.Log, VectorMath.Log), Math.Log, 3e-7, below: 1e-3);
    }
}
