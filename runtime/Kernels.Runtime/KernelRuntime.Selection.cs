using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Kernels.Runtime;

public sealed partial class KernelRuntime
{
    private const int MaxGpuGroupSize = 256;
    private const int OpenClCpuGroupSize = 64;

    /// <summary>
    /// Creates a runtime on the backend named by <paramref name="options"/>, else by <c>KERNELS_BACKEND</c>, else the
    /// first present of CUDA, an OpenCL GPU, and <c>cpu</c>.
    /// </summary>
    /// <exception cref="BackendUnavailableException">The requested backend is not present; the message names those that are.</exception>
    public static KernelRuntime Create(KernelRuntimeOptions? options = null)
    {
        options ??= new KernelRuntimeOptions();
        bool compat = options.OpenClCompatibility || IsSet(Environment.GetEnvironmentVariable(BackendNames.OpenClCompatibilityVariable));
        var (requested, reason) = ResolveRequest(options);

        if (requested == Backend.Cpu)
            return CreateCpu(reason);

        var context = CreateContext(options.EmulatorGroupSize);
        try
        {
            var runtime = requested is { } wanted
                ? CreateRequested(context, wanted, compat, reason)
                : CreateAutomatic(context);
            if (runtime is null)
            {
                context.Dispose();
                return CreateCpu("automatic: no CUDA device and no OpenCL GPU with generic address space, so the vectorised CPU kernels");
            }
            return runtime;
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>Lists every backend and device present on this machine, in automatic-selection order.</summary>
    public static IReadOnlyList<BackendInfo> Discover(KernelRuntimeOptions? options = null)
    {
        options ??= new KernelRuntimeOptions();
        var found = new List<BackendInfo>();
        using var context = CreateContext(options.EmulatorGroupSize);
        foreach (var device in context.Devices.OfType<CudaDevice>())
            found.Add(new BackendInfo(Backend.Cuda, device.Name, true, false, $"CUDA, {device.MemorySize >> 20} MiB"));
        foreach (var device in context.Devices.OfType<CLDevice>())
        {
            bool generic = device.Capabilities.GenericAddressSpace;
            bool gpu = device.DeviceType == CLDeviceType.CL_DEVICE_TYPE_GPU;
            string note = $"OpenCL {device.DeviceType.ToString().Replace("CL_DEVICE_TYPE_", "", StringComparison.Ordinal)}, OpenCL C {device.CVersion}"
                + (generic ? "" : $", no generic address space: compatibility mode only ({BackendNames.OpenClCompatibilityVariable}=1)");
            found.Add(new BackendInfo(Backend.OpenCL, device.Name, generic && gpu, !generic, note));
        }
        found.Add(new BackendInfo(Backend.Cpu, CpuName, true, false, $"vectorised C# kernels, {Environment.ProcessorCount} threads, {(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "Vector512" : "Vector256")}"));
        foreach (var device in context.Devices.OfType<CPUDevice>())
            found.Add(new BackendInfo(Backend.IlgpuCpu, device.Name, false, false, "ILGPU CPU emulator: verification only, on request"));
        return found;
    }

    private static string CpuName => $"{System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture} CPU";

    private static bool IsSet(string? value) => value is "1" or "true" or "TRUE" or "True" or "yes";

    private static (Backend? Backend, string Reason) ResolveRequest(KernelRuntimeOptions options)
    {
        if (options.Backend is { } explicitBackend)
            return (explicitBackend, "requested by KernelRuntimeOptions.Backend");
        string? env = Environment.GetEnvironmentVariable(BackendNames.EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(env))
            return (null, "automatic");
        if (!BackendNames.TryParse(env, out var parsed))
            throw new BackendUnavailableException(
                $"{BackendNames.EnvironmentVariable}='{env}' names no backend; use one of cpu, ilgpu-cpu, opencl, cuda.");
        return (parsed, $"requested by {BackendNames.EnvironmentVariable}={env}");
    }

    private static Context CreateContext(int emulatorGroupSize)
    {
        int group = Math.Clamp(emulatorGroupSize, 1, 64);
        var emulator = new CPUDevice(numThreadsPerWarp: Math.Min(group, 4), numWarpsPerMultiprocessor: Math.Max(1, group / 4), numMultiprocessors: Math.Max(1, Environment.ProcessorCount));
        return Context.Create(builder => Configure(builder.Cuda().OpenCL(_ => true).CPU(emulator)));
    }

    /// <summary>
    /// The kernel compiler settings every Kernels context uses (also used by the PTX tests): O2, because below it
    /// ILGPU emits __generic pointers for views, which PoCL 3.x rejects; and ILGPU.Algorithms, whose math
    /// implementations give the PTX backend exp and log without a CUDA toolkit's libdevice.
    /// </summary>
    internal static Context.Builder Configure(Context.Builder builder) =>
        builder.Optimize(OptimizationLevel.O2).EnableAlgorithms();

    private static KernelRuntime CreateCpu(string reason) =>
        new(Backend.Cpu, CpuName, reason, null, null, 1);

    private static KernelRuntime? CreateAutomatic(Context context)
    {
        if (context.Devices.OfType<CudaDevice>().FirstOrDefault() is { } cuda)
            return FromDevice(context, Backend.Cuda, cuda, "automatic: a CUDA device is present");
        var gpu = context.Devices.OfType<CLDevice>()
            .FirstOrDefault(d => d.DeviceType == CLDeviceType.CL_DEVICE_TYPE_GPU && d.Capabilities.GenericAddressSpace);
        return gpu is null ? null : FromDevice(context, Backend.OpenCL, gpu, "automatic: an OpenCL GPU is present and no CUDA device");
    }

    private static KernelRuntime CreateRequested(Context context, Backend backend, bool compat, string reason)
    {
        Device? device = backend switch
        {
            Backend.Cuda => context.Devices.OfType<CudaDevice>().FirstOrDefault(),
            Backend.IlgpuCpu => context.Devices.OfType<CPUDevice>().FirstOrDefault(),
            Backend.OpenCL => context.Devices.OfType<CLDevice>()
                .OrderByDescending(d => d.Capabilities.GenericAddressSpace)
                .ThenByDescending(d => d.DeviceType == CLDeviceType.CL_DEVICE_TYPE_GPU)
                .FirstOrDefault(),
            _ => null,
        };
        if (device is null)
            throw new BackendUnavailableException(
                $"Backend '{backend.ToName()}' ({reason}) is not present on this machine. Present: {PresentNames(context)}.");
        if (device is CLDevice cl && !cl.Capabilities.GenericAddressSpace)
        {
            if (!compat)
                throw new BackendUnavailableException(
                    $"OpenCL device '{cl.Name}' has no generic address space (OpenCL C {cl.CVersion}); it runs Kernels only in " +
                    $"compatibility mode: set KernelRuntimeOptions.OpenClCompatibility or {BackendNames.OpenClCompatibilityVariable}=1.");
            EnableCompatibilityMode(cl);
            reason += " (OpenCL compatibility mode)";
        }
        return FromDevice(context, backend, device, reason);
    }

    private static string PresentNames(Context context)
    {
        var names = new List<string> { "cpu" };
        if (context.Devices.OfType<CPUDevice>().Any()) names.Add("ilgpu-cpu");
        if (context.Devices.OfType<CLDevice>().Any()) names.Add("opencl");
        if (context.Devices.OfType<CudaDevice>().Any()) names.Add("cuda");
        return string.Join(", ", names);
    }

    // ILGPU refuses OpenCL devices without generic address space. Kernels' own ILGPU kernels never need it (no
    // OpenCL 2.0 collectives, no views stored in structs), so compatibility mode marks the capability as present.
    private static void EnableCompatibilityMode(CLDevice device)
    {
        var property = device.Capabilities.GetType().GetProperty("GenericAddressSpace", BindingFlags.Instance | BindingFlags.Public);
        var setter = property?.GetSetMethod(nonPublic: true)
            ?? throw new BackendUnavailableException("This ILGPU version does not allow OpenCL compatibility mode.");
        setter.Invoke(device.Capabilities, new object[] { true });
    }

    private static KernelRuntime FromDevice(Context context, Backend backend, Device device, string reason)
    {
        var accelerator = device.CreateAccelerator(context);
        int limit = backend switch
        {
            Backend.IlgpuCpu => accelerator.MaxNumThreadsPerGroup,
            Backend.OpenCL when device is CLDevice { DeviceType: not CLDeviceType.CL_DEVICE_TYPE_GPU } => OpenClCpuGroupSize,
            _ => MaxGpuGroupSize,
        };
        int group = (int)Math.Min((uint)Math.Min(limit, accelerator.MaxNumThreadsPerGroup), (uint)MaxGpuGroupSize);
        group = 1 << (31 - System.Numerics.BitOperations.LeadingZeroCount((uint)group)); // round down to a power of two
        return new KernelRuntime(backend, device.Name, reason, context, accelerator, group);
    }
}
