using System.Runtime.InteropServices;

namespace Kernels;

/// <summary>The scalar arguments of HyperAttention's row kernels (hash, gather, scatter).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct HyperAttentionArgs
{
    /// <summary>Rows processed.</summary>
    public int Rows;

    /// <summary>Elements per row (the head dimension for the hash).</summary>
    public int Width;

    /// <summary>Hash bits r.</summary>
    public int Bits;

    /// <summary>1: scatter (dst[index[r]] = src[r]); 0: gather (dst[r] = src[index[r]]).</summary>
    public int Scatter;

    /// <summary>The value a gather writes for index −1 (a padding row).</summary>
    public float Fill;
}
