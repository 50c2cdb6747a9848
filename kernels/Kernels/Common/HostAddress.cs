using Kernels.Runtime;

namespace Kernels;

/// <summary>The address a CPU kernel receives for an optional buffer of the <c>cpu</c> backend.</summary>
internal static unsafe class HostAddress
{
    /// <summary>The buffer's host memory, or 0 for an absent buffer.</summary>
    public static nint Of<T>(KernelBuffer<T>? buffer) where T : unmanaged => buffer is null ? 0 : (nint)buffer.Host;
}
