using System;
using System.Linq;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Sparse;

/// <summary>Masks, compression and the PyTorch layout (host code, no backend).</summary>
public sealed class NmFormatTests
{
    private static readonly object[] Patterns =
    [
        new object[] { 1, 2 }, new object[] { 2, 4 }, new object[] { 1, 4 }, new object[] { 2, 8 }, new object[] { 4, 8 },
        new object[] { 3, 8 }, new object[] { 3, 5 }, new object[] { 5, 32 }, new object[] { 4, 4 },
    ];

    [TestCaseSource(nameof(Patterns))]
    public void MaskKeepsExactlyNPerGroupAndEqualsTheSortReferenceWithTies(int n, int m)
    {
        int rows = 7, cols = m * 13;
        foreach (var w in new[] { TestData.Logits(rows * cols, seed: n * 100 + m), SparseReference.TiedWeights(rows * cols, seed: m) })
        {
            var mask = new byte[w.Length];
            NmMask.Select(w, rows, cols, new NmPattern(n, m), mask);
            Assert.That(mask, Is.EqualTo(SparseReference.Mask(w, rows, cols, n, m)));
            for (int g = 0; g < rows * cols / m; g++)
                Assert.That(mask.Skip(g * m).Take(m).Count(b => b == 1), Is.EqualTo(n), $"group {g}");
        }
    }

    [Test]
    public void TiesGoToTheLowestIndexAndNaNIsKept()
    {
        var w = new[] { 1f, -1f, 1f, 0.5f, /* */ 0f, 0f, 0f, 0f, /* */ 2f, float.NaN, -3f, 3f };
        var mask = new byte[w.Length];
        NmMask.Select(w, 1, 12, new NmPattern(2, 4), mask);
        Assert.That(mask, Is.EqualTo(new byte[] { 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0 }));
    }

    [TestCaseSource(nameof(Patterns))]
    public void CompressThenDecompressIsTheMaskedMatrix(int n, int m)
    {
        var pattern = new NmPattern(n, m);
        int rows = 5, cols = m * 11;
        var w = SparseReference.TiedWeights(rows * cols, seed: 7 * m + n);
        var sparse = NmSparseMatrix.Compress(w, rows, cols, pattern);
        Assert.That(sparse.Values.Length, Is.EqualTo(rows * cols / m * n));
        Assert.That(sparse.Metadata.Length, Is.EqualTo(rows * ((cols / m * n * pattern.Bits + 31) / 32)));
        var mask = SparseReference.Mask(w, rows, cols, n, m);
        var dense = new float[rows * cols];
        sparse.Decompress(dense);
        Assert.That(dense, Is.EqualTo(w.Select((v, i) => mask[i] == 1 ? v : 0f).ToArray()));

        // Rebuilding from the raw arrays (the checked constructor) gives the same matrix.
        var again = new NmSparseMatrix(rows, cols, pattern, sparse.Values, sparse.Metadata);
        Assert.That(again.Values.ToArray(), Is.EqualTo(sparse.Values.ToArray()));
        Assert.That(again.Metadata.ToArray(), Is.EqualTo(sparse.Metadata.ToArray()));
    }

    [Test]
    public void TwoFourMetadataIsTwoBitsPerValueLowestGroupFirst()
    {
        // Row: groups keep (0,1), (1,3), (2,3), (0,2) → fields 0,1 | 1,3 | 2,3 | 0,2 at 2 bits each.
        var w = new[] { 5f, 4f, 0f, 0f, 0f, 5f, 0f, 4f, 0f, 0f, 5f, 4f, 5f, 0f, 4f, 0f };
        var sparse = NmSparseMatrix.Compress(w, 1, 16, new NmPattern(2, 4));
        uint expected = 0;
        int[] fields = [0, 1, 1, 3, 2, 3, 0, 2];
        for (int j = 0; j < fields.Length; j++)
            expected |= (uint)fields[j] << (2 * j);
        Assert.That(sparse.Metadata.ToArray(), Is.EqualTo(new[] { expected }));
        Assert.That(sparse.Values.ToArray(), Is.EqualTo(new[] { 5f, 4f, 5f, 4f, 5f, 4f, 5f, 4f }));
    }

