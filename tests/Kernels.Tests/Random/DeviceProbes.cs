using System;
using ILGPU;
using ILGPU.Runtime;

using Kernels.Runtime;

namespace Kernels.Tests.Randomness;

/// <summary>
/// Small ILGPU kernels that run the RNG core and the portable math inside a kernel, so tests can compare their bits
/// with the CPU's on every ILGPU backend (ilgpu-cpu, OpenCL, CUDA).
/// </summary>
internal static class DeviceProbes
{
    private static void PhiloxKernel(Index1D i, ArrayView<RngBlock> counters, ArrayView<uint> keys, ArrayView<RngBlock> output) =>
        output[i] = Philox4x32.Generate(counters[i], keys[2 * i], keys[2 * i + 1]);

    private static void BlockKernel(Index1D i, ArrayView<RngKey> keys, ArrayView<ulong> offsets, ArrayView<RngBlock> output) =>
        output[i] = Rng.Block(keys[i], (uint)i.X, offsets[i]);

    // One row per input: uniform (as bits), E64, G64, E32, G32, and the portable math of a float derived from the bits.
    private static void VariateKernel(Index1D i, ArrayView<ulong> bits, ArrayView<double> doubles, ArrayView<float> floats, int precision64)
    {
        ulong b = bits[i];
        if (precision64 != 0)
        {
            doubles[3 * i] = Kernels.Variates.Uniform(b);
            doubles[3 * i + 1] = Kernels.Variates.Exponential(b);
            doubles[3 * i + 2] = Kernels.Variates.Gumbel(b);
        }
        floats[6 * i] = Kernels.Variates.Fraction64(b);
        floats[6 * i + 1] = Kernels.Variates.ExponentialF32(b);
        floats[6 * i + 2] = Kernels.Variates.GumbelF32(b);
        float x = Kernels.Variates.Fraction64(b) * 64f + 1e-30f;
        floats[6 * i + 3] = PortableMath.Log(x);
        floats[6 * i + 4] = PortableMath.Exp2(-x);
        floats[6 * i + 5] = PortableMath.Log1pSmall(-Kernels.Variates.Fraction64(b) * 0.25f);
    }

    // Uniforms drawn inside an explicitly grouped kernel with barriers (where PoCL vectorises across work-items), as the
    // samplers draw them. (PoCL 3.1 lost bit 51 of a direct 64-bit integer to double conversion in the categorical
    // sampler's kernel, hence Variates.Uniform's two-halves form; this small kernel did not reproduce it, the sampler
    // tests on opencl did.)
    private static void GroupUniformKernel(ArrayView<double> output, CategoricalArgs args)
    {
        int row = Grid.IdxX;
        var key = Rng.RowKey(args.Key, row);
        float m = Kernels.Device.GroupReduce.Max(Group.IdxX);
        for (int s = 0; s < args.Samples; s++)
        {
            double u = Kernels.Variates.Uniform(Rng.Block(key, (uint)s, args.Offset).Low64);
            float t = Kernels.Device.GroupReduce.Max(m);
            if (Group.IdxX == 0)
                output[row * args.Samples + s] = u + t * 0;
        }
    }

    public static double[] GroupUniforms(KernelRuntime runtime, RngKey key, ulong offset, int rows, int samples)
    {
        var kernel = runtime.GetKernel(nameof(GroupUniformKernel), a => a.LoadStreamKernel<ArrayView<double>, CategoricalArgs>(GroupUniformKernel));
        using var o = runtime.Allocate<double>(rows * samples);
        var args = new CategoricalArgs { Rows = rows, Samples = samples, Key = key, Offset = offset };
        runtime.LaunchAndWait(() => kernel(new KernelConfig(rows, runtime.GroupSize), o.View, args));
        return o.ToArray();
    }

    public static RngBlock[] Philox(KernelRuntime runtime, RngBlock[] counters, uint[] keys)
    {
        var kernel = runtime.GetKernel(nameof(PhiloxKernel), a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<RngBlock>, ArrayView<uint>, ArrayView<RngBlock>>(PhiloxKernel));
        using var c = runtime.Upload<RngBlock>(counters);
        using var k = runtime.Upload<uint>(keys);
        using var o = runtime.Allocate<RngBlock>(counters.Length);
        runtime.LaunchAndWait(() => kernel(counters.Length, c.View, k.View, o.View));
        return o.ToArray();
    }

    public static RngBlock[] Blocks(KernelRuntime runtime, RngKey[] keys, ulong[] offsets)
    {
        var kernel = runtime.GetKernel(nameof(BlockKernel), a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<RngKey>, ArrayView<ulong>, ArrayView<RngBlock>>(BlockKernel));
        using var k = runtime.Upload<RngKey>(keys);
        using var f = runtime.Upload<ulong>(offsets);
        using var o = runtime.Allocate<RngBlock>(keys.Length);
        runtime.LaunchAndWait(() => kernel(keys.Length, k.View, f.View, o.View));
        return o.ToArray();
    }

    public static (double[] Doubles, float[] Floats) RunVariates(KernelRuntime runtime, ulong[] bits, bool float64)
    {
        var kernel = runtime.GetKernel(nameof(VariateKernel) + float64, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<ulong>, ArrayView<double>, ArrayView<float>, int>(VariateKernel));
        using var b = runtime.Upload<ulong>(bits);
        using var d = runtime.Allocate<double>(3 * bits.Length);
        using var f = runtime.Allocate<float>(6 * bits.Length);
        runtime.LaunchAndWait(() => kernel(bits.Length, b.View, d.View, f.View, float64 ? 1 : 0));
        return (d.ToArray(), f.ToArray());
    }

    /// <summary>The same computations on the CPU, for comparison.</summary>
    public static (double[] Doubles, float[] Floats) VariatesOnCpu(ulong[] bits)
    {
        var doubles = new double[3 * bits.Length];
        var floats = new float[6 * bits.Length];
        for (int i = 0; i < bits.Length; i++)
        {
            ulong b = bits[i];
            doubles[3 * i] = Kernels.Variates.Uniform(b);
            doubles[3 * i + 1] = Kernels.Variates.Exponential(b);
            doubles[3 * i + 2] = Kernels.Variates.Gumbel(b);
            floats[6 * i] = Kernels.Variates.Fraction64(b);
            floats[6 * i + 1] = Kernels.Variates.ExponentialF32(b);
            floats[6 * i + 2] = Kernels.Variates.GumbelF32(b);
            float x = Kernels.Variates.Fraction64(b) * 64f + 1e-30f;
            floats[6 * i + 3] = PortableMath.Log(x);
            floats[6 * i + 4] = PortableMath.Exp2(-x);
            floats[6 * i + 5] = PortableMath.Log1pSmall(-Kernels.Variates.Fraction64(b) * 0.25f);
        }
        return (doubles, floats);
    }

    /// <summary>Bit patterns that stress the constructions: extremes, powers of two, the ¼ branch point, random.</summary>
    public static ulong[] InterestingBits(int randomCount, int seed)
    {
        var list = new System.Collections.Generic.List<ulong> { 0, 1, 2, ulong.MaxValue, ulong.MaxValue - 1, 0x3FFFFFFFFFFFFFFF, 0x4000000000000000, 0x8000000000000000, 0x7FFFFFFFFFFFFFFF };
        for (int s = 0; s < 64; s++)
        {
            list.Add(1UL << s);
            list.Add(~(1UL << s));
        }
        var random = new System.Random(seed);
        for (int i = 0; i < randomCount; i++)
            list.Add((ulong)random.NextInt64() ^ ((ulong)random.Next() << 40));
        return list.ToArray();
    }
}
