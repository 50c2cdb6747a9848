namespace Kernels.Runtime;

/// <summary>How <see cref="KernelRuntime.Create(KernelRuntimeOptions?)"/> chooses its backend.</summary>
public sealed record KernelRuntimeOptions
{
    /// <summary>
    /// The backend to use. Null means: <c>KERNELS_BACKEND</c> if set, otherwise CUDA, then an OpenCL GPU, then <c>cpu</c>.
    /// An explicit value wins over the environment variable.
    /// </summary>
    public Backend? Backend { get; init; }

    /// <summary>
    /// Allows OpenCL devices that lack generic address space (PoCL 3.x, OpenCL C 1.2). The library's kernels are written
    /// to compile there (own shared-memory reductions, no OpenCL 2.0 collectives), but such devices are never picked
    /// automatically. Also enabled by <c>KERNELS_OPENCL_COMPAT=1</c>.
    /// </summary>
    public bool OpenClCompatibility { get; init; }

    /// <summary>Threads per group of the <c>ilgpu-cpu</c> emulator; kept small because the emulator is slow with large groups.</summary>
    public int EmulatorGroupSize { get; init; } = 16;
}
