using System;

namespace Kernels;

/// <summary>
/// Declares a product Y = epilogue(X · Wᵀ + bias) for a weight matrix W compressed N:M (<see cref="NmSparseMatrix"/>)
/// on a <c>static partial class</c>. The generator adds an ILGPU kernel (shared-memory tiles; CUDA, OpenCL,
/// <c>ilgpu-cpu</c>), a CPU kernel (<c>cpu</c>: AVX-512, register-blocked) and typed <c>Launch</c>/<c>Run</c> methods that
/// validate their arguments and dispatch on the runtime's backend. N = M declares the dense product.
/// </summary>
/// <remarks>
/// X is [batch, in], W is [out, in] (the reduction runs along W's rows, where the N:M groups are), the optional bias is
/// [out] and Y is [batch, out]. The same kernel serves decode (batch 1–16) and prefill (large batch).
/// </remarks>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class SparseMatMulKernelAttribute : Attribute
{
    /// <summary>Declares the product for N kept elements in every group of M.</summary>
    public SparseMatMulKernelAttribute(int n, int m)
    {
        N = n;
        M = m;
    }

    /// <summary>Kept per group.</summary>
    public int N { get; }

    /// <summary>Group size (at most <see cref="NmPattern.MaxM"/>).</summary>
    public int M { get; }

    /// <summary>
    /// The name of a static method of the declaring class, <c>float F(float y)</c> or <c>float F(float y, int column)</c>
    /// (column = output feature), applied to each output after the bias: an activation such as SiLU or GELU, or any
    /// element-wise function, fused into both kernels.
    /// </summary>
    public string? Epilogue { get; set; }
}