    [Test]
    public void PyTorchLayoutRoundTripsAndItsReorderingIsAPermutation()
    {
        int rows = 64, cols = 96;
        var sparse = NmSparseMatrix.Compress(TestData.Logits(rows * cols, seed: 3), rows, cols, new NmPattern(2, 4));
        var values = new float[rows * cols / 2];
        var meta = new short[rows * cols / 16];
        SemiStructured24.ToPyTorch(sparse, values, meta);
        var back = SemiStructured24.FromPyTorch(values, meta, rows, cols);
        Assert.That(back.Values.ToArray(), Is.EqualTo(sparse.Values.ToArray()));
        Assert.That(back.Metadata.ToArray(), Is.EqualTo(sparse.Metadata.ToArray()));

        var offsets = Enumerable.Range(0, rows).SelectMany(r => Enumerable.Range(0, cols / 16).Select(c => SemiStructured24.ReorderedOffset(r, c, rows))).ToArray();
        Assert.That(offsets.OrderBy(o => o), Is.EqualTo(Enumerable.Range(0, offsets.Length).Select(i => (long)i)));
        // Worked by hand from PyTorch's formula: row 1 goes to row 4 (rows interwoven by 4 within 8), offset 4·2;
        // (0, 1) is the top-right of a 2x2 block and swaps to (1, 0): offset 1·2 + 0.
        Assert.That(SemiStructured24.ReorderedOffset(0, 0, rows), Is.EqualTo(0));
        Assert.That(SemiStructured24.ReorderedOffset(1, 0, rows), Is.EqualTo(8));
        Assert.That(SemiStructured24.ReorderedOffset(0, 1, rows), Is.EqualTo(2));
    }

    /// <summary>
    /// PyTorch's <c>sparse_semi_structured_from_dense_cutlass</c> (torch/sparse/_semi_structured_conversions.py) for
    /// fp16/bf16, transliterated: the Espresso-minimised bit logic from the nonzero flags to the two indices of each
    /// group, nibbles packed four to an int16, then scattered to the reordered positions.
    /// </summary>
    private static (float[] Values, short[] Meta) PyTorchFromDense(float[] dense, int m, int k)
    {
        int metaCols = k / 16;
        var values = new float[m * k / 2];
        var meta = new short[m * metaCols];
        for (int r = 0; r < m; r++)
        {
            for (int g = 0; g < k / 4; g++)
            {
                bool m0 = dense[r * k + 4 * g] != 0, m1 = dense[r * k + 4 * g + 1] != 0, m3 = dense[r * k + 4 * g + 3] != 0;
                bool expr0 = m0 & m1, expr1 = !m0 & m1, expr2 = !m0 & !m1;
                int idx0 = (expr1 ? 1 : 0) | (expr2 ? 2 : 0);
                int idx1 = (expr0 | expr2 | m3 ? 1 : 0) | (expr1 | !m1 ? 2 : 0);
                values[r * k / 2 + 2 * g] = dense[r * k + 4 * g + idx0];
                values[r * k / 2 + 2 * g + 1] = dense[r * k + 4 * g + idx1];
                int c = g / 4;
                int element = (ushort)meta[r * metaCols + c] | ((idx0 | idx1 << 2) << (4 * (g % 4)));
                meta[r * metaCols + c] = (short)element;
            }
        }
        var reordered = new short[meta.Length];
        for (int r = 0; r < m; r++)
        {
            for (int c = 0; c < metaCols; c++)
            {
                int dstRow = r / 32 * 32 + r % 8 * 4 + r % 32 / 8, dstCol = c;
                int topRight = dstRow % 2 == 0 && dstCol % 2 == 1 ? 1 : 0, bottomLeft = dstRow % 2 == 1 && dstCol % 2 == 0 ? 1 : 0;
                dstRow += topRight - bottomLeft;
                dstCol -= topRight - bottomLeft;
                reordered[dstCol / 2 * m * 2 + dstRow * 2 + dstCol % 2] = meta[r * metaCols + c];
            }
        }
        return (values, reordered);
    }

    [Test]
    public void ToPyTorchEqualsPyTorchsOwnConversionOfTheDenseMatrix()
    {
        int rows = 64, cols = 64;
        var sparse = NmSparseMatrix.Compress(TestData.Logits(rows * cols, seed: 12), rows, cols, new NmPattern(2, 4));
        var dense = new float[rows * cols];
        sparse.Decompress(dense);
        var (expectedValues, expectedMeta) = PyTorchFromDense(dense, rows, cols);
        var values = new float[rows * cols / 2];
        var meta = new short[rows * cols / 16];
        SemiStructured24.ToPyTorch(sparse, values, meta);
        Assert.That(values, Is.EqualTo(expectedValues));
        Assert.That(meta, Is.EqualTo(expectedMeta));
        var back = new float[rows * cols];
        SemiStructured24.FromPyTorch(expectedValues, expectedMeta, rows, cols).Decompress(back);
        Assert.That(back, Is.EqualTo(dense));
    }

