using System.Runtime.Intrinsics;

namespace Kernels;

/// <summary>
/// A per-element function fused into a kernel. The generator implements it for each declaration: the scalar form runs in
/// the ILGPU kernel, the vector form in the CPU kernel. Both compute the same function.
/// </summary>
/// <remarks>
/// The context forms serve decode-family declarations whose user function takes a per-request context,
/// <c>float F(float x, int column, float context, float parameter)</c>: context is the element's value in a
/// [rows, cols] buffer (e.g. how often the request already produced the token), parameter the row's value in a [rows]
/// buffer (e.g. its repetition penalty). A function without context ignores them.
/// </remarks>
public interface ILogitTransform
{
    /// <summary>Applies the function to one logit in column <paramref name="column"/>.</summary>
    float Apply(float x, int column);

    /// <summary>Applies the function to eight logits whose columns are <paramref name="columns"/>.</summary>
    Vector256<float> Apply(Vector256<float> x, Vector256<int> columns);

    /// <summary>
    /// Applies the function to sixteen logits whose columns are <paramref name="columns"/> (the AVX-512 paths; a
    /// function outside the vectorised subset runs as two eight-lane halves).
    /// </summary>
    Vector512<float> Apply(Vector512<float> x, Vector512<int> columns);

    /// <summary>Applies the function to one logit with its element context and its row's parameter.</summary>
    float Apply(float x, int column, float context, float parameter);

    /// <summary>Applies the function to eight logits with their element contexts and their row's parameter.</summary>
    Vector256<float> Apply(Vector256<float> x, Vector256<int> columns, Vector256<float> context, Vector256<float> parameter);
}

/// <summary>The identity transform.</summary>
public readonly struct IdentityTransform : ILogitTransform
{
    /// <inheritdoc/>
    public float Apply(float x, int column) => x;

    /// <inheritdoc/>
    public Vector256<float> Apply(Vector256<float> x, Vector256<int> columns) => x;

    /// <inheritdoc/>
    public Vector512<float> Apply(Vector512<float> x, Vector512<int> columns) => x;

    /// <inheritdoc/>
    public float Apply(float x, int column, float context, float parameter) => x;

    /// <inheritdoc/>
    public Vector256<float> Apply(Vector256<float> x, Vector256<int> columns, Vector256<float> context, Vector256<float> parameter) => x;
}
