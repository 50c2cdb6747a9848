using System;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// Conversion between <see cref="NmSparseMatrix"/> 2:4 and the layout of PyTorch's semi-structured sparse tensors
/// (CUTLASS backend, fp16/bf16: <c>torch.sparse.to_sparse_semi_structured</c> with <c>_FORCE_CUTLASS</c>, and
/// <c>torch.sparse._semi_structured_conversions.sparse_semi_structured_from_dense_cutlass</c>), so that weights pruned
/// there can be loaded here and back.
/// </summary>
/// <remarks>
/// <para><b>Values</b> [rows, cols/2]: the same as ours, the two kept elements of each group of four in column order
/// (PyTorch holds them as fp16/bf16: convert element-wise; the positions are what this class maps).</para>
/// <para><b>Metadata</b> int16 [rows, cols/16]: element (r, c) packs groups 4c..4c+3 of row r as nibbles
/// <c>idx0 | idx1 &lt;&lt; 2</c> (idx0 &lt; idx1), lowest group in the lowest nibble — bit for bit the 16-bit halves of
/// our row stream — and is then stored at the CUTLASS <c>ColumnMajorInterleaved&lt;2&gt;</c> position computed by
/// <see cref="ReorderedOffset"/> (PyTorch's <c>_calculate_meta_reordering_scatter_offsets</c> for int16 metadata: rows
/// permuted within blocks of 32, 2x2 blocks swizzled, pairs of columns interleaved). PyTorch requires rows % 32 = 0 and
/// cols % 64 for its kernels; this class needs rows % 32 = 0 and cols % 32 = 0 (an even number of metadata columns, which
/// the swizzle pairs).</para>
/// <para>cuSPARSELt's compressed form (<c>cusparseLtSpMMACompress</c>, PyTorch's <c>_cslt_compress</c>) is opaque and
/// version-specific: prune and compress there from the dense matrix that <see cref="NmSparseMatrix.Decompress"/> gives.</para>
/// </remarks>
public static class SemiStructured24
{
    private static readonly NmPattern Pattern = new(2, 4);

    /// <summary>Writes <paramref name="matrix"/> (2:4) as PyTorch CUTLASS values [rows, cols/2] and reordered int16 metadata [rows, cols/16].</summary>
    public static void ToPyTorch(NmSparseMatrix matrix, Span<float> values, Span<short> metadata)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (matrix.Pattern != Pattern)
            throw new ArgumentException($"matrix is {matrix.Pattern}; the PyTorch semi-structured layout holds 2:4.", nameof(matrix));
        int rows = matrix.Rows, cols = matrix.Cols, metaCols = cols / 16;
        CheckShape(rows, cols);
        Guard.Span(values.Length, Guard.Elements(rows, cols / 2), nameof(values));
        Guard.Span(metadata.Length, Guard.Elements(rows, metaCols), nameof(metadata));
        matrix.Values.CopyTo(values);
        int words = matrix.MetaWordsPerRow;
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < metaCols; c++)
            {
                uint word = matrix.Metadata[r * words + c / 2];
                metadata[(int)ReorderedOffset(r, c, rows)] = (short)(ushort)(word >> (16 * (c & 1)));
            }
        }
    }

    /// <summary>Reads PyTorch CUTLASS values [rows, cols/2] and reordered int16 metadata [rows, cols/16] as a checked 2:4 matrix.</summary>
    public static NmSparseMatrix FromPyTorch(ReadOnlySpan<float> values, ReadOnlySpan<short> metadata, int rows, int cols)
    {
        Guard.AtLeast(rows, 0, nameof(rows));
        CheckShape(rows, cols);
        int metaCols = cols / 16, words = Pattern.MetaWordsPerRow(cols);
        if (values.Length != Guard.Elements(rows, cols / 2))
            throw new ArgumentException($"values holds {values.Length} elements; [{rows}, {cols / 2}] expected.", nameof(values));
        if (metadata.Length != Guard.Elements(rows, metaCols))
            throw new ArgumentException($"metadata holds {metadata.Length} elements; int16 [{rows}, {metaCols}] expected.", nameof(metadata));
        var stream = new uint[rows * words];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < metaCols; c++)
                stream[r * words + c / 2] |= (uint)(ushort)metadata[(int)ReorderedOffset(r, c, rows)] << (16 * (c & 1));
        }
        return new NmSparseMatrix(rows, cols, Pattern, values, stream);
    }

    /// <summary>
    /// Where PyTorch stores metadata element (<paramref name="row"/>, <paramref name="col"/>) of a matrix with
    /// <paramref name="rows"/> rows, as an index into the flat reordered int16 metadata.
    /// </summary>
    public static long ReorderedOffset(int row, int col, int rows)
    {
        const int group = 32, interweave = 4;
        int dstRow = row / group * group + row % 8 * interweave + row % group / 8;
        int dstCol = col;
        int swap = (dstRow % 2 == 0 && dstCol % 2 == 1 ? 1 : 0) - (dstRow % 2 == 1 && dstCol % 2 == 0 ? 1 : 0);
        dstRow += swap;
        dstCol -= swap;
        return (long)(dstCol / 2) * rows * 2 + (long)dstRow * 2 + dstCol % 2;
    }

    private static void CheckShape(int rows, int cols)
    {
        if (rows % 32 != 0)
            throw new ArgumentException($"rows = {rows}: the PyTorch semi-structured layout needs a multiple of 32 rows.", nameof(rows));
        // The 2x2 swizzle pairs metadata columns, so cols / 16 must be even.
        if (cols < 32 || cols % 32 != 0)
            throw new ArgumentException($"cols = {cols}: the PyTorch semi-structured layout needs a positive multiple of 32 columns.", nameof(cols));
    }
}
