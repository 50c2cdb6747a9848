using System;

namespace Kernels.Runtime;

/// <summary>Argument checks run by every launcher before it touches a device. Each names the offending argument.</summary>
public static class Guard
{
    /// <summary>Checks that <paramref name="buffer"/> is live, belongs to <paramref name="runtime"/> and holds at least <paramref name="required"/> elements.</summary>
    public static void Buffer<T>(KernelRuntime runtime, KernelBuffer<T>? buffer, long required, string name) where T : unmanaged
    {
        if (buffer is null)
            throw new ArgumentNullException(name);
        if (!ReferenceEquals(buffer.Runtime, runtime))
            throw new ArgumentException(
                $"{name} belongs to another runtime ({buffer.Runtime}); allocate it on the launching runtime ({runtime}).", name);
        if (buffer.IsDisposed)
            throw new ArgumentException($"{name} has been disposed.", name);
        if (buffer.Length < required)
            throw new ArgumentException($"{name} holds {buffer.Length} elements; this launch needs at least {required}.", name);
    }

    /// <summary>Checks that <paramref name="runtime"/> is usable.</summary>
    public static void Runtime(KernelRuntime? runtime, string name)
    {
        if (runtime is null)
            throw new ArgumentNullException(name);
        runtime.ThrowIfDisposed();
    }

    /// <summary>Checks a row/column count: at least <paramref name="minimum"/>.</summary>
    public static void AtLeast(int value, int minimum, string name)
    {
        if (value < minimum)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least {minimum}.");
    }

    /// <summary>Checks that a scalar such as a temperature is finite and strictly positive.</summary>
    public static void PositiveFinite(float value, string name)
    {
        // 1/value must be finite too: a subnormal temperature would turn every logit into ±inf.
        if (!(value > 0f) || float.IsInfinity(value) || float.IsInfinity(1f / value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite, greater than zero and at least {1f / float.MaxValue:E1}.");
    }

    /// <summary>
    /// Checks that <paramref name="a"/> and <paramref name="b"/> are not the same buffer; the exception names
    /// <paramref name="name"/> (the argument to change) and <paramref name="other"/> (the buffer it aliases).
    /// </summary>
    public static void Distinct<T>(KernelBuffer<T>? a, KernelBuffer<T>? b, string name, string other) where T : unmanaged
    {
        if (a is not null && ReferenceEquals(a, b))
            throw new ArgumentException($"{name} must not be the same buffer as {other} for this kernel.", name);
    }

    /// <summary>rows x cols as a checked 64-bit element count.</summary>
    public static long Elements(int rows, int cols) => checked((long)rows * cols);

    /// <summary>Checks that a host span holds at least <paramref name="required"/> elements.</summary>
    public static void Span(int length, long required, string name)
    {
        if (length < required)
            throw new ArgumentException($"{name} holds {length} elements; this call needs at least {required}.", name);
    }
}
