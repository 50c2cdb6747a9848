using System;
using System.Runtime.InteropServices;
using System.Threading;
using ILGPU;
using ILGPU.Runtime;

namespace Kernels.Runtime;

/// <summary>
/// A one-dimensional buffer owned by a <see cref="KernelRuntime"/>: aligned native memory on the <c>cpu</c> backend,
/// device memory on the ILGPU backends. Kernels accept only buffers of the runtime that launches them.
/// </summary>
/// <typeparam name="T">An unmanaged element type.</typeparam>
public sealed unsafe class KernelBuffer<T> : IDisposable where T : unmanaged
{
    private const nuint Alignment = 64;
    private nint _hostAddress;

    private T* _host => (T*)Volatile.Read(ref _hostAddress);
    private MemoryBuffer1D<T, Stride1D.Dense>? _device;

    internal KernelBuffer(KernelRuntime runtime, long length)
    {
        Runtime = runtime;
        Length = length;
        runtime.Track(this);
        if (runtime.Accelerator is { } accelerator)
        {
            _device = accelerator.Allocate1D<T>(Math.Max(length, 1));
            _device.MemSetToZero(); // device allocations reuse memory: zero them as documented
            accelerator.Synchronize();
        }
        else
        {
            _hostAddress = (nint)NativeMemory.AlignedAlloc((nuint)Math.Max(length, 1) * (nuint)sizeof(T), Alignment);
            new Span<T>(_host, checked((int)Math.Min(length, int.MaxValue))).Clear();
        }
    }

    /// <summary>The runtime that owns this buffer.</summary>
    public KernelRuntime Runtime { get; }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>Whether the buffer (or its runtime) has been disposed.</summary>
    public bool IsDisposed => (_host == null && _device is null) || Runtime.IsDisposed;

    /// <summary>Host memory on the <c>cpu</c> backend.</summary>
    internal T* Host => _host != null ? _host : throw new InvalidOperationException("Not a cpu-backend buffer.");

    /// <summary>The device view on an ILGPU backend.</summary>
    internal ArrayView<T> View => _device is { } d ? ((ArrayView<T>)d.View).SubView(0, Length) : throw new InvalidOperationException("Not an ILGPU buffer.");

    /// <summary>Copies <paramref name="source"/> into the buffer starting at <paramref name="offset"/>.</summary>
    public void CopyFrom(ReadOnlySpan<T> source, long offset = 0)
    {
        CheckRange(source.Length, offset, nameof(source));
        if (_device is { } d)
            ((ArrayView<T>)d.View).SubView(offset, source.Length).CopyFromCPU(source);
        else
            source.CopyTo(new Span<T>(_host + offset, source.Length));
    }

    /// <summary>Copies the buffer, starting at <paramref name="offset"/>, into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<T> destination, long offset = 0)
    {
        CheckRange(destination.Length, offset, nameof(destination));
        if (_device is { } d)
            ((ArrayView<T>)d.View).SubView(offset, destination.Length).CopyToCPU(destination);
        else
            new ReadOnlySpan<T>(_host + offset, destination.Length).CopyTo(destination);
    }

    /// <summary>
    /// Copies this buffer into <paramref name="destination"/>, a buffer of the same runtime at least as long, on the
    /// device (device-to-device on a GPU), and waits.
    /// </summary>
    public void CopyTo(KernelBuffer<T> destination)
    {
        Guard.Buffer(Runtime, destination, Length, nameof(destination));
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (_device is { } source)
            Runtime.LaunchAndWait(() => ((ArrayView<T>)source.View).SubView(0, Length).CopyTo(destination.View));
        else
            Buffer.MemoryCopy(_host, destination._host, (long)destination.Length * sizeof(T), Length * sizeof(T));
    }

    /// <summary>Copies the whole buffer into a new array.</summary>
    public T[] ToArray()
    {
        var result = new T[Length];
        CopyTo(result);
        return result;
    }

    private void CheckRange(int count, long offset, string name)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (offset < 0 || offset > Length || count > Length - offset)
            throw new ArgumentOutOfRangeException(name, $"{count} elements at offset {offset} do not fit a buffer of {Length}.");
    }

    /// <summary>Frees the memory (disposing the runtime frees it too). Safe to call more than once, from any thread.</summary>
    public void Dispose()
    {
        Runtime.Untrack(this);
        FreeHost();
        if (Interlocked.Exchange(ref _device, null) is { } d && !Runtime.IsDisposed)
            d.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees native memory a caller forgot to dispose.</summary>
    ~KernelBuffer() => FreeHost();

    // Exactly once: the finalizer of a forgotten buffer and the runtime's disposal of its live buffers (which can still
    // enumerate a buffer that is being finalized) may both get here, on different threads.
    private void FreeHost()
    {
        var host = (T*)Interlocked.Exchange(ref _hostAddress, 0);
        if (host != null)
            NativeMemory.AlignedFree(host);
    }
}
