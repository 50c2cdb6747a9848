using System.Runtime.Intrinsics;

namespace Kernels.Cpu;

/// <summary>Where the column numbers of a staged row come from: its positions, or a gathered list beside it.</summary>
public unsafe interface IColumns
{
    /// <summary>The columns of elements [i, i + 8).</summary>
    Vector256<int> Load(int i);

    /// <summary>The column of element i.</summary>
    int At(int i);
}

/// <summary>A whole staged row: element i is column i.</summary>
public readonly struct DenseColumns : IColumns
{
    /// <inheritdoc/>
    public Vector256<int> Load(int i) => Vector256.Create(i) + Vector256<int>.Indices;

    /// <inheritdoc/>
    public int At(int i) => i;
}

/// <summary>A gathered candidate list: element i is column <c>cols[i]</c>.</summary>
public readonly unsafe struct GatheredColumns(int* cols) : IColumns
{
    /// <inheritdoc/>
    public Vector256<int> Load(int i) => Vector256.Load(cols + i);

    /// <inheritdoc/>
    public int At(int i) => cols[i];
}
