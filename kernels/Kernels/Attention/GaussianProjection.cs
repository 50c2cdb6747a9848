using System;

namespace Kernels;

/// <summary>
/// Standard normal matrices drawn from the library's counter-based RNG, for the random projections of the attention
/// approximations (the FAVOR+ features of <see cref="LinearAttention"/>, the angular LSH of <see cref="HyperAttention"/>).
/// Drawn on the host, in double, then rounded to float: the same key gives the same matrix whatever the backend that
/// later uses it.
/// </summary>
public static class GaussianProjection
{
    /// <summary>
    /// <paramref name="count"/> independent N(0, 1) values: entries 2p and 2p + 1 come from the Box–Muller transform of
    /// the two 52-bit open uniforms of the random block at position p of <paramref name="key"/> (offset 0).
    /// </summary>
    public static float[] Draw(RngKey key, int count)
    {
        if (count < 0)
            throw new ArgumentOutOfRangeException(nameof(count), count, "count must not be negative.");
        var values = new float[count];
        for (int p = 0; 2 * p < count; p++)
        {
            var block = Rng.Block(key, (uint)p, 0);
            // u1 ∈ (0, 1) open, so the logarithm is finite; the radius is at most √(2·53·ln 2) ≈ 8.6.
            double radius = Math.Sqrt(-2.0 * Math.Log(Variates.Uniform(block.Low64)));
            double angle = 2.0 * Math.PI * Variates.Uniform(block.High64);
            values[2 * p] = (float)(radius * Math.Cos(angle));
            if (2 * p + 1 < count)
                values[2 * p + 1] = (float)(radius * Math.Sin(angle));
        }
        return values;
    }
}
