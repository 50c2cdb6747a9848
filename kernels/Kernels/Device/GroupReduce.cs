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

    /// <summary>Group sum in double (for float64 running sums; needs double support on the device).</summary>
    public static double SumDouble(double value)
    {
        var a = SharedMemory.Allocate<double>(MaxGroupSize);
        int tid = Group.IdxX;
        a[tid] = value;
        Group.Barrier();
        for (int stride = Group.DimX >> 1; stride > 0; stride >>= 1)
        {
            if (tid < stride)
                a[tid] = a[tid] + a[tid + stride];
            Group.Barrier();
        }
        double result = a[0];
        Group.Barrier();
        return result;
    }

    /// <summary>Group minimum of an int.</summary>
    public static int MinInt(int value)
    {
        var a = SharedMemory.Allocate<int>(MaxGroupSize);
        int tid = Group.IdxX;
        a[tid] = value;
        Group.Barrier();
        for (int stride = Group.DimX >> 1; stride > 0; stride >>= 1)
        {
            if (tid < stride && a[tid + stride] < a[tid])
                a[tid] = a[tid + stride];
            Group.Barrier();
        }
        int result = a[0];
        Group.Barrier();
        return result;
    }

    /// <summary>Group maximum of an int.</summary>
    public static int MaxInt(int value) => -MinInt(-value);

    /// <summary>
    /// The group's largest (key, index) pair in the order "key descending, then index ascending": the arg-max with ties
    /// going to the lowest index. NaN keys must not be passed (callers exclude them).
    /// </summary>
    public static KeyIndex ArgMax(float key, int index)
    {
        var keys = SharedMemory.Allocate<float>(MaxGroupSize);
        var indices = SharedMemory.Allocate<int>(MaxGroupSize);
        int tid = Group.IdxX;
        keys[tid] = key;
        indices[tid] = index;
        Group.Barrier();
        for (int stride = Group.DimX >> 1; stride > 0; stride >>= 1)
        {
            if (tid < stride)
            {
                float k = keys[tid + stride];
                int i = indices[tid + stride];
                if (KeyIndex.Before(k, i, keys[tid], indices[tid]))
                {
                    keys[tid] = k;
                    indices[tid] = i;
                }
            }
            Group.Barrier();
        }
        var result = new KeyIndex(keys[0], indices[0]);
        Group.Barrier();
        return result;
    }

    /// <summary>
    /// Inclusive and exclusive prefix sums in double over the group in thread order (Hillis–Steele), and the group total.
    /// </summary>
    public static ScanResult InclusiveScanDouble(double value)
    {
        var a = SharedMemory.Allocate<double>(MaxGroupSize);
        var b = SharedMemory.Allocate<double>(MaxGroupSize);
        int tid = Group.IdxX;
        int size = Group.DimX;
        a[tid] = value;
        Group.Barrier();
        bool inA = true;
        for (int offset = 1; offset < size; offset <<= 1)
        {
            if (inA)
                b[tid] = tid >= offset ? a[tid] + a[tid - offset] : a[tid];
            else
                a[tid] = tid >= offset ? b[tid] + b[tid - offset] : b[tid];
            Group.Barrier();
            inA = !inA;
        }
        var result = inA
            ? new ScanResult(a[tid], tid > 0 ? a[tid - 1] : 0.0, a[size - 1])
            : new ScanResult(b[tid], tid > 0 ? b[tid - 1] : 0.0, b[size - 1]);
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

/// <summary>A key and its index, ordered by key descending then index ascending (see <see cref="GroupReduce.ArgMax"/>).</summary>
public readonly struct KeyIndex
{
    /// <summary>The key.</summary>
    public readonly float Key;

    /// <summary>The index (−1 for none).</summary>
    public readonly int Index;

    /// <summary>Creates the pair.</summary>
    public KeyIndex(float key, int index)
    {
        Key = key;
        Index = index;
    }

    /// <summary>Whether (<paramref name="key"/>, <paramref name="index"/>) comes before (<paramref name="otherKey"/>, <paramref name="otherIndex"/>): a larger key, or an equal key and a smaller index.</summary>
    public static bool Before(float key, int index, float otherKey, int otherIndex) =>
        key > otherKey || (key == otherKey && index < otherIndex);
}

/// <summary>One thread's inclusive and exclusive prefixes and the group total of <see cref="GroupReduce.InclusiveScanDouble"/>.</summary>
public readonly struct ScanResult
{
    /// <summary>The sum of this thread's value and every lower thread's.</summary>
    public readonly double Inclusive;

    /// <summary>The sum of every lower thread's value (the previous thread's inclusive prefix; 0 for thread 0).</summary>
    public readonly double Exclusive;

    /// <summary>The sum over the group.</summary>
    public readonly double Total;

    /// <summary>Creates the result.</summary>
    public ScanResult(double inclusive, double exclusive, double total)
    {
        Inclusive = inclusive;
        Exclusive = exclusive;
        Total = total;
    }
}
