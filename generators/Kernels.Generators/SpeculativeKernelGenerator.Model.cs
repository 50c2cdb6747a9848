namespace Kernels.Generators.Models;

/// <summary>Everything needed to emit one speculative-decoding kernel: data only, equatable, no symbols.</summary>
/// <remarks>
/// The logit stages (temperature, top-k, top-p, min-p, transform) apply to chain verification only: with any of them the
/// declaration verifies on logits through the decode pipeline (<c>ChainLogitVerifier</c>).
/// </remarks>
internal sealed record SpeculativeKernelInfo(HierarchyInfo Hierarchy, SpeculativeKind Kind, bool PerRowKeys,
    TemperatureMode Temperature = TemperatureMode.None, bool TopK = false, bool TopP = false, bool MinP = false, TransformInfo? Transform = null)
{
    /// <summary>Whether the declaration names a logit stage: its kernel verifies on logits.</summary>
    public bool OnLogits => Temperature != TemperatureMode.None || TopK || TopP || MinP || Transform is not null;
}
