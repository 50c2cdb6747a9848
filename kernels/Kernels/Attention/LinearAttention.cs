using System;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// Kernelised linear attention, O = φ(Q)(φ(K)ᵀV) / (φ(Q)(φ(K)ᵀ𝟙)), causal or not, with a positive feature map
/// (<see cref="LinearFeatureMap"/>): cost O(n·m·dv) instead of O(n²·d). Queries and keys are [heads, tokens, d], values
/// and outputs [heads, tokens, dv], row-major. The one-shot calls here run through a temporary
/// <see cref="LinearAttentionState"/>; keep one yourself to stream (<see cref="CreateState"/>).
/// </summary>
/// <remarks>
/// Outcomes for bad data: NaN in a query row gives a NaN output row; NaN in a key or value row reaches every output that
/// sees that token (all of them without causality, the later ones with it). An output whose denominator is 0 (an empty
/// state, or features that all underflowed: ‖x̃‖²/2 − ω·x̃ beyond 87 for <see cref="LinearFeatureMap.PositiveRandom"/>)
/// is 0. Features that overflow float (+inf) give NaN outputs.
/// </remarks>
public sealed unsafe class LinearAttention
{
    private readonly float[] _projection;

    /// <summary>Describes a linear attention.</summary>
    /// <param name="featureMap">The positive feature map.</param>
    /// <param name="headDim">The query/key dimension d, 1 to 256 (for <see cref="LinearFeatureMap.EluPlusOne"/>, d ≤ <see cref="LinearAttentionDevice.MaxFeatures"/>).</param>
    /// <param name="features">The number of random features m (1 to 256) for <see cref="LinearFeatureMap.PositiveRandom"/>; 0 means d. Must be 0 or d for <see cref="LinearFeatureMap.EluPlusOne"/>.</param>
    /// <param name="key">The key the random projection ω [m, d] is drawn from (<see cref="GaussianProjection"/>).</param>
    /// <param name="kernel">The declared kernels to run on (their head dimension must be 0 or <paramref name="headDim"/>); null for <see cref="LinearAttentionAny"/>.</param>
    public LinearAttention(LinearFeatureMap featureMap, int headDim, int features = 0, RngKey key = default, LinearAttentionKernel? kernel = null)
    {
        kernel ??= LinearAttentionAny.Kernel;
        if (kernel.HeadDim != 0 && kernel.HeadDim != headDim)
            throw new ArgumentException($"kernel was declared for HeadDim = {kernel.HeadDim}, not {headDim}.", nameof(kernel));
        if (featureMap is not (LinearFeatureMap.EluPlusOne or LinearFeatureMap.PositiveRandom))
            throw new ArgumentOutOfRangeException(nameof(featureMap), featureMap, "featureMap must be EluPlusOne or PositiveRandom.");
        if (headDim < 1 || headDim > LinearAttentionDevice.MaxFeatures)
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, $"headDim must be between 1 and {LinearAttentionDevice.MaxFeatures}.");
        if (features == 0)
            features = headDim;
        if (features < 1 || features > LinearAttentionDevice.MaxFeatures || (featureMap == LinearFeatureMap.EluPlusOne && features != headDim))
            throw new ArgumentOutOfRangeException(nameof(features), features,
                $"features must be 0 or headDim for EluPlusOne, and between 1 and {LinearAttentionDevice.MaxFeatures} for PositiveRandom.");
        FeatureMap = featureMap;
        HeadDim = headDim;
        Features = features;
        Key = key;
        Kernel = kernel;
        _projection = featureMap == LinearFeatureMap.PositiveRandom ? GaussianProjection.Draw(key, features * headDim) : new float[1];
    }

    /// <summary>The feature map.</summary>
    public LinearFeatureMap FeatureMap { get; }

    /// <summary>The query/key dimension d.</summary>
    public int HeadDim { get; }

    /// <summary>The number of features m.</summary>
    public int Features { get; }

    /// <summary>The declared kernels this attention runs on.</summary>
    public LinearAttentionKernel Kernel { get; }

    /// <summary>The key of the random projection.</summary>
    public RngKey Key { get; }

    /// <summary>The random projection ω [m, d] (empty for <see cref="LinearFeatureMap.EluPlusOne"/>).</summary>
    public ReadOnlySpan<float> Projection => FeatureMap == LinearFeatureMap.PositiveRandom ? _projection : default;

    internal ReadOnlySpan<float> ProjectionData => _projection;

    /// <summary>A zeroed streaming state for <paramref name="heads"/> heads of value dimension <paramref name="valueDim"/> on <paramref name="runtime"/>.</summary>
    public LinearAttentionState CreateState(KernelRuntime runtime, int heads, int valueDim)
    {
        Guard.Runtime(runtime, nameof(runtime));
        Guard.AtLeast(heads, 1, nameof(heads));
        Guard.AtLeast(valueDim, 1, nameof(valueDim));
        return new LinearAttentionState(this, runtime, heads, valueDim);
    }

    /// <summary>
    /// One-shot attention on buffers of <paramref name="runtime"/>: every argument is checked before anything is launched
    /// (on an exception <paramref name="o"/> is untouched).
    /// </summary>
    /// <param name="runtime">The runtime.</param>
    /// <param name="q">Queries [heads, tokens, d].</param>
    /// <param name="k">Keys [heads, tokens, d].</param>
    /// <param name="v">Values [heads, tokens, valueDim].</param>
    /// <param name="o">Outputs [heads, tokens, valueDim]; not one of the inputs.</param>
    /// <param name="heads">Heads (batch × heads).</param>
    /// <param name="tokens">Tokens per head.</param>
    /// <param name="valueDim">Value dimension.</param>
    /// <param name="causal">Whether query i sees keys 0..i only.</param>
    public void Launch(KernelRuntime runtime, KernelBuffer<float> q, KernelBuffer<float> k, KernelBuffer<float> v, KernelBuffer<float> o,
        int heads, int tokens, int valueDim, bool causal)
    {
        Guard.Runtime(runtime, nameof(runtime));
        Guard.AtLeast(heads, 1, nameof(heads));
        Guard.AtLeast(valueDim, 1, nameof(valueDim));
        LinearAttentionState.CheckStep(runtime, q, k, v, o, heads, tokens, HeadDim, valueDim, update: true, query: true);
        if (tokens == 0)
            return;
        using var state = new LinearAttentionState(this, runtime, heads, valueDim);
        if (causal)
            state.Step(q, k, v, o, tokens, update: true, query: true);
        else
        {
            state.Step(q, k, v, o, tokens, update: true, query: false);
            state.Step(q, k, v, o, tokens, update: false, query: true);
        }
    }

    /// <summary>
    /// One-shot attention on host memory (through temporary buffers of <paramref name="runtime"/>). Same checks and
    /// outcomes as <see cref="Launch"/>.
    /// </summary>
    public void Run(KernelRuntime runtime, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o,
        int heads, int tokens, int valueDim, bool causal)
    {
        Guard.Runtime(runtime, nameof(runtime));
        Guard.AtLeast(heads, 1, nameof(heads));
        Guard.AtLeast(tokens, 0, nameof(tokens));
        Guard.AtLeast(valueDim, 1, nameof(valueDim));
        long keys = checked((long)heads * tokens * HeadDim), values = checked((long)heads * tokens * valueDim);
        Guard.Span(q.Length, keys, nameof(q));
        Guard.Span(k.Length, keys, nameof(k));
        Guard.Span(v.Length, values, nameof(v));
        Guard.Span(o.Length, values, nameof(o));
        if (o.Overlaps(q) || o.Overlaps(k) || o.Overlaps(v))
            throw new ArgumentException("o must not overlap q, k or v.", nameof(o));
        if (tokens == 0)
            return;
        if (!runtime.IsIlgpu)
        {
            // cpu: zero-copy on the caller's memory, with a native temporary state.
            using var state = new LinearAttentionState(this, runtime, heads, valueDim);
            fixed (float* qp = q, kp = k, vp = v, op = o)
            {
                if (causal)
                    state.StepCpu((nint)qp, (nint)kp, (nint)vp, (nint)op, tokens, update: true, query: true);
                else
                {
                    state.StepCpu((nint)qp, (nint)kp, (nint)vp, (nint)op, tokens, update: true, query: false);
                    state.StepCpu((nint)qp, (nint)kp, (nint)vp, (nint)op, tokens, update: false, query: true);
                }
            }
            return;
        }
        using var qb = runtime.Upload(q[..(int)keys]);
        using var kb = runtime.Upload(k[..(int)keys]);
        using var vb = runtime.Upload(v[..(int)values]);
        using var ob = runtime.Allocate<float>(values);
        Launch(runtime, qb, kb, vb, ob, heads, tokens, valueDim, causal);
        ob.CopyTo(o[..(int)values]);
    }
}
