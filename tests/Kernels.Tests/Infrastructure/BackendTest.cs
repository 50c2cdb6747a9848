using Kernels.Runtime;
using NUnit.Framework;

namespace Kernels.Tests.Infrastructure;

/// <summary>
/// Base of every kernel test class: the concrete class carries
/// <c>[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]</c> and so runs once per backend present, with one
/// runtime per fixture.
/// </summary>
public abstract class BackendTest(Backend backend)
{
    protected Backend Backend { get; } = backend;

    protected KernelRuntime Runtime { get; private set; } = null!;

    /// <summary>True on the emulating backends (ilgpu-cpu, OpenCL on PoCL), where tests use smaller sizes.</summary>
    protected bool IsEmulated => Backend is Backend.IlgpuCpu or Backend.OpenCL;

    [OneTimeSetUp]
    public void CreateRuntime() => Runtime = Backends.Create(Backend);

    [OneTimeTearDown]
    public void DisposeRuntime() => Runtime.Dispose();

    /// <summary>Fails the test if a kernel touched memory outside a view (recorded by the emulator's bounds checks).</summary>
    [TearDown]
    public void NoOutOfBoundsAccess() =>
        Assert.That(AssertionsFail.TakeFailures(), Is.Empty, "out-of-bounds accesses recorded by the emulator");
}
