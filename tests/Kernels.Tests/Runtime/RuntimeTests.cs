using System;
using System.Linq;
using System.Threading.Tasks;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Runtime;

/// <summary>Backend discovery, selection, overrides and the kernel cache.</summary>
[NonParallelizable] // sets process environment variables
public sealed class RuntimeTests
{
    private string? _savedBackend;
    private string? _savedCompat;

    [SetUp]
    public void SaveEnvironment()
    {
        _savedBackend = Environment.GetEnvironmentVariable(BackendNames.EnvironmentVariable);
        _savedCompat = Environment.GetEnvironmentVariable(BackendNames.OpenClCompatibilityVariable);
        Environment.SetEnvironmentVariable(BackendNames.EnvironmentVariable, null);
        Environment.SetEnvironmentVariable(BackendNames.OpenClCompatibilityVariable, null);
    }

    [TearDown]
    public void RestoreEnvironment()
    {
        Environment.SetEnvironmentVariable(BackendNames.EnvironmentVariable, _savedBackend);
        Environment.SetEnvironmentVariable(BackendNames.OpenClCompatibilityVariable, _savedCompat);
    }

    [Test]
    public void DiscoveryListsCpuAndTheEmulator()
    {
        var found = KernelRuntime.Discover();
        Assert.That(found.Select(f => f.Backend), Does.Contain(Backend.Cpu).And.Contain(Backend.IlgpuCpu));
        Assert.That(found.Single(f => f.Backend == Backend.IlgpuCpu).AutoSelectable, Is.False, "the emulator is never picked automatically");
    }

    [Test]
    public void OpenClIsPresentWhereCiRequiresIt()
    {
        if (Environment.GetEnvironmentVariable("KERNELS_REQUIRE_OPENCL") != "1")
            Assert.Ignore("KERNELS_REQUIRE_OPENCL is not set (CI sets it after installing PoCL)");
        Assert.That(KernelRuntime.Discover().Any(f => f.Backend == Backend.OpenCL), "PoCL installed but no OpenCL device found");
    }

    [Test]
    public void CudaIsPresentWhereTheGpuCheckRequiresIt()
    {
        // The GPU check (tools/gpu-check/run.sh) sets this when it tests cuda, so that a machine whose driver is missing
        // fails the check instead of passing it on the cpu backend alone.
        if (Environment.GetEnvironmentVariable("KERNELS_REQUIRE_CUDA") != "1")
            Assert.Ignore("KERNELS_REQUIRE_CUDA is not set (the GPU check sets it)");
        Assert.That(KernelRuntime.Discover().Any(f => f.Backend == Backend.Cuda), "the GPU check requires cuda, but no CUDA device was found (driver, libcuda)");
    }

    [Test]
    public void AutomaticSelectionPicksTheCpuWithoutAGpu()
    {
        var found = KernelRuntime.Discover();
        using var runtime = KernelRuntime.Create();
        var expected = found.Any(f => f.Backend == Backend.Cuda) ? Backend.Cuda
            : found.Any(f => f.Backend == Backend.OpenCL && f.AutoSelectable) ? Backend.OpenCL
            : Backend.Cpu;
        Assert.That(runtime.Backend, Is.EqualTo(expected));
        Assert.That(runtime.SelectionReason, Does.StartWith("automatic"));
    }

    [Test]
    public void EnvironmentVariableOverridesAndOptionWins()
    {
        Environment.SetEnvironmentVariable(BackendNames.EnvironmentVariable, "ilgpu-cpu");
        using (var runtime = KernelRuntime.Create())
        {
            Assert.That(runtime.Backend, Is.EqualTo(Backend.IlgpuCpu));
            Assert.That(runtime.SelectionReason, Does.Contain("KERNELS_BACKEND"));
        }
        using var explicitRuntime = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        Assert.That(explicitRuntime.Backend, Is.EqualTo(Backend.Cpu));
    }

    [Test]
    public void UnknownBackendNameIsAClearError()
    {
        Environment.SetEnvironmentVariable(BackendNames.EnvironmentVariable, "tpu");
        var e = Assert.Throws<BackendUnavailableException>(() => KernelRuntime.Create());
        Assert.That(e!.Message, Does.Contain("tpu").And.Contain("cpu, ilgpu-cpu, opencl, cuda"));
    }

    [Test]
    public void AbsentBackendErrorNamesWhatIsPresent()
    {
        if (KernelRuntime.Discover().Any(f => f.Backend == Backend.Cuda))
            Assert.Ignore("a CUDA device is present");
        var e = Assert.Throws<BackendUnavailableException>(() => KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cuda }));
        Assert.That(e!.Message, Does.Contain("'cuda'").And.Contain("Present: cpu, ilgpu-cpu"));
    }

    [Test]
    public void OpenClWithoutGenericAddressSpaceNeedsCompatibilityMode()
    {
        var device = KernelRuntime.Discover().FirstOrDefault(f => f.Backend == Backend.OpenCL && f.RequiresCompatibilityMode);
        if (device is null)
            Assert.Ignore("no OpenCL device without generic address space here");
        var e = Assert.Throws<BackendUnavailableException>(() => KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.OpenCL }));
        Assert.That(e!.Message, Does.Contain("KERNELS_OPENCL_COMPAT=1"));
        Environment.SetEnvironmentVariable(BackendNames.OpenClCompatibilityVariable, "1");
        using var runtime = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.OpenCL });
        Assert.That(runtime.SelectionReason, Does.Contain("compatibility mode"));
    }

    [Test]
    public void KernelsCompileOncePerAcceleratorUnderConcurrentFirstUse()
    {
        using var runtime = Backends.Create(Backend.IlgpuCpu);
        const int rows = 2, cols = 33;
        var x = TestData.Logits(rows * cols, 1);
        var expected = Reference.SoftmaxReference.Compute(x, rows, cols, SoftmaxOutput.Probabilities, temperature: 0.9);
        var results = new float[8][];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            results[i] = new float[rows * cols];
            Kernels.Softmax.Run(runtime, x, results[i], rows, cols, 0.9f);
        });
        Assert.That(runtime.CompiledKernelCount, Is.EqualTo(1));
        foreach (var r in results)
            Compare.Close(r, expected, 1e-5, 1e-37, "concurrent launch", cols);
    }

    [TestCase(Backend.Cpu)]
    [TestCase(Backend.IlgpuCpu)]
    public void DisposingTheRuntimeReleasesEveryBuffer(Backend backend)
    {
        var runtime = Backends.Create(backend);
        var buffers = Enumerable.Range(1, 5).Select(n => runtime.Allocate<float>(n * 1000)).ToList();
        buffers[0].Dispose();
        runtime.Dispose();
        Assert.That(buffers.Select(b => b.IsDisposed), Is.All.True);
        Assert.That(() => buffers[1].ToArray(), Throws.InstanceOf<ObjectDisposedException>());
    }

    [Test]
    public void DisposedRuntimeRefusesWork()
    {
        var runtime = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        var buffer = runtime.Allocate<float>(4);
        runtime.Dispose();
        runtime.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => runtime.Allocate<float>(1));
        Assert.Throws<ObjectDisposedException>(() => Kernels.Softmax.Launch(runtime, buffer, buffer, 1, 4, 1f));
    }
}
