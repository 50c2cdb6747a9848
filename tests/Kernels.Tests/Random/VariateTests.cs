using System;
using System.Linq;
using System.Runtime.Intrinsics;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using Kernels.Tests.Statistics;
using NUnit.Framework;

namespace Kernels.Tests.Randomness;

/// <summary>
/// Uniform, exponential and Gumbel variates: their range and caps at the extreme integers, their laws (KS), the
/// precision of the float32 construction down to probability 2^-64, the portable math, and the same bits inside
/// kernels on every ILGPU backend.
/// </summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class VariateTests(Backend backend) : BackendTest(backend)
{
    [Test]
    public void ExtremeIntegersGiveFiniteVariatesWithACapOfAtLeast36()
    {
        foreach (ulong bits in new[] { 0UL, ulong.MaxValue })
        {
            double u = Variates.Uniform(bits);
            Assert.That(u, Is.GreaterThan(0.0).And.LessThan(1.0), $"uniform of {bits:x}");
            Assert.That(double.IsFinite(Variates.Exponential(bits)) && double.IsFinite(Variates.Gumbel(bits)), $"float64 variates of {bits:x}");
            Assert.That(float.IsFinite(Variates.ExponentialF32(bits)) && float.IsFinite(Variates.GumbelF32(bits)), $"float32 variates of {bits:x}");
        }
        Assert.That(Variates.Uniform(0), Is.EqualTo(Math.ScaleB(1.0, -53)));
        Assert.That(Variates.Uniform(ulong.MaxValue), Is.EqualTo(1.0 - Math.ScaleB(1.0, -53)));
        double cap64 = Math.Max(Variates.Gumbel(0), Variates.Gumbel(ulong.MaxValue));
        float cap32 = Math.Max(Variates.GumbelF32(0), Variates.GumbelF32(ulong.MaxValue));
        Assert.That(cap64, Is.GreaterThanOrEqualTo(36.0).And.EqualTo(36.7368).Within(1e-3), "float64 Gumbel cap");
        Assert.That(cap32, Is.GreaterThanOrEqualTo(36.0f).And.EqualTo(44.3614f).Within(1e-3f), "float32 Gumbel cap");
        // The control: a float32 uniform (24 bits) caps the Gumbel noise at 16.64.
        float u24 = 1f - MathF.ScaleB(1f, -24);
        Assert.That(-MathF.Log(-MathF.Log(u24)), Is.EqualTo(16.6355f).Within(1e-3f));
        // Exponentials never reach 0.
        Assert.That(Variates.ExponentialF32(0), Is.GreaterThan(0f));
        Assert.That(Variates.Exponential(ulong.MaxValue), Is.GreaterThan(0.0));
    }

    [Test]
    public void Float32ConstructionFollowsTheExactQuantilesDownToTwoToTheMinus64()
    {
        // E(k) must be −ln(1 − k/2^64) (k/2^64 is the complement v) for every k: then the law of G = −ln E is exact
        // down to probability 2^-64, which covers the upper tail that decides Gumbel-max samples.
        var random = new System.Random(9);
        for (int shift = 0; shift < 64; shift++)
        {
            for (int trial = 0; trial < 40; trial++)
            {
                ulong k = ((ulong)random.NextInt64() | (1UL << 63)) >> shift;
                double v = Math.ScaleB((double)(k | 1), -64);
                double exact = k < 0x4000000000000000UL ? -Log1p(-v) : -Math.Log(Math.ScaleB((double)(~k | 1), -64));
                float e = Variates.ExponentialF32(k);
                Assert.That(Math.Abs(e - exact), Is.LessThanOrEqualTo(4e-7 * exact), $"E of 0x{k:x16}");
                float g = Variates.GumbelF32(k);
                Assert.That(Math.Abs(g + Math.Log(exact)), Is.LessThanOrEqualTo(6e-7 * Math.Max(1.0, Math.Abs(Math.Log(exact)))), $"G of 0x{k:x16}");
            }
        }
    }

    [Test]
    public void PortableMathIsAccurateAndItsVectorFormIsBitIdentical()
    {
        var random = new System.Random(4);
        for (int i = 0; i < 20000; i++)
        {
            float x = (float)Math.Exp(random.NextDouble() * 160 - 80);
            Assert.That(Math.Abs(PortableMath.Log(x) - Math.Log(x)), Is.LessThanOrEqualTo(2.5e-7 * Math.Max(1.0, Math.Abs(Math.Log(x)))), $"log {x:R}");
            float d = -(float)(random.NextDouble() * 130);
            double expected = Math.Pow(2, d);
            float actual = PortableMath.Exp2(d);
            if (d >= -126.5f)
                Assert.That(Math.Abs(actual - expected), Is.LessThanOrEqualTo(3e-7 * expected), $"exp2 {d:R}");
            else
                Assert.That(actual, Is.EqualTo(0f), "below 2^-126.5 the result flushes to 0");
            float s = -(float)(random.NextDouble() * 0.25);
            Assert.That(Math.Abs(PortableMath.Log1pSmall(s) - Log1p(s)), Is.LessThanOrEqualTo(1.5e-7 * Math.Abs(Log1p(s)) + 1e-45));
        }
        Assert.That(PortableMath.Exp2(0f), Is.EqualTo(1f));
        Assert.That(PortableMath.Exp2(float.NegativeInfinity), Is.EqualTo(0f));
        Assert.That(PortableMath.Log1pSmall(-1e-30f), Is.EqualTo(-1e-30f));

        var lanes = new float[8];
        for (int i = 0; i < 4000; i++)
        {
            for (int j = 0; j < 8; j++)
                lanes[j] = j == 7 && i % 50 == 0 ? float.NegativeInfinity : -(float)(random.NextDouble() * Math.Pow(2, random.Next(-20, 8)) * (i % 3 == 0 ? 1.05 : 1.0));
            var e = PortableMath.Exp2(Vector256.Create(lanes));
            if (Vector512.IsHardwareAccelerated)
            {
                var wide = PortableMath.Exp2(Vector512.Create(Vector256.Create(lanes), Vector256.Create(lanes) - Vector256.Create(0.25f)));
                for (int j = 0; j < 8; j++)
                {
                    Assert.That(BitConverter.SingleToUInt32Bits(wide.GetElement(j)), Is.EqualTo(BitConverter.SingleToUInt32Bits(PortableMath.Exp2(lanes[j]))), "exp2 (16 lanes)");
                    Assert.That(BitConverter.SingleToUInt32Bits(wide.GetElement(j + 8)), Is.EqualTo(BitConverter.SingleToUInt32Bits(PortableMath.Exp2(lanes[j] - 0.25f))), "exp2 (16 lanes, upper)");
                }
            }
            var logs = PortableMath.Log(Vector256.Create(lanes.Select(v => float.IsInfinity(v) ? 1f : -v + 1e-30f).ToArray()));
            for (int j = 0; j < 8; j++)
            {
                Assert.That(BitConverter.SingleToUInt32Bits(e.GetElement(j)), Is.EqualTo(BitConverter.SingleToUInt32Bits(PortableMath.Exp2(lanes[j]))), $"exp2 lane {lanes[j]:R}");
                float logInput = float.IsInfinity(lanes[j]) ? 1f : -lanes[j] + 1e-30f;
                Assert.That(BitConverter.SingleToUInt32Bits(logs.GetElement(j)), Is.EqualTo(BitConverter.SingleToUInt32Bits(PortableMath.Log(logInput))), $"log lane {logInput:R}");
            }
        }
    }

    [Test]
    public void KernelsComputeTheSameVariatesAsTheCpu()
    {
        if (!Runtime.IsIlgpu)
            Assert.Pass("the cpu backend runs the same code");
        var bits = DeviceProbes.InterestingBits(2000, 11);
        bool float64 = Rng.SupportsFloat64(Runtime);
        var (doubles, floats) = DeviceProbes.RunVariates(Runtime, bits, float64);
        var (expectedDoubles, expectedFloats) = DeviceProbes.VariatesOnCpu(bits);
        // The float32 construction and the portable math are plain IEEE operations: bit for bit.
        for (int i = 0; i < floats.Length; i++)
            Assert.That(BitConverter.SingleToUInt32Bits(floats[i]), Is.EqualTo(BitConverter.SingleToUInt32Bits(expectedFloats[i])),
                $"float output {i % 6} of 0x{bits[i / 6]:x16}: {floats[i]:R} vs {expectedFloats[i]:R}");
        if (!float64)
            Assert.Pass($"{Backend.ToName()} has no float64: only the float32 construction runs there");
        // The float64 construction uses the device's log: equal to within an ulp or two.
        for (int i = 0; i < doubles.Length; i++)
            Assert.That(doubles[i], Is.EqualTo(expectedDoubles[i]).Within(4e-16 * Math.Max(1.0, Math.Abs(expectedDoubles[i]))), $"double output {i % 3} of 0x{bits[i / 3]:x16}");
    }

    [Test]
    public void UniformsDrawnInGroupKernelsMatchTheCpu()
    {
        if (!Runtime.IsIlgpu || !Rng.SupportsFloat64(Runtime))
            Assert.Pass("nothing to compare");
        var key = new RngKey(99, 3);
        const int rows = 16, samples = 64;
        var actual = DeviceProbes.GroupUniforms(Runtime, key, 40, rows, samples);
        for (int i = 0; i < actual.Length; i++)
            Assert.That(actual[i], Is.EqualTo(Variates.Uniform(Rng.Block(Rng.RowKey(key, i / samples), (uint)(i % samples), 40).Low64)), $"row {i / samples} draw {i % samples}");
    }

    [Test]
    public void PrecisionFollowsTheDeviceCapability()
    {
        var precision = Rng.PrecisionOf(Runtime);
        Assert.That(precision, Is.EqualTo(Rng.SupportsFloat64(Runtime) ? VariatePrecision.Float64 : VariatePrecision.Float32));
        if (Backend is Backend.Cpu or Backend.IlgpuCpu or Backend.Cuda)
            Assert.That(precision, Is.EqualTo(VariatePrecision.Float64));
        TestContext.Out.WriteLine($"{Backend.ToName()}: {precision}");
    }

    /// <summary>log(1 + x) to double precision (.NET's double.LogP1 is log(1 + x), which cancels for tiny x).</summary>
    private static double Log1p(double x) =>
        Math.Abs(x) < 1e-4 ? x * (1 - x * (0.5 - x * (1.0 / 3 - x * 0.25))) : Math.Log(1 + x);
}

