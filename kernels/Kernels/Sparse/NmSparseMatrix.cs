using System;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// A weight matrix [rows, cols] in compressed N:M form, checked once when built so that launches need not re-read it.
/// </summary>
/// <remarks>
/// <para><b>Values</b> [rows, KeptPerRow]: the kept elements of each row in column order (group by group, ascending
/// column within a group).</para>
/// <para><b>Metadata</b> [rows, MetaWordsPerRow] of 32-bit words: per kept value, its index within its group in
/// <see cref="NmPattern.Bits"/> = ⌈log2 M⌉ bits, packed little-endian as one bit stream per row (kept value j occupies
/// bits [j·Bits, (j+1)·Bits) of the row's stream; bit b of the stream is bit b mod 32 of word b / 32). Rows start on a
/// word; unused high bits of a row's last word are zero. For 2:4 that is 2 bits per kept value, 8 groups per word.
/// Valid metadata has, in every group, N indices below M in strictly ascending order.</para>
/// <para>Dense (N = M) matrices carry no metadata.</para>
/// </remarks>
public sealed class NmSparseMatrix
{
    private readonly float[] _values;
    private readonly uint[] _metadata;

    /// <summary>
    /// Wraps compressed data, checking its shape and every group's indices (<see cref="ArgumentException"/> naming the
    /// argument and the first bad row and group). The arrays are copied into pinned storage.
    /// </summary>
    public NmSparseMatrix(int rows, int cols, NmPattern pattern, ReadOnlySpan<float> values, ReadOnlySpan<uint> metadata)
    {
        pattern.CheckDefined(nameof(pattern));
        Guard.AtLeast(rows, 0, nameof(rows));
        pattern.CheckColumns(cols, nameof(cols));
        Rows = rows;
        Cols = cols;
        Pattern = pattern;
        long valueCount = Guard.Elements(rows, pattern.KeptPerRow(cols));
        long metaCount = Guard.Elements(rows, pattern.MetaWordsPerRow(cols));
        if (values.Length != valueCount)
            throw new ArgumentException($"values holds {values.Length} elements; {rows} rows of {cols} columns in {pattern} form keep {valueCount}.", nameof(values));
        if (metadata.Length != metaCount)
            throw new ArgumentException($"metadata holds {metadata.Length} words; {rows} rows of {cols} columns in {pattern} form need {metaCount} " +
                $"({pattern.Bits} bits per kept value, each row padded to whole 32-bit words).", nameof(metadata));
        CheckMetadata(metadata, rows, cols, pattern);
        _values = GC.AllocateUninitializedArray<float>(values.Length, pinned: true);
        _metadata = GC.AllocateUninitializedArray<uint>(metadata.Length, pinned: true);
        values.CopyTo(_values);
        metadata.CopyTo(_metadata);
    }

    private NmSparseMatrix(int rows, int cols, NmPattern pattern, float[] values, uint[] metadata)
    {
        (Rows, Cols, Pattern, _values, _metadata) = (rows, cols, pattern, values, metadata);
    }

    /// <summary>Rows (output features).</summary>
    public int Rows { get; }

    /// <summary>Columns of the dense matrix (input features, the reduction axis).</summary>
    public int Cols { get; }

    /// <summary>The pattern.</summary>
    public NmPattern Pattern { get; }

    /// <summary>Kept values per row.</summary>
    public int KeptPerRow => Pattern.KeptPerRow(Cols);

    /// <summary>Metadata words per row.</summary>
    public int MetaWordsPerRow => Pattern.MetaWordsPerRow(Cols);

    /// <summary>The kept values [rows, KeptPerRow].</summary>
    public ReadOnlySpan<float> Values => _values;

    /// <summary>The packed group indices [rows, MetaWordsPerRow].</summary>
    public ReadOnlySpan<uint> Metadata => _metadata;

    internal float[] ValueArray => _values;

    internal uint[] MetadataArray => _metadata;

    /// <summary>Compresses <paramref name="weights"/> [rows, cols] under its magnitude mask (<see cref="NmMask"/>).</summary>
    public static NmSparseMatrix Compress(ReadOnlySpan<float> weights, int rows, int cols, NmPattern pattern)
    {
        pattern.CheckDefined(nameof(pattern));
        var mask = new byte[Guard.Elements(rows, cols)];
        NmMask.Select(weights, rows, cols, pattern, mask);
        return Compress(weights, mask, rows, cols, pattern);
    }

