using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// One declared decode-attention kernel: one query per (sequence, head) against a KV cache, flash-decoding style (the
/// keys split into chunks whose partial states are merged), with grouped-query heads, per-sequence lengths and a
/// learned sink logit per head as declared. Both entry points and the validation live here once; declarations hold one
/// in a static property.
/// </summary>
/// <remarks>
/// <para><b>Layout</b> (see <see cref="DecodeShape"/>): Q, O [Batch, Heads, d]; K, V [Batch, KvHeads, Capacity, d];
/// lengths [Batch] (int); sinks [Heads]; LSE [Batch, Heads] (natural log). Sequence b attends its first lengths[b] keys
/// (all Capacity without lengths); a decode query at position p attends keys 0..p, so a causal mask is the length p + 1.</para>
/// <para><b>Sink</b>: the learned logit z_h of head h joins the softmax denominator only: O = Σ_j e^(s_j)·v_j / (e^(z_h) +
/// Σ_j e^(s_j)), LSE = ln(e^(z_h) + Σ_j e^(s_j)). With no key, O = 0 and LSE = z_h.</para>
/// <para><b>Outcomes</b>: checked before any launch (exceptions naming the argument): shapes, head counts (KvHeads must
/// divide Heads, and equal Heads / declared GQA ratio), the declared head dimension, buffer sizes and runtimes; on host
/// spans also every length (0 to Capacity). On buffers, a length outside [0, Capacity] is not read on the host: the
/// kernels read no key for that sequence and write NaN to its rows. A sequence with length 0 and no sink gets O = 0,
/// LSE = −inf. NaN or +inf scores (NaN in q or in an attended key row) make the row NaN; NaN in an attended value row
/// makes NaN in the components it touches; a NaN or +inf sink makes its rows NaN. Keys past the length are never read.</para>
/// <para>The ILGPU path allocates its partial states (Batch·Heads·⌈Capacity/ChunkKeys⌉ rows) on each launch.</para>
/// </remarks>
public sealed unsafe class DecodeAttentionKernel
{
    /// <summary>The signature of a CPU kernel.</summary>
    public delegate void CpuEntry(nint q, nint k, nint v, nint lengths, nint sinks, nint o, nint lse, DecodeAttentionArgs args);

    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, DecodeAttentionArgs> _split;
    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, DecodeAttentionArgs> _merge;
    private readonly CpuEntry _cpu;

