using System;
using System.Collections.Generic;
using Kernels.Runtime;

namespace Kernels.Benchmarks.Suite;

/// <summary>How long and how large a suite run is.</summary>
public enum SuiteMode
{
    /// <summary>Tiny shapes and one or two iterations: the test suite's smoke check.</summary>
    Smoke,

    /// <summary>Few shapes and iterations: finishes in well under 3 minutes on 2 cores (CI, <c>kernels bench --quick</c>).</summary>
    Quick,

    /// <summary>Every LLM shape and enough iterations to quote: for people and GPUs.</summary>
    Full,
}

/// <summary>Whether a timed case is a library kernel or an in-run baseline.</summary>
public enum CaseKind
{
    /// <summary>A library (generated) kernel on a backend.</summary>
    Kernel,

    /// <summary>What a user would otherwise write (TensorPrimitives, plain C#, BCL), run on the host.</summary>
    Baseline,
}

/// <summary>
/// One verified, ready-to-time case. <see cref="Run"/> must complete the work before returning (synchronise the
/// accelerator): the runner times it with a wall clock.
/// </summary>
/// <param name="Name">Kernel or baseline name, e.g. <c>Softmax</c> or <c>TensorPrimitives</c>.</param>
/// <param name="Kind">Kernel or baseline.</param>
/// <param name="Run">One launch, synchronised.</param>
/// <param name="Bytes">Bytes the operation must move at least (inputs read once, outputs written once); 0 if unknown.</param>
/// <param name="Flops">Floating-point operations per run, where that is the better measure; 0 if not used.</param>
/// <param name="MaxError">The verification error against the float64 reference (before timing).</param>
/// <param name="Error">Why the case cannot be timed (verification failed, compile failed); null when it can.</param>
public sealed record BenchCase(string Name, CaseKind Kind, Action Run, long Bytes, double Flops, double MaxError, string? Error = null);

/// <summary>
/// A kernel family's benchmark: which shapes to run on which backend, and how to prepare verified cases. The suite
/// (<see cref="SuiteRunner"/>) finds every non-abstract subclass in this assembly by reflection, so a new family plugs in
/// by adding one class. Plain BenchmarkDotNet classes (with <c>[Benchmark]</c> methods) of families without such a class
/// are run too, through <see cref="BenchmarkDotNetFamily"/>.
/// </summary>
public abstract class KernelFamilyBenchmark
{
    /// <summary>Family name, lower case (<c>softmax</c>, <c>sampling</c>): the dashboard's section.</summary>
    public abstract string Family { get; }

    /// <summary>Element type label stored with the results.</summary>
    public virtual string DataType => "fp32";

    /// <summary>The shapes ("ROWSxCOLS" or any label) to run on <paramref name="backend"/> in <paramref name="mode"/>.</summary>
    public abstract IReadOnlyList<string> Shapes(Backend backend, SuiteMode mode);

    /// <summary>
    /// Allocates and verifies every kernel of the family that <paramref name="include"/> accepts (by kernel name) on
    /// <paramref name="runtime"/> at <paramref name="shape"/>.
    /// </summary>
    public abstract PreparedCases PrepareKernels(KernelRuntime runtime, string shape, Func<string, bool> include);

    /// <summary>Allocates and verifies the host baselines at <paramref name="shape"/> (run once per shape, on the host).</summary>
    public abstract PreparedCases PrepareBaselines(string shape);

    /// <summary>The baseline that <c>baselineRatio</c> is computed against.</summary>
    public abstract string PrimaryBaseline { get; }
}

/// <summary>Cases plus whatever must be freed after timing them.</summary>
public sealed class PreparedCases(IReadOnlyList<BenchCase> cases, Action? dispose = null) : IDisposable
{
    /// <summary>The cases.</summary>
    public IReadOnlyList<BenchCase> Cases { get; } = cases;

    /// <inheritdoc/>
    public void Dispose() => dispose?.Invoke();
}
