using System;

namespace Kernels;

/// <summary>
/// Declares a speculative-decoding verification kernel (or its acceptance diagnostic) on a <c>static partial class</c>.
/// The generator adds an ILGPU kernel (CUDA, OpenCL, <c>ilgpu-cpu</c>), a CPU kernel (<c>cpu</c>) and typed
/// <c>Launch</c>/<c>Run</c> methods that validate their arguments and dispatch to the runtime's backend.
/// </summary>
/// <remarks>
/// Inputs are probabilities, not logits — except for a chain declaration that names logit stages (<see cref="Temperature"/>,
/// <see cref="TopK"/>, <see cref="TopP"/>, <see cref="MinP"/>, <see cref="Transform"/>), which verifies logits through
/// that pipeline (<see cref="ChainLogitVerifier"/>). The target and draft distributions must come from the same
/// post-processing, otherwise the emitted tokens follow the processed target, not the intended one. The
/// algorithms, randomness layouts and per-row outcomes are documented on <see cref="ChainVerifier"/> (chain),
/// <see cref="MultiDraftVerifier"/> (RSD, K-SEQ), <see cref="TreeVerifier"/> (token trees) and <see cref="DraftMachine"/>.
/// </remarks>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class SpeculativeKernelAttribute : Attribute
{
    /// <summary>Declares a kernel of the given kind.</summary>
    public SpeculativeKernelAttribute(SpeculativeKind kind = SpeculativeKind.Chain) => Kind = kind;

    /// <summary>The kernel generated.</summary>
    public SpeculativeKind Kind { get; }

    /// <summary>
    /// Verification kinds (all but <see cref="SpeculativeKind.ExpectedAcceptance"/>): take one <see cref="RngKey"/> per row
    /// (per request) from a buffer instead of one per launch, so that a request's decisions do not depend on its row in the batch.
    /// </summary>
    public bool PerRowKeys { get; set; }

    /// <summary>
    /// <see cref="SpeculativeKind.Chain"/> only, a logit stage: the verifier takes target and draft logits and a
    /// temperature (scalar, or per request [B]), as <see cref="SamplerKernelAttribute.Temperature"/>. Any logit stage makes
    /// the kernel a <see cref="ChainLogitVerifier"/>: both distributions go through the same decode pipeline.
    /// </summary>
    public TemperatureMode Temperature { get; set; } = TemperatureMode.None;

    /// <summary><see cref="SpeculativeKind.Chain"/> only, a logit stage: top-k, k per request [B] (k ≤ 0 or k ≥ V: none).</summary>
    public bool TopK { get; set; }

    /// <summary><see cref="SpeculativeKind.Chain"/> only, a logit stage: top-p, p ∈ (0, 1] per request [B].</summary>
    public bool TopP { get; set; }

    /// <summary><see cref="SpeculativeKind.Chain"/> only, a logit stage: min-p ∈ [0, 1] per request [B].</summary>
    public bool MinP { get; set; }

    /// <summary>
    /// <see cref="SpeculativeKind.Chain"/> only, a logit stage: a static method of the declaring class,
    /// <c>float F(float x)</c> or <c>float F(float x, int column)</c>, applied to every target and draft logit first, fused
    /// into the pipeline's kernels (the rules of <see cref="SamplerKernelAttribute.Transform"/>, without a context).
    /// </summary>
    public string? Transform { get; set; }
}