    /// <summary>Describes a declared decode-attention kernel.</summary>
    /// <param name="headDim">The head dimension (64 or 128).</param>
    /// <param name="groupSize">Query heads per key/value head, or 0 for any.</param>
    /// <param name="chunkKeys">Keys per chunk (a power of two, 16 to 4096).</param>
    /// <param name="lengths">Whether launches take per-sequence lengths.</param>
    /// <param name="sinks">Whether launches take a sink logit per head.</param>
    /// <param name="split">The ILGPU partial-state kernel.</param>
    /// <param name="merge">The ILGPU merge kernel.</param>
    /// <param name="cpu">The CPU kernel.</param>
    public DecodeAttentionKernel(int headDim, int groupSize, int chunkKeys, bool lengths, bool sinks,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, DecodeAttentionArgs> split,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, DecodeAttentionArgs> merge,
        CpuEntry cpu)
    {
        if (headDim is not (64 or 128))
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "decode attention supports head dimensions 64 and 128.");
        ArgumentOutOfRangeException.ThrowIfNegative(groupSize);
        if (chunkKeys < 16 || chunkKeys > 4096 || (chunkKeys & (chunkKeys - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(chunkKeys), chunkKeys, "chunkKeys must be a power of two from 16 to 4096.");
        HeadDim = headDim;
        GroupSize = groupSize;
        ChunkKeys = chunkKeys;
        HasLengths = lengths;
        HasSinks = sinks;
        _split = split;
        _merge = merge;
        _cpu = cpu;
    }

    /// <summary>The declared head dimension.</summary>
    public int HeadDim { get; }

    /// <summary>The declared GQA ratio (query heads per key/value head), 0 for any.</summary>
    public int GroupSize { get; }

    /// <summary>Keys per chunk (the CPU's scoring tile and the ILGPU split).</summary>
    public int ChunkKeys { get; }

    /// <summary>Whether launches take per-sequence lengths.</summary>
    public bool HasLengths { get; }

    /// <summary>Whether launches take a sink logit per head.</summary>
    public bool HasSinks { get; }

    /// <summary>
    /// Computes (O, LSE) on buffers of <paramref name="runtime"/> and waits. Every argument is checked first; on an
    /// exception nothing has been launched.
    /// </summary>
    public void Launch(KernelRuntime runtime, KernelBuffer<float> q, KernelBuffer<float> k, KernelBuffer<float> v,
        KernelBuffer<float> output, KernelBuffer<float> lse, DecodeShape shape, KernelBuffer<int>? lengths = null,
        KernelBuffer<float>? sinks = null, float? scale = null)
    {
        Guard.Runtime(runtime, nameof(runtime));
        CheckOptional(lengths is not null, sinks is not null);
        var args = Arguments(shape, scale, runtime.IsIlgpu);
        AttentionGuard.Buffers(runtime, q, k, v, output, lse, shape.QueryElements, shape.CacheElements, shape.Rows);
        if (lengths is not null)
            Guard.Buffer(runtime, lengths, shape.Batch, nameof(lengths));
        if (sinks is not null)
            Guard.Buffer(runtime, sinks, shape.Heads, nameof(sinks));
        if (shape.Rows == 0)
            return;
        if (runtime.IsIlgpu)
            LaunchIlgpu(runtime, q, k, v, output, lse, lengths, sinks, args);
        else
        {
            runtime.ThrowIfDisposed();
            _cpu((nint)q.Host, (nint)k.Host, (nint)v.Host, HostAddress.Of(lengths), HostAddress.Of(sinks), (nint)output.Host, (nint)lse.Host, args);
        }
    }

    // Kept out of Launch: its closures would otherwise be allocated on every call, cpu launches included.
    private void LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> q, KernelBuffer<float> k, KernelBuffer<float> v,
        KernelBuffer<float> output, KernelBuffer<float> lse, KernelBuffer<int>? lengths, KernelBuffer<float>? sinks, DecodeAttentionArgs args)
    {
        var split = runtime.GetKernel(_split.Method, accelerator => global::ILGPU.Runtime.KernelLoaders.LoadStreamKernel(accelerator, _split));
        var merge = runtime.GetKernel(_merge.Method, accelerator => global::ILGPU.Runtime.KernelLoaders.LoadStreamKernel(accelerator, _merge));
        int rows = args.Batch * args.Heads;
        int items = checked(rows * args.Splits);
        using var partialO = runtime.Allocate<float>((long)items * args.HeadDim);
        using var partialLse = runtime.Allocate<float>(items);
        // Absent optional buffers are replaced by a buffer of the right type that the kernels never read.
        using var noLengths = lengths is null ? runtime.Allocate<int>(1) : null;
        var lengthView = (lengths ?? noLengths!).View;
        var sinkView = (sinks ?? partialLse).View;
        runtime.LaunchAndWait(() =>
        {
            split(new KernelConfig(items, runtime.GroupSize), q.View, k.View, v.View, lengthView, partialO.View, partialLse.View, args);
            merge(new KernelConfig(rows, runtime.GroupSize), partialO.View, partialLse.View, sinkView, output.View, lse.View, args);
        });
    }

