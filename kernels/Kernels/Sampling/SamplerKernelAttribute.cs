using System;

namespace Kernels;

/// <summary>
/// Declares a fused sampling kernel on a <c>static partial class</c>. The generator adds an ILGPU kernel (CUDA, OpenCL,
/// <c>ilgpu-cpu</c>), a CPU kernel (<c>cpu</c>) and typed <c>Launch</c>/<c>Run</c> methods that validate their arguments,
/// dispatch to the runtime's backend and return the RNG offset for the next call.
/// </summary>
/// <remarks>
/// <para>Per element the kernel works on <c>z = Transform(x, column) / T</c>. Randomness comes from
/// <see cref="Rng"/>: a launch takes one <see cref="RngKey"/> (row r then uses stream <c>Stream + r</c>) or, with
/// <see cref="PerRowKeys"/>, one key per row (per-request seeds, independent of the row's place in the batch), and an
/// offset. The same keys and offset give the same result on every backend, except at documented near-ties.</para>
/// <para>Per-row outcomes: a row holding NaN or +inf (after the transform and temperature), or with an invalid per-row
/// temperature, is invalid: token/index −1 and NaN values. A row whose z are all −inf has nothing to draw: token/index
/// −1 and −inf. Tokens are otherwise always in [0, cols) and never a column whose z is −inf.</para>
/// </remarks>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class SamplerKernelAttribute : Attribute
{
    /// <summary>Declares a sampler of the given kind.</summary>
    public SamplerKernelAttribute(SamplerKind kind = SamplerKind.Categorical) => Kind = kind;

    /// <summary>The sampler generated.</summary>
    public SamplerKind Kind { get; }

    /// <summary>Whether and how the kernel takes its temperature (for Gumbel-softmax, τ).</summary>
    public TemperatureMode Temperature { get; set; } = TemperatureMode.None;

    /// <summary>Whether the kernel takes one <see cref="RngKey"/> per row from a buffer instead of one per launch.</summary>
    public bool PerRowKeys { get; set; }

    /// <summary><see cref="SamplerKind.Categorical"/> only: also write the log-probability of each drawn token.</summary>
    public bool LogProbabilities { get; set; }

    /// <summary><see cref="SamplerKind.GumbelSoftmax"/> only: soft, hard or straight-through.</summary>
    public GumbelSoftmaxMode Mode { get; set; } = GumbelSoftmaxMode.Soft;

    /// <summary><see cref="SamplerKind.Decode"/> and <see cref="SamplerKind.Truncate"/> only: a top-k stage, k per row from a buffer (k ≤ 0 or k ≥ cols: no truncation).</summary>
    public bool TopK { get; set; }

    /// <summary><see cref="SamplerKind.Decode"/> and <see cref="SamplerKind.Truncate"/> only: a top-p stage, p ∈ (0, 1] per row from a buffer.</summary>
    public bool TopP { get; set; }

    /// <summary><see cref="SamplerKind.Decode"/> and <see cref="SamplerKind.Truncate"/> only: a min-p stage, min-p ∈ [0, 1] per row from a buffer.</summary>
    public bool MinP { get; set; }

    /// <summary>
    /// <see cref="SamplerKind.Decode"/> only: an RNG offset per row from a buffer, added to the launch offset — each
    /// request advances its own counter (continuous batching: a request's draws do not depend on when it joined).
    /// </summary>
    public bool PerRowOffsets { get; set; }

    /// <summary><see cref="SamplerKind.TopH"/> only: the reference code's stopping rule (default) or the normalised one.</summary>
    public TopHMode TopHMode { get; set; } = TopHMode.Reference;

    /// <summary><see cref="SamplerKind.Truncate"/> only: renormalised probabilities (default) or masked values.</summary>
    public TruncationOutput Output { get; set; } = TruncationOutput.Probabilities;

    /// <summary>
    /// <see cref="SamplerKind.Decode"/> and <see cref="SamplerKind.Truncate"/> only: the rows are probabilities (non-negative, any scale; e.g. the output of a
    /// softmax kernel) instead of logits. No temperature.
    /// </summary>
    public bool Probabilities { get; set; }

    /// <summary>
    /// The name of a static method of the declaring class, <c>float F(float x)</c> or <c>float F(float x, int column)</c>,
    /// fused into both kernels and applied to each logit first (as for <see cref="SoftmaxKernelAttribute.Transform"/>).
    /// Cross-backend identity of samples holds exactly for transforms made of exactly rounded operations (arithmetic,
    /// comparisons, Min, Max, Abs); transcendental functions differ by ulps between the vector and scalar forms.
    /// </summary>
    public string? Transform { get; set; }
}
