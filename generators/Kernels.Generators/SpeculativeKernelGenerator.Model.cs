namespace Kernels.Generators.Models;

/// <summary>Everything needed to emit one speculative-decoding kernel: data only, equatable, no symbols.</summary>
internal sealed record SpeculativeKernelInfo(HierarchyInfo Hierarchy, SpeculativeKind Kind, bool PerRowKeys);
