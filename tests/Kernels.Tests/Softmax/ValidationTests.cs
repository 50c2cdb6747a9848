using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Softmax;

/// <summary>Bad arguments throw before any launch, name the argument, and leave the caller's output untouched.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class ValidationTests(Backend backend) : BackendTest(backend)
{
    private const int Rows = 3, Cols = 17;
    private const float Sentinel = 42f;

    [Test]
    public void NullBuffersNameTheArgument()
    {
        using var x = Runtime.Upload<float>(new float[Rows * Cols]);
        Expect<ArgumentNullException>("input", y => Kernels.Softmax.Launch(Runtime, null!, y, Rows, Cols, 1f));
        Assert.That(Assert.Throws<ArgumentNullException>(() => Kernels.Softmax.Launch(Runtime, x, null!, Rows, Cols, 1f))!.ParamName, Is.EqualTo("output"));
        Expect<ArgumentNullException>("temperatures", y => MaskedSoftmax.Launch(Runtime, x, y, Rows, Cols, null!, x));
        Expect<ArgumentNullException>("mask", y => MaskedSoftmax.Launch(Runtime, x, y, Rows, Cols, x, null!));
    }

    [Test]
    public void ShortBuffersAndShapeMismatchesNameTheArgument()
    {
        using var shortInput = Runtime.Upload<float>(new float[Rows * Cols - 1]);
        using var x = Runtime.Upload<float>(new float[Rows * Cols]);
        using var temperatures = Runtime.Upload<float>(new float[Rows - 1]);
        Expect<ArgumentException>("input", y => Kernels.Softmax.Launch(Runtime, shortInput, y, Rows, Cols, 1f));
        Expect<ArgumentException>("input", y => Kernels.Softmax.Launch(Runtime, x, y, Rows + 1, Cols, 1f));
        Expect<ArgumentException>("temperatures", y => MaskedSoftmax.Launch(Runtime, x, y, Rows, Cols, temperatures, x));
        Expect<ArgumentOutOfRangeException>("rows", y => Kernels.Softmax.Launch(Runtime, x, y, -1, Cols, 1f));
        Expect<ArgumentOutOfRangeException>("cols", y => Kernels.Softmax.Launch(Runtime, x, y, Rows, 0, 1f));
        using var shortOutput = Runtime.Allocate<float>(Rows * Cols - 1);
        var e = Assert.Throws<ArgumentException>(() => Kernels.Softmax.Launch(Runtime, x, shortOutput, Rows, Cols, 1f));
        Assert.That(e!.ParamName, Is.EqualTo("output"));
        var host = new float[Rows * Cols];
        Assert.That(Assert.Throws<ArgumentException>(() => Kernels.Softmax.Run(Runtime, host, new float[5], Rows, Cols, 1f))!.ParamName, Is.EqualTo("output"));
    }

    [TestCase(0f)]
    [TestCase(-1f)]
    [TestCase(float.NaN)]
    [TestCase(float.PositiveInfinity)]
    public void BadTemperatureNamesTheArgument(float temperature)
    {
        using var x = Runtime.Upload<float>(new float[Rows * Cols]);
        Expect<ArgumentOutOfRangeException>("temperature", y => Kernels.Softmax.Launch(Runtime, x, y, Rows, Cols, temperature));
    }

    [Test]
    public void BuffersFromAnotherRuntimeAreRejected()
    {
        using var other = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        using var foreign = other.Upload<float>(new float[Rows * Cols]);
        Expect<ArgumentException>("input", y => Kernels.Softmax.Launch(Runtime, foreign, y, Rows, Cols, 1f));
    }

    [Test]
    public void DisposedBuffersAreRejected()
    {
        var x = Runtime.Upload<float>(new float[Rows * Cols]);
        x.Dispose();
        Expect<ArgumentException>("input", y => Kernels.Softmax.Launch(Runtime, x, y, Rows, Cols, 1f));
    }

    [Test]
    public void DeviceToDeviceCopyCopiesAndChecksItsDestination()
    {
        var data = TestData.Logits(1031, 4);
        using var source = Runtime.Upload<float>(data);
        using var destination = Runtime.Allocate<float>(1031);
        source.CopyTo(destination);
        Assert.That(destination.ToArray(), Is.EqualTo(data));
        using var small = Runtime.Allocate<float>(1030);
        Assert.That(Assert.Throws<ArgumentException>(() => source.CopyTo(small))!.ParamName, Is.EqualTo("destination"));
    }

    [Test]
    public void LogSumExpRefusesToOverwriteItsInput()
    {
        using var x = Runtime.Upload<float>(TestData.Logits(Rows * Cols, 2));
        var e = Assert.Throws<ArgumentException>(() => Kernels.LogSumExp.Launch(Runtime, x, x, Rows, Cols, 1f));
        Assert.That(e!.ParamName, Is.EqualTo("output"));
    }

    /// <summary>Runs <paramref name="launch"/> on a sentinel-filled output and checks the exception, its name and the untouched output.</summary>
    private void Expect<TException>(string parameter, Action<KernelBuffer<float>> launch) where TException : ArgumentException
    {
        using var output = Runtime.Upload<float>(Enumerable.Repeat(Sentinel, Rows * Cols).ToArray());
        var e = Assert.Throws<TException>(() => launch(output));
        Assert.That(e!.ParamName, Is.EqualTo(parameter));
        Assert.That(output.ToArray(), Is.All.EqualTo(Sentinel), "output untouched");
    }
}
