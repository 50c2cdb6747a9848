using System.Runtime.InteropServices;

namespace Kernels;

/// <summary>The scalar arguments of one top-k selection launch, passed by value to both kernels.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct TopKArgs
{
    /// <summary>Rows.</summary>
    public int Rows;

    /// <summary>Columns.</summary>
    public int Cols;

    /// <summary>Columns selected per row, 1 ≤ K ≤ min(cols, <see cref="TruncationRules.MaxSelectK"/>).</summary>
    public int K;
}
