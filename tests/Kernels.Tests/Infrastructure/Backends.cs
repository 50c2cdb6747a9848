using System;
using System.Collections.Generic;
using System.Linq;
using Kernels.Runtime;

namespace Kernels.Tests.Infrastructure;

/// <summary>
/// The backends present on this machine, as test fixture parameters: <c>cpu</c> and <c>ilgpu-cpu</c> always, OpenCL
/// (in compatibility mode, for PoCL) and CUDA when a device exists. <c>KERNELS_TEST_BACKENDS=cuda,cpu</c> narrows the set
/// (the GPU check uses it).
/// </summary>
public static class Backends
{
    private static readonly Lazy<Backend[]> s_present = new(Find);

    public static IEnumerable<Backend> Present => s_present.Value;

    public static bool Has(Backend backend) => s_present.Value.Contains(backend);

    public static KernelRuntime Create(Backend backend) =>
        KernelRuntime.Create(new KernelRuntimeOptions { Backend = backend, OpenClCompatibility = true });

    private static Backend[] Find()
    {
        var found = new List<Backend> { Backend.Cpu, Backend.IlgpuCpu };
        var discovered = KernelRuntime.Discover();
        if (discovered.Any(d => d.Backend == Backend.OpenCL)) found.Add(Backend.OpenCL);
        if (discovered.Any(d => d.Backend == Backend.Cuda)) found.Add(Backend.Cuda);
        string? only = Environment.GetEnvironmentVariable("KERNELS_TEST_BACKENDS");
        if (!string.IsNullOrWhiteSpace(only))
        {
            var wanted = only.Split(',').Select(n => BackendNames.TryParse(n, out var b) ? b : throw new ArgumentException($"KERNELS_TEST_BACKENDS: unknown backend '{n}'")).ToHashSet();
            found = found.Where(wanted.Contains).ToList();
        }
        return found.ToArray();
    }
}
