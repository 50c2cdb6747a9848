using System;

namespace Kernels;

/// <summary>
/// The shape products of the speculative-decoding launchers (B·(L+1)·V and the like), checked before any launch: a
/// product that does not fit its count gives an <see cref="ArgumentOutOfRangeException"/> naming the argument, not a
/// bare <see cref="OverflowException"/>. Products that fit but exceed the buffers then fail the buffer checks.
/// </summary>
internal static class SpeculativeShape
{
    /// <summary><paramref name="batch"/> × <paramref name="perRow"/> × <paramref name="cols"/> as a 64-bit element count.</summary>
    public static long Elements(int batch, long perRow, long cols, string name)
    {
        var product = (Int128)batch * perRow * cols;
        if (product > long.MaxValue)
            throw new ArgumentOutOfRangeException(name, $"batch × {name} × cols ({batch} × {perRow} × {cols} elements) does not fit a 64-bit element count.");
        return (long)product;
    }

    /// <summary>
    /// Checks that <paramref name="value"/> + 1 (the per-row count of the target rows or of the uniforms) fits an int, as
    /// the kernels index with it.
    /// </summary>
    public static void PlusOneFits(int value, string name)
    {
        if (value == int.MaxValue)
            throw new ArgumentOutOfRangeException(name, value, $"{name} + 1 must fit an int.");
    }

    /// <summary>Checks that <paramref name="batch"/> × <paramref name="perRow"/> fits an int (a launch's group count).</summary>
    public static void RowsFit(int batch, int perRow, string name)
    {
        if ((long)batch * perRow > int.MaxValue)
            throw new ArgumentOutOfRangeException(name, $"batch × {name} ({batch} × {perRow}) must fit an int: one group per position.");
    }
}
