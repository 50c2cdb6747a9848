using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kernels;

/// <summary>
/// Row operations of the CPU attention kernels over d elements: sixteen lanes (AVX-512) where the hardware has them,
/// then eight, then scalar for the last d mod 8.
/// </summary>
internal static unsafe class AttentionVectors
{
    /// <summary>Σ a_c·b_c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int d)
    {
        int c = 0;
        float sum = 0f;
        if (Vector512.IsHardwareAccelerated && d >= 16)
        {
            var acc = Vector512<float>.Zero;
            for (; c <= d - 16; c += 16)
                acc = Vector512.FusedMultiplyAdd(Vector512.Load(a + c), Vector512.Load(b + c), acc);
            sum = Vector512.Sum(acc);
        }
        if (c <= d - 8)
        {
            var acc = Vector256<float>.Zero;
            for (; c <= d - 8; c += 8)
                acc = Vector256.FusedMultiplyAdd(Vector256.Load(a + c), Vector256.Load(b + c), acc);
            sum += Vector256.Sum(acc);
        }
        for (; c < d; c++)
            sum += a[c] * b[c];
        return sum;
    }

    /// <summary>
    /// The scores of one query against four consecutive rows of d (rows <paramref name="k"/>, k + d, k + 2d, k + 3d):
    /// the query is loaded once per four keys and the four horizontal sums share one reduction tree. Needs d a multiple
    /// of 16 with AVX-512 (<see cref="CanDot4"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Dot4(float* q, float* k, int d) => Dot4<NoPrefetch>(q, k, d, null);