    /// <summary>
    /// Compresses <paramref name="weights"/> [rows, cols] keeping the positions where <paramref name="mask"/> is nonzero;
    /// every group of the mask must keep exactly N. Decompress gives back weights ⊙ mask exactly.
    /// </summary>
    public static NmSparseMatrix Compress(ReadOnlySpan<float> weights, ReadOnlySpan<byte> mask, int rows, int cols, NmPattern pattern)
    {
        pattern.CheckDefined(nameof(pattern));
        Guard.AtLeast(rows, 0, nameof(rows));
        pattern.CheckColumns(cols, nameof(cols));
        long elements = Guard.Elements(rows, cols);
        Guard.Span(weights.Length, elements, nameof(weights));
        Guard.Span(mask.Length, elements, nameof(mask));
        int kept = pattern.KeptPerRow(cols), words = pattern.MetaWordsPerRow(cols), bits = pattern.Bits;
        var values = GC.AllocateUninitializedArray<float>((int)Guard.Elements(rows, kept), pinned: true);
        var metadata = GC.AllocateArray<uint>((int)Guard.Elements(rows, words), pinned: true);
        for (int r = 0; r < rows; r++)
        {
            int j = 0;
            for (int g = 0; g < cols / pattern.M; g++)
            {
                int start = r * cols + g * pattern.M, count = 0;
                for (int i = 0; i < pattern.M; i++)
                {
                    if (mask[start + i] == 0)
                        continue;
                    if (++count > pattern.N)
                        break;
                    values[(long)r * kept + j] = weights[start + i];
                    Write(metadata.AsSpan(r * words, words), j, bits, (uint)i);
                    j++;
                }
                if (count != pattern.N)
                    throw new ArgumentException($"mask row {r}, group {g} (columns {g * pattern.M}..{g * pattern.M + pattern.M - 1}) keeps " +
                        $"{(count > pattern.N ? "more than " + pattern.N : count.ToString())}; a {pattern} mask keeps exactly {pattern.N} per group.", nameof(mask));
            }
        }
        return new NmSparseMatrix(rows, cols, pattern, values, metadata);
    }

    /// <summary>Writes the dense matrix [rows, cols]: kept values in place, zeros elsewhere.</summary>
    public void Decompress(Span<float> dense)
    {
        Guard.Span(dense.Length, Guard.Elements(Rows, Cols), nameof(dense));
        dense[..(int)Guard.Elements(Rows, Cols)].Clear();
        int kept = KeptPerRow, words = MetaWordsPerRow;
        for (int r = 0; r < Rows; r++)
        {
            var meta = Metadata.Slice(r * words, words);
            for (int j = 0; j < kept; j++)
                dense[r * Cols + Column(meta, j)] = _values[(long)r * kept + j];
        }
    }

    /// <summary>The column of kept value <paramref name="j"/> of a row whose metadata is <paramref name="rowMeta"/>.</summary>
    internal int Column(ReadOnlySpan<uint> rowMeta, int j) => Column(rowMeta, j, Pattern.N, Pattern.M, Pattern.Bits);

    /// <summary>The column of kept value <paramref name="j"/> in a row stream: its group's first column plus its field (j itself when dense).</summary>
    internal static int Column(ReadOnlySpan<uint> rowMeta, int j, int n, int m, int bits) =>
        bits == 0 ? j : j / n * m + (int)Read(rowMeta, j, bits);

    /// <summary>Index <paramref name="j"/> of a packed row stream of <paramref name="bits"/>-bit fields.</summary>
    internal static uint Read(ReadOnlySpan<uint> row, int j, int bits)
    {
        if (bits == 0)
            return (uint)0;
        int bit = j * bits, word = bit >> 5, shift = bit & 31;
        ulong field = row[word] >> shift;
        if (shift + bits > 32)
            field |= (ulong)row[word + 1] << (32 - shift);
        return (uint)field & ((1u << bits) - 1);
    }

    internal static void Write(Span<uint> row, int j, int bits, uint index)
    {
        if (bits == 0)
            return;
        int bit = j * bits, word = bit >> 5, shift = bit & 31;
        row[word] |= index << shift;
        if (shift + bits > 32)
            row[word + 1] |= index >> (32 - shift);
    }

    private static void CheckMetadata(ReadOnlySpan<uint> metadata, int rows, int cols, NmPattern pattern)
    {
        int kept = pattern.KeptPerRow(cols), words = pattern.MetaWordsPerRow(cols), bits = pattern.Bits;
        if (bits == 0)
            return;
        int usedBits = kept * bits % 32;
        for (int r = 0; r < rows; r++)
        {
            var row = metadata.Slice(r * words, words);
            for (int j = 0; j < kept; j += pattern.N)
            {
                int previous = -1;
                for (int t = 0; t < pattern.N; t++)
                {
                    int index = (int)Read(row, j + t, bits);
                    if (index >= pattern.M || index <= previous)
                        throw new ArgumentException($"metadata row {r}, group {j / pattern.N}: indices must be N = {pattern.N} distinct positions below M = {pattern.M} " +
                            $"in ascending order, but kept value {t} has index {index}{(previous >= 0 ? $" after {previous}" : "")}.", nameof(metadata));
                    previous = index;
                }
            }
            if (usedBits != 0 && row[words - 1] >> usedBits != 0)
                throw new ArgumentException($"metadata row {r} has bits set past its last index (bit {usedBits} and up of its last word must be zero).", nameof(metadata));
        }
    }
}
