using System;
using System.Numerics;

namespace Kernels;

/// <summary>
/// An N:M structured-sparsity pattern: in every group of <see cref="M"/> consecutive elements along the reduction axis
/// (a weight row's columns), exactly <see cref="N"/> are kept. N = M is dense (no metadata).
/// </summary>
public readonly record struct NmPattern
{
    /// <summary>The largest group size supported (indices take at most 5 bits).</summary>
    public const int MaxM = 32;

    /// <summary>Creates the pattern, checking 1 ≤ N ≤ M ≤ <see cref="MaxM"/>.</summary>
    public NmPattern(int n, int m)
    {
        if (m < 1 || m > MaxM)
            throw new ArgumentOutOfRangeException(nameof(m), m, $"M (the group size) must be in [1, {MaxM}].");
        if (n < 1 || n > m)
            throw new ArgumentOutOfRangeException(nameof(n), n, $"N (kept per group) must be in [1, M = {m}]; N > M keeps more elements than a group holds.");
        N = n;
        M = m;
    }

    /// <summary>Kept elements per group.</summary>
    public int N { get; }

    /// <summary>Group size.</summary>
    public int M { get; }

    /// <summary>Whether every element is kept (N = M).</summary>
    public bool IsDense => N == M;

    /// <summary>Metadata bits per kept value: ⌈log2 M⌉ (0 when dense: no metadata).</summary>
    public int Bits => IsDense ? 0 : BitOperations.Log2((uint)M - 1) + 1;

    /// <summary>Kept values per row of <paramref name="cols"/> columns; throws unless M divides <paramref name="cols"/>.</summary>
    public int KeptPerRow(int cols)
    {
        CheckColumns(cols, nameof(cols));
        return cols / M * N;
    }

    /// <summary>32-bit metadata words per row: ⌈KeptPerRow · Bits / 32⌉ (each row starts on a word).</summary>
    public int MetaWordsPerRow(int cols) => (int)(((long)KeptPerRow(cols) * Bits + 31) / 32);

    /// <summary>Throws unless <paramref name="cols"/> is a positive multiple of M.</summary>
    public void CheckColumns(int cols, string name)
    {
        if (cols < 1 || cols % M != 0)
            throw new ArgumentException($"{name} = {cols} must be a positive multiple of M = {M} for the {this} pattern.", name);
    }

    /// <summary>Throws when the pattern is <c>default</c> (0:0), which no constructor produces.</summary>
    public void CheckDefined(string name)
    {
        if (M == 0)
            throw new ArgumentException($"{name} is default(NmPattern); create it with new NmPattern(n, m).", name);
    }

    /// <summary>"N:M".</summary>
    public override string ToString() => $"{N}:{M}";
}
