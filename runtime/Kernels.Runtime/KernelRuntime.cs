using System;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading;
using ILGPU;
using ILGPU.Runtime;

namespace Kernels.Runtime;

/// <summary>
/// One chosen backend and device, with its compiled-kernel cache. Create one per process (or per device) and share it:
/// loading and launching are thread-safe. Dispose it to release the accelerator.
/// </summary>
public sealed partial class KernelRuntime : IDisposable
{
    private readonly Context? _context;
    private readonly ConcurrentDictionary<object, Lazy<object>> _kernels = new();
    private readonly object _launchLock = new();
    private volatile bool _disposed;
    // Every live buffer, weakly: Dispose frees the ones still allocated, and a forgotten buffer can still be collected.
    private readonly ConditionalWeakTable<IDisposable, object?> _buffers = new();
    private int _compilations;

    private KernelRuntime(Backend backend, string deviceName, string reason, Context? context, Accelerator? accelerator, int groupSize)
    {
        Backend = backend;
        DeviceName = deviceName;
        SelectionReason = reason;
        _context = context;
        Accelerator = accelerator;
        GroupSize = groupSize;
    }

    /// <summary>The backend in use.</summary>
    public Backend Backend { get; }

    /// <summary>The device's name.</summary>
    public string DeviceName { get; }

    /// <summary>Why this backend was chosen (automatic order, option, or <c>KERNELS_BACKEND</c>).</summary>
    public string SelectionReason { get; }

    /// <summary>Threads per group used by the ILGPU kernels on this device (a power of two); 1 on <c>cpu</c>.</summary>
    public int GroupSize { get; }

    /// <summary>Whether the backend runs the ILGPU kernels (everything except <c>cpu</c>).</summary>
    public bool IsIlgpu => Accelerator is not null;

    /// <summary>The ILGPU accelerator, or null on the <c>cpu</c> backend.</summary>
    internal Accelerator? Accelerator { get; }

    /// <summary>Whether <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>
    /// Returns the kernel cached under <paramref name="key"/> for this accelerator, compiling it with
    /// <paramref name="load"/> exactly once even when many threads ask at the same time.
    /// </summary>
    internal TKernel GetKernel<TKernel>(object key, Func<Accelerator, TKernel> load) where TKernel : class
    {
        ThrowIfDisposed();
        var accelerator = Accelerator ?? throw new InvalidOperationException("The cpu backend has no ILGPU kernels.");
        var lazy = _kernels.GetOrAdd(key, _ => new Lazy<object>(() =>
        {
            Interlocked.Increment(ref _compilations);
            return load(accelerator);
        }));
        return (TKernel)lazy.Value;
    }

    /// <summary>Number of ILGPU kernels this runtime has compiled (each at most once).</summary>
    public int CompiledKernelCount => Volatile.Read(ref _compilations);

    /// <summary>Runs <paramref name="launch"/> and waits for the device, one launch at a time on this runtime.</summary>
    internal void LaunchAndWait(Action launch)
    {
        lock (_launchLock)
        {
            ThrowIfDisposed();
            launch();
            Accelerator?.Synchronize();
        }
    }

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    internal void Track(IDisposable buffer) => _buffers.AddOrUpdate(buffer, null);

    internal void Untrack(IDisposable buffer) => _buffers.Remove(buffer);

    /// <summary>Releases every buffer still allocated on this runtime, then the accelerator and its context. Safe to call more than once.</summary>
    public void Dispose()
    {
        lock (_launchLock)
        {
            if (_disposed) return;
            var live = new System.Collections.Generic.List<IDisposable>();
            foreach (var buffer in _buffers)
                live.Add(buffer.Key);
            foreach (var buffer in live)
                buffer.Dispose();
            _disposed = true;
            Accelerator?.Dispose();
            _context?.Dispose();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Backend.ToName()} ({DeviceName})";
}
