namespace Kernels;

/// <summary>Y = X · Wᵀ (+ bias) for a 2:4 sparse W: half the weights read, for decode and prefill.</summary>
[SparseMatMulKernel(2, 4)]
public static partial class SparseMatMul24;

/// <summary>Y = X · Wᵀ (+ bias) for a 1:2 sparse W.</summary>
[SparseMatMulKernel(1, 2)]
public static partial class SparseMatMul12;

/// <summary>Y = X · Wᵀ (+ bias) for a 4:8 sparse W.</summary>
[SparseMatMulKernel(4, 8)]
public static partial class SparseMatMul48;

/// <summary>Y = X · Wᵀ (+ bias) for a 1:4 sparse W (a quarter of the weights).</summary>
[SparseMatMulKernel(1, 4)]
public static partial class SparseMatMul14;

/// <summary>Y = X · Wᵀ (+ bias) for a 2:8 sparse W (a quarter of the weights).</summary>
[SparseMatMulKernel(2, 8)]
public static partial class SparseMatMul28;

/// <summary>
/// The dense Y = X · Wᵀ (+ bias), W given as a 1:1 <see cref="NmSparseMatrix"/> (no metadata): the same kernels and
/// blocking as the sparse products, the in-run baseline they are measured against.
/// </summary>
[SparseMatMulKernel(1, 1)]
public static partial class DenseMatMul;
