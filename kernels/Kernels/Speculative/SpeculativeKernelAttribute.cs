using System;

namespace Kernels;

/// <summary>
/// Declares a speculative-decoding verification kernel (or its acceptance diagnostic) on a <c>static partial class</c>.
/// The generator adds an ILGPU kernel (CUDA, OpenCL, <c>ilgpu-cpu</c>), a CPU kernel (<c>cpu</c>) and typed
/// <c>Launch</c>/<c>Run</c> methods that validate their arguments and dispatch to the runtime's backend.
/// </summary>
/// <remarks>
/// Inputs are probabilities, not logits: the target and draft distributions must come from the same post-processing
/// (temperature, truncation), otherwise the emitted tokens follow the processed target, not the intended one. The
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
}