    /// <summary>
    /// <see cref="Dot4(float*, float*, int)"/> that also prefetches the 4·d floats from <paramref name="ahead"/>, four
    /// lines per step, spread over the loads rather than in a burst that would fill the line-fill buffers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Dot4<TPrefetch>(float* q, float* k, int d, byte* ahead) where TPrefetch : struct, IPrefetch
    {
        var a0 = Vector512<float>.Zero;
        var a1 = Vector512<float>.Zero;
        var a2 = Vector512<float>.Zero;
        var a3 = Vector512<float>.Zero;
        for (int c = 0; c < d; c += 16, ahead += 256)
        {
            TPrefetch.Lines4(ahead);
            var x = Vector512.Load(q + c);
            a0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(k + c), a0);
            a1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(k + d + c), a1);
            a2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(k + 2 * d + c), a2);
            a3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(k + 3 * d + c), a3);
        }
        var b0 = a0.GetLower() + a0.GetUpper();
        var b1 = a1.GetLower() + a1.GetUpper();
        var b2 = a2.GetLower() + a2.GetUpper();
        var b3 = a3.GetLower() + a3.GetUpper();
        var c0 = b0.GetLower() + b0.GetUpper();
        var c1 = b1.GetLower() + b1.GetUpper();
        var c2 = b2.GetLower() + b2.GetUpper();
        var c3 = b3.GetLower() + b3.GetUpper();
        return Sse3.HorizontalAdd(Sse3.HorizontalAdd(c0, c1), Sse3.HorizontalAdd(c2, c3));
    }

    /// <summary>Whether <see cref="Dot4"/> runs for rows of <paramref name="d"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool CanDot4(int d) => Vector512.IsHardwareAccelerated && Sse3.IsSupported && d % 16 == 0;

    /// <summary>y = y·alpha + w·x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScaleAdd(float* y, float alpha, float w, float* x, int d)
    {
        int c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(alpha);
            var vw = Vector512.Create(w);
            for (; c <= d - 16; c += 16)
                Vector512.Store(Vector512.FusedMultiplyAdd(vw, Vector512.Load(x + c), Vector512.Load(y + c) * va), y + c);
        }
        var a8 = Vector256.Create(alpha);
        var w8 = Vector256.Create(w);
        for (; c <= d - 8; c += 8)
            Vector256.Store(Vector256.FusedMultiplyAdd(w8, Vector256.Load(x + c), Vector256.Load(y + c) * a8), y + c);
        for (; c < d; c++)
            y[c] = y[c] * alpha + w * x[c];
    }

    /// <summary>y += w·x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add(float* y, float w, float* x, int d)
    {
        int c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vw = Vector512.Create(w);
            for (; c <= d - 16; c += 16)
                Vector512.Store(Vector512.FusedMultiplyAdd(vw, Vector512.Load(x + c), Vector512.Load(y + c)), y + c);
        }
        var w8 = Vector256.Create(w);
        for (; c <= d - 8; c += 8)
            Vector256.Store(Vector256.FusedMultiplyAdd(w8, Vector256.Load(x + c), Vector256.Load(y + c)), y + c);
        for (; c < d; c++)
            y[c] += w * x[c];
    }

    /// <summary>y += Σ_t w_t·x_t over <paramref name="rows"/> rows of x, y held in registers for d = 64 and 128.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddRows(float* y, float* w, float* x, int rows, int d) => AddRows<NoPrefetch>(y, w, x, rows, d, null);

    /// <summary><see cref="AddRows(float*, float*, float*, int, int)"/> that also prefetches rows·d floats from <paramref name="ahead"/>, one row's lines per row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddRows<TPrefetch>(float* y, float* w, float* x, int rows, int d, byte* ahead) where TPrefetch : struct, IPrefetch
    {
        if (Vector512.IsHardwareAccelerated && d == 128)
        {
            var a0 = Vector512.Load(y); var a1 = Vector512.Load(y + 16); var a2 = Vector512.Load(y + 32); var a3 = Vector512.Load(y + 48);
            var a4 = Vector512.Load(y + 64); var a5 = Vector512.Load(y + 80); var a6 = Vector512.Load(y + 96); var a7 = Vector512.Load(y + 112);
            for (int t = 0; t < rows; t++, x += 128, ahead += 512)
            {
                TPrefetch.Lines4(ahead);
                TPrefetch.Lines4(ahead + 256);
                var vw = Vector512.Create(w[t]);
                a0 = Vector512.FusedMultiplyAdd(vw, Vector512.Load(x), a0);
                a1 = Vector512.FusedMultiplyAdd(vw, Vector512.Load(x + 16), a1);
                a2 = Vector512.FusedMultiplyAdd(vw, Vector512.Load(x + 32), a2);
                a3 = Vector512.FusedMultiplyAdd(vw, Vector512.Load(x + 48), a3);
                a4 = Vector512.FusedMultiplyAdd(vw, Vector512.Load(x + 64), a4);
                a5 = Vector512.FusedMultiplyAdd(vw, Vector512.Load(x + 80), a5);
                a6 = Vector512.FusedMultiplyAdd(vw, Vector512.Load(x + 96), a6);
                a7 = Vector512.FusedMultiplyAdd(vw, Vector512.Load(x + 112), a7);
            }
            a0.Store(y); a1.Store(y + 16); a2.Store(y + 32); a3.Store(y + 48);
            a4.Store(y + 64); a5.Store(y + 80); a6.Store(y + 96); a7.Store(y + 112);
            return;
        }
        if (Vector512.IsHardwareAccelerated && d == 64)
        {
            var a0 = Vector512.Load(y); var a1 = Vector512.Load(y + 16); var a2 = Vector512.Load(y + 32); var a3 = Vector512.Load(y + 48);
            for (int t = 0; t < rows; t++, x += 64, ahead += 256)
            {
                TPrefetch.Lines4(ahead);
                var vw = Vector512.Create(w[t]);
                a0 = Vector512.FusedMultiplyAdd(vw, Vector512.Load(x), a0);
                a1 = Vector512.FusedMultiplyAdd(vw, Vector512.Load(x + 16), a1);
                a2 = Vector512.FusedMultiplyAdd(vw, Vector512.Load(x + 32), a2);
                a3 = Vector512.FusedMultiplyAdd(vw, Vector512.Load(x + 48), a3);
            }
            a0.Store(y); a1.Store(y + 16); a2.Store(y + 32); a3.Store(y + 48);
            return;
        }
        for (int t = 0; t < rows; t++, x += d)
            Add(y, w[t], x, d);
    }

    /// <summary>y = a·x + b·z (a merge of two rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Combine(float* y, float a, float* x, float b, float* z, float scale, int d)
    {
        int c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(a);
            var vb = Vector512.Create(b);
            var vs = Vector512.Create(scale);
            for (; c <= d - 16; c += 16)
                Vector512.Store((va * Vector512.Load(x + c) + vb * Vector512.Load(z + c)) * vs, y + c);
        }
        var a8 = Vector256.Create(a);
        var b8 = Vector256.Create(b);
        var s8 = Vector256.Create(scale);
        for (; c <= d - 8; c += 8)
            Vector256.Store((a8 * Vector256.Load(x + c) + b8 * Vector256.Load(z + c)) * s8, y + c);
        for (; c < d; c++)
            y[c] = (a * x[c] + b * z[c]) * scale;
    }

    /// <summary>y = x·scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Scale(float* y, float* x, float scale, int d)
    {
        int c = 0;
        var s8 = Vector256.Create(scale);
        for (; c <= d - 8; c += 8)
            Vector256.Store(Vector256.Load(x + c) * s8, y + c);
        for (; c < d; c++)
            y[c] = x[c] * scale;
    }

    /// <summary>y = value.</summary>
    public static void Fill(float* y, float value, int d)
    {
        for (int c = 0; c < d; c++)
            y[c] = value;
    }
}

/// <summary>Software prefetch of four consecutive 64-byte lines, or nothing: a type argument, so that the JIT drops it.</summary>
internal unsafe interface IPrefetch
{
    /// <summary>Prefetches the lines at <paramref name="address"/> + 0, 64, 128 and 192 (a hint: never faults).</summary>
    static abstract void Lines4(byte* address);
}

/// <summary>No prefetch.</summary>
internal unsafe struct NoPrefetch : IPrefetch
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Lines4(byte* address) { }
}

/// <summary>Prefetch into L1 (prefetcht0) where the CPU has SSE; nothing elsewhere.</summary>
internal unsafe struct PrefetchL1 : IPrefetch
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Lines4(byte* address)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(address);
            Sse.Prefetch0(address + 64);
            Sse.Prefetch0(address + 128);
            Sse.Prefetch0(address + 192);
        }
    }
}
