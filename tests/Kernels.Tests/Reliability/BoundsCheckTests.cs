using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Reliability;

/// <summary>The emulator's bounds checks are live in this test run: a kernel that reads past its view fails the test.</summary>
public sealed class BoundsCheckTests
{
    private static void ReadsOnePastTheEnd(Index1D i, ArrayView<float> data, ArrayView<float> output) => output[i] = data[i + 1];

    [Test]
    public void AnOutOfBoundsReadOnTheEmulatorIsAFailureNotACrash()
    {
        using var runtime = Backends.Create(Backend.IlgpuCpu);
        using var data = runtime.Allocate<float>(8);
        using var output = runtime.Allocate<float>(8);
        var kernel = runtime.Accelerator!.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(ReadsOnePastTheEnd);
        AssertionsFail.TakeFailures();
        kernel(8, data.View, output.View);
        runtime.Accelerator!.Synchronize();
        Assert.That(AssertionsFail.TakeFailures(), Has.Some.Contains("Index out of range"), "the emulator recorded the access");
    }
}
