using System;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// A KV cache for attention sinks plus a rolling window (StreamingLLM): it keeps the first <see cref="SinkTokens"/>
/// tokens and the last <see cref="WindowTokens"/> tokens of each of <see cref="Batch"/> sequences, appended in lockstep,
/// in buffers laid out for decode attention: K, V [Batch, KvHeads, Capacity, HeadDim], Capacity = sinks + window. The
/// valid slots are always the prefix [0, <see cref="Length"/>), so a decode kernel with per-sequence lengths
/// (<see cref="Lengths"/>) attends exactly the kept tokens; its cost per step is flat in the context length.
/// </summary>
/// <remarks>
/// <para><b>Slots</b>: token at position p (0-based, in append order) goes to slot p while p &lt; S (a sink), else to
/// slot S + (p − S) mod W (a ring), overwriting the token at position p − W, which is evicted.</para>
/// <para><b>Positions and rotary embedding</b> (with <see cref="RopeOptions"/>): StreamingLLM caches keys before RoPE
/// and rotates them by their position inside the cache (sinks 0..S−1, then the window in order), the query taking the
/// last position. RoPE scores depend only on the distance between query and key positions, so this cache stores the
/// same scores more cheaply: window keys are rotated once, when appended, at their original position p; sink keys are
/// kept unrotated on the host and re-rotated at position j + <see cref="Evicted"/> whenever the window slides (S rows
/// per head per step); and the caller rotates the decode query at its own original position
/// (<see cref="QueryPosition"/>, = <see cref="Tokens"/> − 1 after appending the token). Every query–key distance then
/// equals StreamingLLM's in-cache distance. Without RopeOptions the keys are stored exactly as given (post-RoPE keys,
/// or models without rotary embedding).</para>
/// <para>Appends copy rows from the host into the buffers (one copy per row on ILGPU backends); a device-side append is
/// not provided.</para>
/// </remarks>
public sealed class SinkWindowCache : IDisposable
{
    private readonly KernelRuntime _runtime;
    private readonly float[] _sinkKeys; // [Batch, KvHeads, S, d], before rotation
    private readonly float[] _row;
    private readonly int[] _lengths;
    private long _rotatedFor = -1;
    private int _rotatedSinks;

    /// <summary>Creates an empty cache and its buffers on <paramref name="runtime"/>.</summary>
    /// <param name="runtime">The runtime that owns the buffers.</param>
    /// <param name="batch">Sequences, appended in lockstep.</param>
    /// <param name="kvHeads">Key/value heads per sequence.</param>
    /// <param name="headDim">Elements per row.</param>
    /// <param name="sinkTokens">S: the first tokens kept for ever (StreamingLLM uses 4); may be 0.</param>
    /// <param name="windowTokens">W: the most recent tokens kept (at least 1).</param>
    /// <param name="rope">Rotary embedding applied by the cache, or null to store keys as given.</param>
    public SinkWindowCache(KernelRuntime runtime, int batch, int kvHeads, int headDim, int sinkTokens, int windowTokens, RopeOptions? rope = null)
    {
        Guard.Runtime(runtime, nameof(runtime));
        Guard.AtLeast(batch, 1, nameof(batch));
        Guard.AtLeast(kvHeads, 1, nameof(kvHeads));
        Guard.AtLeast(headDim, 1, nameof(headDim));
        Guard.AtLeast(sinkTokens, 0, nameof(sinkTokens));
        Guard.AtLeast(windowTokens, 1, nameof(windowTokens));
        if ((long)sinkTokens + windowTokens > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(windowTokens), "sinkTokens + windowTokens must be below 2^31.");
        if (rope is not null && (headDim % 2 != 0 || !(rope.Theta > 1) || double.IsInfinity(rope.Theta) || !Enum.IsDefined(rope.Layout)))
            throw new ArgumentException("rotary embedding needs an even head dimension, a finite theta above 1 and a defined layout.", nameof(rope));
        _runtime = runtime;
        Batch = batch;
        KvHeads = kvHeads;
        HeadDim = headDim;
        SinkTokens = sinkTokens;
        WindowTokens = windowTokens;
        RopeOptions = rope;
        long elements = checked((long)batch * kvHeads * Capacity * headDim);
        Keys = runtime.Allocate<float>(elements);
        Values = runtime.Allocate<float>(elements);
        Lengths = runtime.Allocate<int>(batch);
        _sinkKeys = new float[checked(batch * kvHeads * sinkTokens * headDim)];
        _row = new float[headDim];
        _lengths = new int[batch];
        Lengths.CopyFrom(_lengths);
    }

    /// <summary>Sequences.</summary>
    public int Batch { get; }

    /// <summary>Key/value heads per sequence.</summary>
    public int KvHeads { get; }

    /// <summary>Elements per row.</summary>
    public int HeadDim { get; }

    /// <summary>S, the sink tokens kept.</summary>
    public int SinkTokens { get; }

    /// <summary>W, the window tokens kept.</summary>
    public int WindowTokens { get; }

    /// <summary>Slots per (sequence, head): S + W.</summary>
    public int Capacity => SinkTokens + WindowTokens;

    /// <summary>The rotary embedding the cache applies, or null.</summary>
    public RopeOptions? RopeOptions { get; }

    /// <summary>Keys [Batch, KvHeads, Capacity, HeadDim] (rotated as described on the class when RoPE is on).</summary>
    public KernelBuffer<float> Keys { get; }

    /// <summary>Values [Batch, KvHeads, Capacity, HeadDim].</summary>
    public KernelBuffer<float> Values { get; }

