namespace Kernels.Generators.Models;

/// <summary>Everything needed to emit one N:M product: data only, equatable, no symbols.</summary>
internal sealed record SparseMatMulKernelInfo(HierarchyInfo Hierarchy, int N, int M, TransformInfo? Epilogue);
