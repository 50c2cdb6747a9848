namespace Kernels.Generators.Models;

/// <summary>Everything needed to emit one attention kernel: data only, equatable, no symbols.</summary>
internal sealed record AttentionKernelInfo(HierarchyInfo Hierarchy, AttentionKind Kind, int HeadDim, int GroupSize, int ChunkKeys,
    AttentionMasks Masks, bool Sink);
