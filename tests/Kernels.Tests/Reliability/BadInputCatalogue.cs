using System;
using System.Collections.Generic;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using Kernels.Tests.Softmax;
using NUnit.Framework;

namespace Kernels.Tests.Reliability;

/// <summary>
/// The bad-input catalogue, data-driven: every softmax-family kernel × every bad argument, on every backend. Each case
/// expects an exception of a given type naming a given argument, thrown before any launch, with the output untouched.
/// (Bad data inside buffers has per-row outcomes, tested in SoftmaxTests.)
/// </summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class BadInputCatalogue(Backend backend) : BackendTest(backend)
{
    private const int Rows = 3, Cols = 17;
    private const float Sentinel = 42f;

    /// <summary>One bad call: what it breaks, and the exception and argument name it must produce.</summary>
    private sealed record BadCall(string Name, Type Exception, string Parameter, Func<SoftmaxKernel, bool> AppliesTo, Action<Call> Make);

    /// <summary>A launch's arguments, valid until a <see cref="BadCall"/> breaks one.</summary>
    private sealed class Call
    {
        public KernelBuffer<float>? Input, Temperatures, Mask;
        public int Rows = BadInputCatalogue.Rows, Cols = BadInputCatalogue.Cols;
        public float Temperature = 1f;
        public KernelRuntime? Own, Other;
    }

    private static readonly BadCall[] Calls =
    {
        new("null input", typeof(ArgumentNullException), "input", _ => true, c => c.Input = null),
        new("short input", typeof(ArgumentException), "input", _ => true, c => c.Cols += 1),
        new("rows negative", typeof(ArgumentOutOfRangeException), "rows", _ => true, c => c.Rows = -1),
        new("cols zero", typeof(ArgumentOutOfRangeException), "cols", _ => true, c => c.Cols = 0),
        new("input from another runtime", typeof(ArgumentException), "input", _ => true, c => c.Input = c.Other!.Allocate<float>(Rows * Cols)),
        new("disposed input", typeof(ArgumentException), "input", _ => true, c => c.Input!.Dispose()),
        new("temperature NaN", typeof(ArgumentOutOfRangeException), "temperature", k => k.Temperature == TemperatureMode.Scalar, c => c.Temperature = float.NaN),
        new("temperature negative", typeof(ArgumentOutOfRangeException), "temperature", k => k.Temperature == TemperatureMode.Scalar, c => c.Temperature = -0.5f),
        new("temperature zero", typeof(ArgumentOutOfRangeException), "temperature", k => k.Temperature == TemperatureMode.Scalar, c => c.Temperature = 0f),
        new("temperature infinite", typeof(ArgumentOutOfRangeException), "temperature", k => k.Temperature == TemperatureMode.Scalar, c => c.Temperature = float.PositiveInfinity),
        new("temperature subnormal", typeof(ArgumentOutOfRangeException), "temperature", k => k.Temperature == TemperatureMode.Scalar, c => c.Temperature = 1e-40f),
        new("null temperatures", typeof(ArgumentNullException), "temperatures", k => k.Temperature == TemperatureMode.PerRow, c => c.Temperatures = null),
        new("short temperatures", typeof(ArgumentException), "temperatures", k => k.Temperature == TemperatureMode.PerRow, c => { c.Temperatures!.Dispose(); c.Temperatures = c.Own!.Upload<float>(new[] { 1f }); }),
        new("null mask", typeof(ArgumentNullException), "mask", k => k.HasMask, c => c.Mask = null),
        new("mask from another runtime", typeof(ArgumentException), "mask", k => k.HasMask, c => c.Mask = c.Other!.Allocate<float>(Rows * Cols)),
    };

    public static IEnumerable<TestCaseData> Cases =>
        from kernel in SoftmaxCase.All
        from call in Calls
        where call.AppliesTo(kernel.Kernel)
        select new TestCaseData(kernel.Name, call.Name).SetArgDisplayNames(kernel.Name, call.Name);

    [TestCaseSource(nameof(Cases))]
    public void ThrowsBeforeLaunchNamingTheArgument(string kernelName, string callName)
    {
        var kernel = SoftmaxCase.Get(kernelName).Kernel;
        var bad = Calls.Single(c => c.Name == callName);
        using var other = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        var call = new Call
        {
            Own = Runtime,
            Other = other,
            Input = Runtime.Upload<float>(TestData.Logits(Rows * Cols, 3)),
            Temperatures = Runtime.Upload<float>(new[] { 1f, 0.5f, 2f }),
            Mask = Runtime.Allocate<float>(Rows * Cols),
        };
        bad.Make(call);
        using var output = Runtime.Upload<float>(Enumerable.Repeat(Sentinel, Rows * Cols).ToArray());
        try
        {
            var e = Assert.Throws(bad.Exception, () => kernel.Launch(Runtime, call.Input!, output, call.Rows, call.Cols, call.Temperature, call.Temperatures, call.Mask));
            Assert.That(((ArgumentException)e!).ParamName, Is.EqualTo(bad.Parameter));
            Assert.That(output.ToArray(), Is.All.EqualTo(Sentinel), "output untouched");
        }
        finally
        {
            call.Input?.Dispose();
            call.Temperatures?.Dispose();
            call.Mask?.Dispose();
        }
    }

    [Test]
    public void TheCatalogueIsLarge() => Assert.That(Cases.Count(), Is.GreaterThanOrEqualTo(40));
}
