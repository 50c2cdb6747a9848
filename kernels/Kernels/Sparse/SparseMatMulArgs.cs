using System.Runtime.InteropServices;

namespace Kernels;

/// <summary>The scalar arguments of one sparse (or dense, N = M) product Y = X·Wᵀ, passed by value to both kernels.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SparseMatMulArgs
{
    /// <summary>Rows of X and Y (tokens).</summary>
    public int Batch;

    /// <summary>Rows of W, columns of Y (output features).</summary>
    public int Out;

    /// <summary>Columns of X and of the dense W (input features, the reduction axis).</summary>
    public int In;

    /// <summary>Kept per group.</summary>
    public int N;

    /// <summary>Group size.</summary>
    public int M;

    /// <summary>Metadata bits per kept value (0 when dense).</summary>
    public int Bits;

    /// <summary>Kept values per row of W.</summary>
    public int Kept;

    /// <summary>Metadata words per row of W.</summary>
    public int MetaWords;

    /// <summary>1 when a bias [Out] is added before the epilogue.</summary>
    public int HasBias;

    /// <summary>ILGPU: columns of X staged in shared memory per step, a multiple of M.</summary>
    public int TileCols;
}
