using System;

namespace Kernels;

/// <summary>
/// Declares a fused softmax-family kernel on a <c>static partial class</c>. The generator adds to the class an ILGPU
/// kernel (CUDA, OpenCL, <c>ilgpu-cpu</c>), a vectorised multi-threaded CPU kernel (<c>cpu</c>) and typed
/// <c>Launch</c>/<c>Run</c> methods that validate their arguments and dispatch to the runtime's backend.
/// </summary>
/// <remarks>
/// Per element the kernel computes <c>z = Transform(x, column) / T + mask[row, column]</c> and then normalises each row
/// with the chosen <see cref="SoftmaxActivation"/>. Rows holding NaN or +inf in z give NaN throughout; a row whose z are
/// all −inf gives probabilities 0, log-probabilities −inf and a log-sum-exp of −inf.
/// </remarks>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class SoftmaxKernelAttribute : Attribute
{
    /// <summary>Declares the kernel with the output it writes.</summary>
    public SoftmaxKernelAttribute(SoftmaxOutput output = SoftmaxOutput.Probabilities) => Output = output;

    /// <summary>What the kernel writes.</summary>
    public SoftmaxOutput Output { get; }

    /// <summary>Softmax (default) or StableMax.</summary>
    public SoftmaxActivation Activation { get; set; } = SoftmaxActivation.Softmax;

    /// <summary>Whether and how the kernel takes a temperature.</summary>
    public TemperatureMode Temperature { get; set; } = TemperatureMode.None;

    /// <summary>Whether the kernel takes an additive mask [rows, cols] (use −inf to exclude a column).</summary>
    public bool Mask { get; set; }

    /// <summary>
    /// The name of a static method of the declaring class, <c>float F(float x)</c> or <c>float F(float x, int column)</c>,
    /// fused into both kernels and applied to each logit first. Bodies in the vectorisable subset (arithmetic,
    /// comparisons, conditionals, Math/MathF Min, Max, Abs, Exp, Log, Tanh, Sqrt, constants) become vector code on the CPU.
    /// </summary>
    public string? Transform { get; set; }
}
