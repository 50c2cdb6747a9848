namespace Kernels;

/// <summary>
/// A head dimension fixed at compile time: a generated kernel passes a struct implementing it as a type argument, so
/// that the JIT and ILGPU see a constant loop bound; <see cref="HeadDimAny"/> takes the launch's.
/// </summary>
public interface IHeadDim
{
    /// <summary>The head dimension: the constant, or <paramref name="runtime"/> for <see cref="HeadDimAny"/>.</summary>
    int Resolve(int runtime);
}

/// <summary>The head dimension of the launch arguments.</summary>
public readonly struct HeadDimAny : IHeadDim
{
    /// <inheritdoc/>
    public int Resolve(int runtime) => runtime;
}