    [Test]
    public void PyTorchMetadataNibblesAreOurStream()
    {
        int rows = 32, cols = 32;
        var sparse = NmSparseMatrix.Compress(TestData.Logits(rows * cols, seed: 5), rows, cols, new NmPattern(2, 4));
        var meta = new short[rows * 2];
        SemiStructured24.ToPyTorch(sparse, new float[rows * 16], meta);
        for (int r = 0; r < rows; r++)
        {
            ushort element = (ushort)meta[SemiStructured24.ReorderedOffset(r, 0, rows)];
            var rowMeta = sparse.Metadata.Slice(r * sparse.MetaWordsPerRow, sparse.MetaWordsPerRow);
            for (int g = 0; g < 4; g++)
            {
                // PyTorch: nibble g = idx0 | idx1 << 2 for group g, idx0 the lower kept column within the group.
                int nibble = (element >> (4 * g)) & 0xF;
                Assert.That(nibble & 3, Is.EqualTo(sparse.Column(rowMeta, 2 * g) - 4 * g), $"row {r} group {g} idx0");
                Assert.That(nibble >> 2, Is.EqualTo(sparse.Column(rowMeta, 2 * g + 1) - 4 * g), $"row {r} group {g} idx1");
            }
        }
    }

    private static uint Fields(params int[] fields) =>
        fields.Select((f, j) => (uint)f << (2 * j)).Aggregate(0u, (a, b) => a | b);

    [Test]
    public void BadShapesAndMetadataThrowNamingTheArgument()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new NmPattern(5, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new NmPattern(0, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new NmPattern(2, 64));
        var w = new float[2 * 10];
        Assert.That(Assert.Throws<ArgumentException>(() => NmSparseMatrix.Compress(w, 2, 10, new NmPattern(2, 4)))!.ParamName, Is.EqualTo("cols"));
        Assert.That(Assert.Throws<ArgumentException>(() => NmMask.Select(w, 2, 10, new NmPattern(2, 4), new byte[20]))!.ParamName, Is.EqualTo("cols"));
        Assert.That(Assert.Throws<ArgumentException>(() => NmMask.Select(w, 2, 8, default, new byte[16]))!.ParamName, Is.EqualTo("pattern"));

        var good = NmSparseMatrix.Compress(TestData.Logits(2 * 8, seed: 1), 2, 8, new NmPattern(2, 4));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new NmSparseMatrix(2, 8, new NmPattern(2, 4), good.Values[..7], good.Metadata))!.ParamName, Is.EqualTo("values"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new NmSparseMatrix(2, 8, new NmPattern(2, 4), good.Values, new uint[3]))!.ParamName, Is.EqualTo("metadata"));
        // Indices out of order, repeated, or bits past the row's last field.
        foreach (uint word in new[] { Fields(1, 0, 0, 1), Fields(1, 1, 0, 1), Fields(0, 1, 0, 1) | (1u << 9) })
        {
            var ex = Assert.Throws<ArgumentException>(() => _ = new NmSparseMatrix(2, 8, new NmPattern(2, 4), good.Values, [word, good.Metadata[1]]));
            Assert.That(ex!.ParamName, Is.EqualTo("metadata"));
        }
        var badMask = new byte[16];
        badMask[0] = badMask[1] = badMask[2] = 1;
        Assert.That(Assert.Throws<ArgumentException>(() => NmSparseMatrix.Compress(new float[16], badMask, 2, 8, new NmPattern(2, 4)))!.ParamName, Is.EqualTo("mask"));
        Assert.That(Assert.Throws<ArgumentException>(() => SemiStructured24.ToPyTorch(NmSparseMatrix.Compress(new float[32 * 32], 32, 32, new NmPattern(1, 2)), new float[512], new short[64]))!.ParamName, Is.EqualTo("matrix"));
        Assert.That(Assert.Throws<ArgumentException>(() => SemiStructured24.FromPyTorch(new float[8 * 16], new short[16], 8, 32))!.ParamName, Is.EqualTo("rows"));
    }
}
