using System;

namespace Kernels.Runtime;

public sealed partial class KernelRuntime
{
    /// <summary>Allocates a zeroed buffer of <paramref name="length"/> elements on this runtime's device.</summary>
    public KernelBuffer<T> Allocate<T>(long length) where T : unmanaged
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new KernelBuffer<T>(this, length);
    }

    /// <summary>Allocates a buffer holding a copy of <paramref name="data"/>.</summary>
    public KernelBuffer<T> Upload<T>(ReadOnlySpan<T> data) where T : unmanaged
    {
        var buffer = Allocate<T>(data.Length);
        buffer.CopyFrom(data);
        return buffer;
    }
}
