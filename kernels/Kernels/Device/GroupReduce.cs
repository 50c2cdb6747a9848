using ILGPU;

namespace Kernels.Device;

/// <summary>
/// Group-wide reductions in shared memory, for explicitly grouped ILGPU kernels whose group size is a power of two up
/// to <see cref="MaxGroupSize"/>. Hand-written rather than ILGPU.Algorithms' collectives so that the kernels also build
/// on OpenCL C 1.2 devices (PoCL 3.x), which lack work-group collective functions. Every thread of the group must call
/// them, and every thread receives the result.
/// </summary>
public static class GroupReduce
{
    /// <summary>The largest group size the shared buffers hold.</summary>
    public const int MaxGroupSize = 256;

    /// <summary>Group sum.</summary>
    public static float Sum(float value) => Reduce<SumReduction>(new FloatPair(value, 0f)).A;

    /// <summary>Group maximum (NaN-agnostic: callers track NaN separately).</summary>
    public static float Max(float value) => Reduce<MaxReduction>(new FloatPair(value, 0f)).A;

    /// <summary>Reduces a pair with <typeparamref name="TReduction"/>.</summary>
    public static FloatPair Reduce<TReduction>(FloatPair value) where TReduction : struct, IPairReduction
    {
        var a = SharedMemory.Allocate<float>(MaxGroupSize);
        var b = SharedMemory.Allocate<float>(MaxGroupSize);
        int tid = Group.IdxX;
        a[tid] = value.A;
        b[tid] = value.B;
        Group.Barrier();
        for (int stride = Group.DimX >> 1; stride > 0; stride >>= 1)
        {
            if (tid < stride)
            {
                var r = default(TReduction).Combine(new FloatPair(a[tid], b[tid]), new FloatPair(a[tid + stride], b[tid + stride]));
                a[tid] = r.A;
                b[tid] = r.B;
            }
            Group.Barrier();
        }
        var result = new FloatPair(a[0], b[0]);
        Group.Barrier();
        return result;
    }

    private readonly struct SumReduction : IPairReduction
    {
        public FloatPair Combine(FloatPair x, FloatPair y) => new(x.A + y.A, 0f);
    }

    private readonly struct MaxReduction : IPairReduction
    {
        public FloatPair Combine(FloatPair x, FloatPair y) => new(x.A > y.A ? x.A : y.A, 0f);
    }
}
