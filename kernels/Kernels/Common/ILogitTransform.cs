using System.Runtime.Intrinsics;

namespace Kernels;

/// <summary>
/// A per-element function fused into a kernel. The generator implements it for each declaration: the scalar form runs in
/// the ILGPU kernel, the vector form in the CPU kernel. Both compute the same function.
/// </summary>
public interface ILogitTransform
{
    /// <summary>Applies the function to one logit in column <paramref name="column"/>.</summary>
    float Apply(float x, int column);

    /// <summary>Applies the function to eight logits whose columns are <paramref name="columns"/>.</summary>
    Vector256<float> Apply(Vector256<float> x, Vector256<int> columns);
}

/// <summary>The identity transform.</summary>
public readonly struct IdentityTransform : ILogitTransform
{
    /// <inheritdoc/>
    public float Apply(float x, int column) => x;

    /// <inheritdoc/>
    public Vector256<float> Apply(Vector256<float> x, Vector256<int> columns) => x;
}