/// <summary>The laws of the variates (KS tests on 100k draws each): host-side, so run once rather than per backend.</summary>
public sealed class VariateLawTests
{
    [Test]
    public void VariatesFollowTheirLaws()
    {
        const int n = 100_000;
        var key = new RngKey(2024, 7);
        var bits = Enumerable.Range(0, n).Select(i => Rng.Block(key, (uint)i, 3).Low64).ToArray();
        KolmogorovSmirnov.AssertFits(bits.Select(Variates.Uniform), x => x, "uniform");
        KolmogorovSmirnov.AssertFits(bits.Select(Variates.Exponential), KolmogorovSmirnov.ExponentialCdf, "exponential (float64)");
        KolmogorovSmirnov.AssertFits(bits.Select(b => (double)Variates.ExponentialF32(b)), KolmogorovSmirnov.ExponentialCdf, "exponential (float32)");
        KolmogorovSmirnov.AssertFits(bits.Select(Variates.Gumbel), KolmogorovSmirnov.GumbelCdf, "Gumbel (float64)");
        KolmogorovSmirnov.AssertFits(bits.Select(b => (double)Variates.GumbelF32(b)), KolmogorovSmirnov.GumbelCdf, "Gumbel (float32)");
        // The high word is just as uniform (draws that use it).
        KolmogorovSmirnov.AssertFits(Enumerable.Range(0, n).Select(i => Variates.Uniform(Rng.Block(key, (uint)i, 4).High64)), x => x, "uniform (high word)");
    }
}