    /// <summary>The valid slots of each sequence [Batch] (all <see cref="Length"/>), for a decode kernel's lengths.</summary>
    public KernelBuffer<int> Lengths { get; }

    /// <summary>Tokens appended so far (the next token's position).</summary>
    public long Tokens { get; private set; }

    /// <summary>Valid slots: min(Tokens, Capacity), a prefix of the slots.</summary>
    public int Length => (int)Math.Min(Tokens, Capacity);

    /// <summary>Tokens evicted so far: max(0, Tokens − S − W).</summary>
    public long Evicted => Math.Max(0, Tokens - Capacity);

    /// <summary>The position at which to rotate the latest token's query: Tokens − 1.</summary>
    public long QueryPosition => Tokens - 1;

    /// <summary>The slot of the token at <paramref name="position"/>, or −1 when it was evicted or not appended yet.</summary>
    public int SlotOf(long position)
    {
        if (position < 0 || position >= Tokens)
            return -1;
        if (position < SinkTokens)
            return (int)position;
        if (position < Tokens - WindowTokens)
            return -1;
        return SinkTokens + (int)((position - SinkTokens) % WindowTokens);
    }

    /// <summary>The position of the token in <paramref name="slot"/>, or −1 for a slot not filled yet.</summary>
    public long PositionOf(int slot)
    {
        if (slot < 0 || slot >= Length)
            return -1;
        if (slot < SinkTokens)
            return slot;
        // The newest window token is Tokens − 1 in slot S + (Tokens − 1 − S) mod W; slots before it hold older ones.
        long newest = Tokens - 1;
        int newestSlot = SinkTokens + (int)((newest - SinkTokens) % WindowTokens);
        return newest - ((newestSlot - slot + WindowTokens) % WindowTokens);
    }

    /// <summary>
    /// Appends <paramref name="tokens"/> tokens to every sequence: keys and values [Batch, KvHeads, tokens, HeadDim]
    /// (keys before rotary embedding when the cache applies it). Tokens past the window evict the oldest window tokens.
    /// </summary>
    public void Append(ReadOnlySpan<float> keys, ReadOnlySpan<float> values, int tokens = 1)
    {
        Guard.Runtime(_runtime, "runtime");
        ObjectDisposedException.ThrowIf(Keys.IsDisposed, this);
        Guard.AtLeast(tokens, 0, nameof(tokens));
        long elements = checked((long)Batch * KvHeads * tokens * HeadDim);
        Guard.Span(keys.Length, elements, nameof(keys));
        Guard.Span(values.Length, elements, nameof(values));
        int d = HeadDim;
        for (int t = 0; t < tokens; t++)
        {
            long position = Tokens;
            int slot = position < SinkTokens ? (int)position : SinkTokens + (int)((position - SinkTokens) % WindowTokens);
            for (int b = 0; b < Batch; b++)
            {
                for (int h = 0; h < KvHeads; h++)
                {
                    int head = b * KvHeads + h;
                    var key = keys.Slice((int)(((long)head * tokens + t) * d), d);
                    long offset = ((long)head * Capacity + slot) * d;
                    Values.CopyFrom(values.Slice((int)(((long)head * tokens + t) * d), d), offset);
                    if (position < SinkTokens)
                        key.CopyTo(_sinkKeys.AsSpan((head * SinkTokens + slot) * d, d)); // rotated below
                    else
                        Keys.CopyFrom(Rotated(key, position), offset);
                }
            }
            Tokens++;
        }
        RotateSinks();
        if (_lengths[0] != Length)
        {
            Array.Fill(_lengths, Length);
            Lengths.CopyFrom(_lengths);
        }
    }

    /// <summary>Empties the cache (positions restart at 0).</summary>
    public void Reset()
    {
        Tokens = 0;
        _rotatedFor = -1;
        _rotatedSinks = 0;
        Array.Fill(_lengths, 0);
        Lengths.CopyFrom(_lengths);
    }

    /// <summary>Releases the buffers.</summary>
    public void Dispose()
    {
        Keys.Dispose();
        Values.Dispose();
        Lengths.Dispose();
    }

    // Sink j is stored rotated at j + Evicted: re-written when that changes (every step once the window is full) or
    // when sinks were appended.
    private void RotateSinks()
    {
        long evicted = Evicted;
        int sinks = (int)Math.Min(Tokens, SinkTokens);
        if (sinks == 0 || (evicted == _rotatedFor && sinks == _rotatedSinks))
            return;
        for (int head = 0; head < Batch * KvHeads; head++)
        {
            for (int j = 0; j < sinks; j++)
            {
                var key = _sinkKeys.AsSpan((head * SinkTokens + j) * HeadDim, HeadDim);
                Keys.CopyFrom(Rotated(key, j + evicted), ((long)head * Capacity + j) * HeadDim);
            }
        }
        _rotatedFor = evicted;
        _rotatedSinks = sinks;
    }

    private ReadOnlySpan<float> Rotated(ReadOnlySpan<float> key, long position)
    {
        if (RopeOptions is not { } rope)
            return key;
        key.CopyTo(_row);
        Rope.Apply(_row, position, rope.Theta, rope.Layout);
        return _row;
    }
}

/// <summary>The rotary embedding a <see cref="SinkWindowCache"/> applies to its keys.</summary>
/// <param name="Theta">The frequency base θ (10000 for Llama 2, 500000 for Llama 3).</param>
/// <param name="Layout">Which elements are paired.</param>
public sealed record RopeOptions(double Theta = 10000, RopeLayout Layout = RopeLayout.Half);
