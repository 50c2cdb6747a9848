namespace Kernels.Runtime;

/// <summary>One backend and device found on this machine.</summary>
/// <param name="Backend">The backend.</param>
/// <param name="DeviceName">The device's name as the driver reports it.</param>
/// <param name="AutoSelectable">Whether automatic selection may pick it (never for <c>ilgpu-cpu</c> or compatibility-mode OpenCL).</param>
/// <param name="RequiresCompatibilityMode">Whether it is an OpenCL device without generic address space (usable only with <see cref="KernelRuntimeOptions.OpenClCompatibility"/>).</param>
/// <param name="Note">A short human-readable remark (device type, why it is or is not picked).</param>
public sealed record BackendInfo(Backend Backend, string DeviceName, bool AutoSelectable, bool RequiresCompatibilityMode, string Note);
