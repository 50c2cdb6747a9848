using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// The streaming state of a <see cref="LinearAttention"/> on one runtime: S = Σ φ(k)vᵀ [heads, m, dv] and
/// z = Σ φ(k) [heads, m], O(m·dv) per head whatever the number of tokens absorbed. <see cref="Update"/> adds tokens,
/// <see cref="Query"/> attends to everything absorbed so far, <see cref="Forward"/> does both causally for a chunk (each
/// query also sees the chunk's keys up to its own position), so a sequence fed chunk by chunk gives the one-shot causal
/// result, and one fed through <see cref="Update"/> then <see cref="Query"/> the non-causal one.
/// </summary>
public sealed unsafe class LinearAttentionState : IDisposable
{
    private readonly KernelBuffer<float> _projection;

    internal LinearAttentionState(LinearAttention attention, KernelRuntime runtime, int heads, int valueDim)
    {
        Attention = attention;
        Runtime = runtime;
        Heads = heads;
        ValueDim = valueDim;
        Buffer = runtime.Allocate<float>(checked((long)heads * attention.Features * (valueDim + 1)));
        _projection = runtime.Upload(attention.ProjectionData);
    }

    /// <summary>The attention this state belongs to.</summary>
    public LinearAttention Attention { get; }

    /// <summary>The runtime holding the state.</summary>
    public KernelRuntime Runtime { get; }

    /// <summary>Heads.</summary>
    public int Heads { get; }

    /// <summary>Value dimension dv.</summary>
    public int ValueDim { get; }

    /// <summary>Tokens absorbed per head since creation or <see cref="Reset"/>.</summary>
    public long Tokens { get; private set; }

    /// <summary>The state: S [heads, m, dv] followed by z [heads, m].</summary>
    public KernelBuffer<float> Buffer { get; }

    /// <summary>Adds <paramref name="tokens"/> keys [heads, tokens, d] and values [heads, tokens, dv] to the state.</summary>
    public void Update(KernelBuffer<float> k, KernelBuffer<float> v, int tokens)
    {
        CheckStep(Runtime, k, k, v, null, Heads, tokens, Attention.HeadDim, ValueDim, update: true, query: false);
        Step(k, k, v, null, tokens, update: true, query: false);
    }

    /// <summary>Outputs [heads, tokens, dv] for queries [heads, tokens, d] against every token absorbed (the state is unchanged).</summary>
    public void Query(KernelBuffer<float> q, KernelBuffer<float> o, int tokens)
    {
        CheckStep(Runtime, q, q, null, o, Heads, tokens, Attention.HeadDim, ValueDim, update: false, query: true);
        Step(q, q, null, o, tokens, update: false, query: true);
    }

    /// <summary>
    /// A causal chunk: query i of the chunk attends to every token absorbed before the chunk and to the chunk's tokens
    /// 0..i; afterwards the chunk is absorbed.
    /// </summary>
    public void Forward(KernelBuffer<float> q, KernelBuffer<float> k, KernelBuffer<float> v, KernelBuffer<float> o, int tokens)
    {
        CheckStep(Runtime, q, k, v, o, Heads, tokens, Attention.HeadDim, ValueDim, update: true, query: true);
        Step(q, k, v, o, tokens, update: true, query: true);
    }

    /// <summary>Empties the state.</summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(Buffer.IsDisposed, this);
        Buffer.CopyFrom(new float[Buffer.Length]);
        Tokens = 0;
    }

    /// <summary>Frees the state's buffers.</summary>
    public void Dispose()
    {
        Buffer.Dispose();
        _projection.Dispose();
    }

    internal static void CheckStep(KernelRuntime runtime, KernelBuffer<float> q, KernelBuffer<float> k, KernelBuffer<float>? v,
        KernelBuffer<float>? o, int heads, int tokens, int headDim, int valueDim, bool update, bool query)
    {
        Guard.Runtime(runtime, nameof(runtime));
        Guard.AtLeast(tokens, 0, nameof(tokens));
        long keys = checked((long)heads * tokens * headDim), values = checked((long)heads * tokens * valueDim);
        if (query)
            Guard.Buffer(runtime, q, keys, nameof(q));
        if (update)
        {
            Guard.Buffer(runtime, k, keys, nameof(k));
            Guard.Buffer(runtime, v, values, nameof(v));
        }
        if (query)
        {
            Guard.Buffer(runtime, o, values, nameof(o));
            Guard.Distinct(q, o!, nameof(o), nameof(q));
            if (update)
            {
                Guard.Distinct(k, o!, nameof(o), nameof(k));
                Guard.Distinct(v!, o!, nameof(o), nameof(v));
            }
        }
    }

    // Arguments checked by the caller.
    internal void Step(KernelBuffer<float> q, KernelBuffer<float> k, KernelBuffer<float>? v, KernelBuffer<float>? o, int tokens, bool update, bool query)
    {
        ObjectDisposedException.ThrowIf(Buffer.IsDisposed, this);
        if (tokens == 0)
            return;
        if (Runtime.IsIlgpu)
            StepIlgpu(q, k, v ?? k, o ?? q, tokens, update, query);
        else
            StepCpu((nint)q.Host, (nint)k.Host, v is null ? 0 : (nint)v.Host, o is null ? 0 : (nint)o.Host, tokens, update, query);
    }

    internal void StepCpu(nint q, nint k, nint v, nint o, int tokens, bool update, bool query)
    {
        Runtime.ThrowIfDisposed();
        Attention.Kernel.Cpu(q, k, v, o, (nint)Buffer.Host, (nint)_projection.Host, Arguments(tokens, update, query));
        if (update) Tokens += tokens;
    }

    // Kept out of Step: its closure would otherwise be allocated on every call, cpu ones included.
    private void StepIlgpu(KernelBuffer<float> q, KernelBuffer<float> k, KernelBuffer<float> v, KernelBuffer<float> o, int tokens, bool update, bool query)
    {
        var args = Arguments(tokens, update, query);
        var entry = Attention.Kernel.Ilgpu;
        var kernel = Runtime.GetKernel(entry.Method, accelerator => KernelLoaders.LoadStreamKernel(accelerator, entry));
        using var denominators = Runtime.Allocate<float>(query ? (long)Heads * tokens : 1);
        Runtime.LaunchAndWait(() => kernel(new KernelConfig(Heads, Runtime.GroupSize),
            q.View, k.View, v.View, o.View, Buffer.View, denominators.View, _projection.View, args));
        if (update) Tokens += tokens;
    }

    private LinearAttentionArgs Arguments(int tokens, bool update, bool query) => new()
    {
        Heads = Heads,
        Tokens = tokens,
        HeadDim = Attention.HeadDim,
        ValueDim = ValueDim,
        Features = Attention.Features,
        Map = (int)Attention.FeatureMap,
        Update = update ? 1 : 0,
        Query = query ? 1 : 0,
        InputScale = 1f / MathF.Sqrt(MathF.Sqrt(Attention.HeadDim)),
    };
}
