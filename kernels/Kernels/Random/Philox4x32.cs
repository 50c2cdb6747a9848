namespace Kernels;

/// <summary>128 random (or counter) bits as four 32-bit words.</summary>
public struct RngBlock
{
    /// <summary>Word 0.</summary>
    public uint X;

    /// <summary>Word 1.</summary>
    public uint Y;

    /// <summary>Word 2.</summary>
    public uint Z;

    /// <summary>Word 3.</summary>
    public uint W;

    /// <summary>Creates the block.</summary>
    public RngBlock(uint x, uint y, uint z, uint w)
    {
        X = x;
        Y = y;
        Z = z;
        W = w;
    }

    /// <summary>Words 0 and 1 as one 64-bit value (word 0 high).</summary>
    public readonly ulong Low64 => ((ulong)X << 32) | Y;

    /// <summary>Words 2 and 3 as one 64-bit value (word 2 high).</summary>
    public readonly ulong High64 => ((ulong)Z << 32) | W;

    /// <inheritdoc/>
    public override readonly string ToString() => $"{{{X:x8}, {Y:x8}, {Z:x8}, {W:x8}}}";
}

/// <summary>
/// Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a
/// counter-based generator mapping a 128-bit counter and a 64-bit key to 128 random bits in ten rounds of two 32x32→64
/// multiplications, XORs and a Weyl key schedule. Plain <c>uint</c>/<c>ulong</c> arithmetic only, so the same code gives
/// the same bits in ILGPU kernels (CUDA, OpenCL, the CPU emulator) and in CPU code; it passes the Random123
/// known-answer vectors and BigCrush (per its authors), and is the generator of cuRAND, PyTorch and JAX's GPU paths.
/// </summary>
public static class Philox4x32
{
    private const uint M0 = 0xD2511F53;
    private const uint M1 = 0xCD9E8D57;
    private const uint W0 = 0x9E3779B9;
    private const uint W1 = 0xBB67AE85;

    /// <summary>The number of rounds (10, the Random123 default with a safety margin over the 7 that pass BigCrush).</summary>
    public const int Rounds = 10;

    /// <summary>Philox4x32-10 of <paramref name="counter"/> under key (<paramref name="key0"/>, <paramref name="key1"/>).</summary>
    public static RngBlock Generate(RngBlock counter, uint key0, uint key1)
    {
        var c = counter;
        uint k0 = key0, k1 = key1;
        for (int round = 0; round < Rounds; round++)
        {
            if (round > 0)
            {
                k0 += W0;
                k1 += W1;
            }
            c = Round(c, k0, k1);
        }
        return c;
    }

    private static RngBlock Round(RngBlock c, uint k0, uint k1)
    {
        ulong p0 = (ulong)M0 * c.X;
        ulong p1 = (ulong)M1 * c.Z;
        return new RngBlock(
            (uint)(p1 >> 32) ^ c.Y ^ k0,
            (uint)p1,
            (uint)(p0 >> 32) ^ c.W ^ k1,
            (uint)p0);
    }
}
