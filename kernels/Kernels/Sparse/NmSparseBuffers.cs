using System;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// An <see cref="NmSparseMatrix"/> uploaded to a runtime's buffers, for <see cref="SparseMatMulKernel.Launch"/>. The
/// metadata was checked when the matrix was built, so a launch checks only shapes.
/// </summary>
public sealed class NmSparseBuffers : IDisposable
{
    /// <summary>Uploads <paramref name="matrix"/> to <paramref name="runtime"/>.</summary>
    public NmSparseBuffers(KernelRuntime runtime, NmSparseMatrix matrix)
    {
        Guard.Runtime(runtime, nameof(runtime));
        ArgumentNullException.ThrowIfNull(matrix);
        Runtime = runtime;
        Rows = matrix.Rows;
        Cols = matrix.Cols;
        Pattern = matrix.Pattern;
        // Never empty: a dense matrix has no metadata, and a zero-length device buffer is not portable.
        Values = runtime.Upload(matrix.Values.Length == 0 ? stackalloc float[1] : matrix.Values);
        Metadata = runtime.Upload(matrix.Metadata.Length == 0 ? stackalloc uint[1] : matrix.Metadata);
    }

    /// <summary>The runtime holding the buffers.</summary>
    public KernelRuntime Runtime { get; }

    /// <summary>Rows (output features).</summary>
    public int Rows { get; }

    /// <summary>Dense columns (input features).</summary>
    public int Cols { get; }

    /// <summary>The pattern.</summary>
    public NmPattern Pattern { get; }

    /// <summary>Kept values [Rows, KeptPerRow].</summary>
    public KernelBuffer<float> Values { get; }

    /// <summary>Packed metadata [Rows, MetaWordsPerRow] (one unused word when dense).</summary>
    public KernelBuffer<uint> Metadata { get; }

    /// <summary>Whether the buffers have been disposed (or their runtime has).</summary>
    public bool IsDisposed => Values.IsDisposed || Metadata.IsDisposed;

    /// <summary>Frees both buffers.</summary>
    public void Dispose()
    {
        Values.Dispose();
        Metadata.Dispose();
    }
}