    /// <summary>
    /// Computes (O, LSE) on host memory: in place on the <c>cpu</c> backend, through temporary device buffers elsewhere.
    /// Same checks and outcomes as <see cref="Launch"/>, and every length is checked (0 to Capacity) before the launch.
    /// </summary>
    public void Run(KernelRuntime runtime, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        Span<float> output, Span<float> lse, DecodeShape shape, ReadOnlySpan<int> lengths = default,
        ReadOnlySpan<float> sinks = default, float? scale = null)
    {
        Guard.Runtime(runtime, nameof(runtime));
        bool hasLengths = !lengths.IsEmpty || (HasLengths && shape.Batch == 0), hasSinks = !sinks.IsEmpty || (HasSinks && shape.Heads == 0);
        CheckOptional(hasLengths, hasSinks);
        var args = Arguments(shape, scale, runtime.IsIlgpu);
        AttentionGuard.Spans(q, k, v, output, lse, sinks, shape.QueryElements, shape.CacheElements, shape.Rows);
        if (HasLengths)
        {
            Guard.Span(lengths.Length, shape.Batch, nameof(lengths));
            for (int b = 0; b < shape.Batch; b++)
            {
                if (lengths[b] < 0 || lengths[b] > shape.Capacity)
                    throw new ArgumentOutOfRangeException(nameof(lengths), lengths[b], $"lengths[{b}] must be between 0 and Capacity ({shape.Capacity}).");
            }
        }
        if (HasSinks)
            Guard.Span(sinks.Length, shape.Heads, nameof(sinks));
        if (shape.Rows == 0)
            return;
        if (!runtime.IsIlgpu)
        {
            fixed (float* qp = q, kp = k, vp = v, sp = sinks, op = output, lp = lse)
            fixed (int* np = lengths)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)qp, (nint)kp, (nint)vp, (nint)np, (nint)sp, (nint)op, (nint)lp, args);
            }
            return;
        }
        int queries = checked((int)shape.QueryElements), cache = checked((int)shape.CacheElements), rows = (int)shape.Rows;
        using var qBuffer = runtime.Upload(q[..queries]);
        using var kBuffer = runtime.Upload(k[..cache]);
        using var vBuffer = runtime.Upload(v[..cache]);
        using var lengthBuffer = HasLengths ? runtime.Upload(lengths[..shape.Batch]) : null;
        using var sinkBuffer = HasSinks ? runtime.Upload(sinks[..shape.Heads]) : null;
        using var oBuffer = runtime.Allocate<float>(queries);
        using var lseBuffer = runtime.Allocate<float>(rows);
        Launch(runtime, qBuffer, kBuffer, vBuffer, oBuffer, lseBuffer, shape, lengthBuffer, sinkBuffer, scale);
        oBuffer.CopyTo(output[..queries]);
        lseBuffer.CopyTo(lse[..rows]);
    }

    private void CheckOptional(bool lengths, bool sinks)
    {
        if (lengths != HasLengths)
            throw HasLengths ? new ArgumentNullException(nameof(lengths), "this kernel is declared with per-sequence lengths (AttentionMasks.Length).")
                : new ArgumentException("this kernel is declared without lengths; declare Masks = AttentionMasks.Length to pass them.", nameof(lengths));
        if (sinks != HasSinks)
            throw HasSinks ? new ArgumentNullException(nameof(sinks), "this kernel is declared with a sink logit per head (Sink = true).")
                : new ArgumentException("this kernel is declared without sinks; declare Sink = true to pass them.", nameof(sinks));
    }

    private DecodeAttentionArgs Arguments(DecodeShape shape, float? scale, bool ilgpu)
    {
        Guard.AtLeast(shape.Batch, 0, "shape.Batch");
        Guard.AtLeast(shape.Heads, 0, "shape.Heads");
        Guard.AtLeast(shape.KvHeads, 1, "shape.KvHeads");
        Guard.AtLeast(shape.Capacity, 0, "shape.Capacity");
        if (shape.HeadDim != HeadDim)
            throw new ArgumentException($"HeadDim is {shape.HeadDim}; this kernel is declared for head dimension {HeadDim}.", "shape");
        if (shape.Heads % shape.KvHeads != 0)
            throw new ArgumentException($"Heads ({shape.Heads}) must be a multiple of KvHeads ({shape.KvHeads}).", "shape");
        if (GroupSize != 0 && shape.Heads != shape.KvHeads * GroupSize)
            throw new ArgumentException($"this kernel is declared for {GroupSize} query heads per key/value head; the shape has {shape.Heads} and {shape.KvHeads}.", "shape");
        if (shape.Rows > int.MaxValue / Math.Max(1, (shape.Capacity + ChunkKeys - 1) / ChunkKeys))
            throw new ArgumentOutOfRangeException("shape", "Batch·Heads·⌈Capacity/ChunkKeys⌉ must be below 2^31.");
        float value = scale ?? 1f / MathF.Sqrt(HeadDim);
        if (!float.IsFinite(value) || value == 0f)
            throw new ArgumentOutOfRangeException(nameof(scale), value, "scale must be finite and nonzero.");
        int splitKeys = ilgpu ? ChunkKeys : DecodeAttentionCpu.SplitKeys(shape.Batch, shape.KvHeads, shape.Capacity, ChunkKeys);
        return new DecodeAttentionArgs
        {
            Batch = shape.Batch,
            Heads = shape.Heads,
            KvHeads = shape.KvHeads,
            Capacity = shape.Capacity,
            HeadDim = HeadDim,
            Scale = value,
            HasLengths = HasLengths ? 1 : 0,
            HasSinks = HasSinks ? 1 : 0,
            SplitKeys = splitKeys,
            Splits = Math.Max(1, (shape.Capacity + splitKeys - 1) / splitKeys),
            ChunkKeys = ChunkKeys,
        };
    }
}
