using System;
using ILGPU;

namespace Kernels;

/// <summary>
/// Angular locality-sensitive hashing with Gray-coded buckets (HyperAttention's sortLSH): r Gaussian directions
/// P [d, r]; bit j of a row x is [x·P_j &gt; 0], the bits form the bin b = Σ_j bit_j·2^j, and the hash is the bin's
/// rank in the reflected Gray sequence, <see cref="GrayRank"/>(b). Sorting by hash therefore puts next to each other the
/// buckets whose bit patterns differ in one bit (hashes h and h + 1 have bins <see cref="GrayCode"/>(h) and
/// GrayCode(h + 1)).
/// </summary>
/// <remarks>
/// <para>The reference (insuhan/hyper-attn <c>angular_lsh.py</c>) returns <c>perm[bin]</c> with <c>perm</c> the Gray
/// sequence, i.e. GrayCode(bin): adjacent hashes then need not be adjacent buckets. The rank used here is the inverse
/// map, which gives the property the paper describes.</para>
/// <para>The dot products are accumulated in double from the float products (each exact in double), in a fixed order:
/// a fused multiply-add rounds such a sum exactly as a multiply then add does, so the signs, and with them the buckets,
/// the sort and every later step, are bit-identical on every backend. A row holding NaN hashes to bin 0.</para>
/// </remarks>
public static class AngularLsh
{
    /// <summary>The largest number of hash bits (buckets up to 2^16).</summary>
    public const int MaxBits = 16;

    /// <summary>The reflected Gray code of <paramref name="rank"/>: rank ^ (rank &gt;&gt; 1).</summary>
    public static int GrayCode(int rank) => rank ^ (rank >> 1);

    /// <summary>The rank of <paramref name="code"/> in the reflected Gray sequence (the inverse of <see cref="GrayCode"/>): the prefix XOR of its bits.</summary>
    public static int GrayRank(int code)
    {
        int rank = code;
        for (int shift = 1; shift < 32; shift <<= 1)
            rank ^= rank >> shift;
        return rank;
    }

    /// <summary>
    /// The hash of row <paramref name="row"/> of <paramref name="x"/> [·, dim] with projection P [dim, bits] (row-major), on
    /// a device; <see cref="HyperAttentionCpu.Hash"/> computes the same bits on the CPU.
    /// </summary>
    public static int Hash(ArrayView<float> x, long row, ArrayView<float> projection, int dim, int bits)
    {
        int bin = 0;
        long start = row * dim;
        for (int j = 0; j < bits; j++)
        {
            double dot = 0;
            for (int c = 0; c < dim; c++)
                dot += (double)x[start + c] * projection[c * bits + j];
            if (Positive(dot))
                bin |= 1 << j;
        }
        return GrayRank(bin);
    }

    // NaN (a NaN in the row) gives bit 0 everywhere: tested explicitly, since PoCL folds ordered comparisons with NaN.
    private static bool Positive(double dot) => !double.IsNaN(dot) && dot > 0;

    /// <summary>
    /// The stable counting sort of <paramref name="hashes"/> (values below 2^<paramref name="bits"/>): writes into
    /// <paramref name="order"/> the indices in sorted order, ties in index order. <paramref name="counts"/> is scratch of
    /// 2^bits + 1 entries. O(n + 2^bits).
    /// </summary>
    public static void StableSort(ReadOnlySpan<int> hashes, Span<int> order, int bits, Span<int> counts)
    {
        int buckets = 1 << bits;
        counts[..(buckets + 1)].Clear();
        foreach (int h in hashes)
            counts[h + 1]++;
        for (int b = 0; b < buckets; b++)
            counts[b + 1] += counts[b];
        for (int i = 0; i < hashes.Length; i++)
            order[counts[hashes[i]]++] = i;
    }
}
