using System;
using System.Runtime.InteropServices;

namespace Kernels;

/// <summary>
/// The key of a counter-based random stream: a 64-bit <see cref="Seed"/> (the Philox key) and a 32-bit
/// <see cref="Stream"/> (one word of the Philox counter). A caller passes one key per launch, or one per row from a
/// buffer (per-request seeds); together with an offset that the caller advances between launches it fixes every
/// random number a kernel draws, on every backend.
/// </summary>
/// <remarks>
/// <para><b>Counter layout.</b> The random block for position <c>p</c> of a key at launch offset <c>o</c> is
/// <c>Philox4x32-10(counter = (p, Stream, lo32(o), hi32(o)), key = (lo32(Seed), hi32(Seed)))</c>; see
/// <see cref="Rng.Block(RngKey, uint, ulong)"/>. What "position" means is fixed by each kernel (the column of an
/// element for per-element noise, the sample index for one uniform per draw), so different kernels sharing a key and
/// an offset see correlated numbers: advance the offset between launches (every launcher returns the next offset).</para>
/// <para><b>Per-request use.</b> Give each request its own key (a seed, and a stream such as a request id) and pass the
/// keys as a per-row buffer: a request then draws the same numbers whatever its row in the batch. A single key shared
/// by a launch gives row <c>r</c> the stream <c>Stream + r</c> (wrapping), so that rows are independent.</para>
/// <para>The layout is 16 bytes (<see cref="Seed"/>, <see cref="Stream"/>, 4 reserved bytes kept zero), identical in C#,
/// OpenCL C and PTX, so a <c>KernelBuffer&lt;RngKey&gt;</c> can be filled on the host.</para>
/// </remarks>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public readonly struct RngKey : IEquatable<RngKey>
{
    private readonly ulong _seed;
    private readonly uint _stream;
    private readonly uint _reserved;

    /// <summary>Creates a key.</summary>
    /// <param name="seed">The 64-bit seed (the Philox key).</param>
    /// <param name="stream">The stream within the seed (a request id, a layer, a decode step...).</param>
    public RngKey(ulong seed, uint stream = 0)
    {
        _seed = seed;
        _stream = stream;
        _reserved = 0;
    }

    /// <summary>The 64-bit seed.</summary>
    public ulong Seed => _seed;

    /// <summary>The stream within the seed.</summary>
    public uint Stream => _stream;

    /// <summary>This key with stream <c>Stream + delta</c> (wrapping).</summary>
    public RngKey WithStreamOffset(uint delta) => new(_seed, unchecked(_stream + delta));

    /// <inheritdoc/>
    public bool Equals(RngKey other) => _seed == other._seed && _stream == other._stream;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is RngKey other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_seed, _stream);

    /// <summary>Equality.</summary>
    public static bool operator ==(RngKey left, RngKey right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(RngKey left, RngKey right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => $"RngKey(seed 0x{_seed:x16}, stream {_stream})";
}
