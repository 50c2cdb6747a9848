namespace Kernels.Generators.Models;

/// <summary>Everything needed to emit one sampler: data only, equatable, no symbols.</summary>
internal sealed record SamplerKernelInfo(
    HierarchyInfo Hierarchy,
    SamplerKind Kind,
    TemperatureMode Temperature,
    bool PerRowKeys,
    bool PerRowOffsets,
    bool LogProbabilities,
    GumbelSoftmaxMode Mode,
    bool TopK,
    bool TopP,
    bool MinP,
    bool Probabilities,
    TruncationOutput Output,
    TopHMode TopHMode,
    TransformInfo? Transform);
