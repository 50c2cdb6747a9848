using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// Block attention returning a mergeable state: for every query row, O = softmax(scale·q·Kᵀ + bias)·V over the visible
/// keys and LSE = ln Σ_j e^(scale·q·k_j + bias_j) (natural log). Both entry points and the validation live here once;
/// declarations hold one in a static property.
/// </summary>
/// <remarks>
/// <para><b>Layout</b> (see <see cref="AttentionShape"/>): Q, O [Heads, Queries, HeadDim]; K, V [KvHeads, Keys, HeadDim];
/// bias [Heads, Queries, Keys]; LSE [Heads, Queries]. Query head h reads key/value head h / (Heads / KvHeads).</para>
/// <para><b>Masks</b>: query i sees keys j &lt; KeyLength, and with <see cref="BlockAttentionOptions.Causal"/> only
/// j ≤ QueryOffset + i. Keys outside the mask are never read.</para>
/// <para><b>Outcomes</b>: a row that sees no key, or whose scores are all −inf (bias), gets O = 0 and LSE = −inf (the
/// empty state, the identity of <see cref="AttentionMerge"/>), never NaN. A NaN or +inf score (NaN in the query row or
/// in a visible key row, or overflow) makes the row's O and LSE NaN. NaN in a visible value row makes NaN in the
/// output components it touches. Shapes, lengths and buffers are checked before any launch (exceptions naming the
/// argument).</para>
/// </remarks>
public sealed unsafe class BlockAttentionKernel
{
    /// <summary>The largest head dimension.</summary>
    public const int MaxHeadDim = 256;

    /// <summary>The signature of a CPU kernel.</summary>
    public delegate void CpuEntry(nint q, nint k, nint v, nint bias, nint o, nint lse, AttentionArgs args);

    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs> _ilgpu;
    private readonly CpuEntry _cpu;

    /// <summary>Describes a block-attention kernel for any head dimension and GQA ratio from its two entry points.</summary>
    public BlockAttentionKernel(
        Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs> ilgpu,
        CpuEntry cpu)
        : this(0, 0, ilgpu, cpu)
    {
    }

    /// <summary>Describes a declared block-attention kernel.</summary>
    /// <param name="headDim">The declared head dimension (1 to <see cref="MaxHeadDim"/>), or 0 for any.</param>
    /// <param name="groupSize">The declared GQA ratio (query heads per key/value head), or 0 for any.</param>
    /// <param name="ilgpu">The ILGPU kernel.</param>
    /// <param name="cpu">The CPU kernel.</param>
    public BlockAttentionKernel(int headDim, int groupSize,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs> ilgpu,
        CpuEntry cpu)
    {
        if (headDim < 0 || headDim > MaxHeadDim)
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, $"headDim must be 0 (any) or 1 to {MaxHeadDim}.");
        ArgumentOutOfRangeException.ThrowIfNegative(groupSize);
        HeadDim = headDim;
        GroupSize = groupSize;
        _ilgpu = ilgpu;
        _cpu = cpu;
    }

    /// <summary>The declared head dimension, 0 for any.</summary>
    public int HeadDim { get; }

    /// <summary>The declared GQA ratio, 0 for any.</summary>
    public int GroupSize { get; }

    /// <summary>
    /// Computes (O, LSE) on buffers of <paramref name="runtime"/> and waits. Every argument is checked first; on an
    /// exception nothing has been launched.
    /// </summary>
    /// <param name="runtime">The runtime.</param>
    /// <param name="q">Queries [Heads, Queries, HeadDim].</param>
    /// <param name="k">Keys [KvHeads, Keys, HeadDim].</param>
    /// <param name="v">Values [KvHeads, Keys, HeadDim].</param>
    /// <param name="output">O [Heads, Queries, HeadDim].</param>
    /// <param name="lse">LSE [Heads, Queries].</param>
    /// <param name="shape">The shape.</param>
    /// <param name="options">Scale and masks.</param>
    /// <param name="bias">An optional additive bias [Heads, Queries, Keys] on the scaled scores (−inf masks a key).</param>
    public void Launch(KernelRuntime runtime, KernelBuffer<float> q, KernelBuffer<float> k, KernelBuffer<float> v,
        KernelBuffer<float> output, KernelBuffer<float> lse, AttentionShape shape, BlockAttentionOptions options = default,
        KernelBuffer<float>? bias = null)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(shape, options, bias is not null);
        AttentionGuard.Buffers(runtime, q, k, v, output, lse, shape.QueryElements, shape.KeyElements, shape.Rows);
        if (bias is not null)
            Guard.Buffer(runtime, bias, checked(shape.Rows * shape.Keys), nameof(bias));
        if (shape.Rows == 0)
            return;
        if (runtime.IsIlgpu)
            LaunchIlgpu(runtime, q, k, v, output, lse, bias, args);
        else
        {
            runtime.ThrowIfDisposed();
            _cpu((nint)q.Host, (nint)k.Host, (nint)v.Host, HostAddress.Of(bias), (nint)output.Host, (nint)lse.Host, args);
        }
    }

    // Kept out of Launch: its closure would otherwise be allocated on every call, cpu launches included.
    private void LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> q, KernelBuffer<float> k, KernelBuffer<float> v,
        KernelBuffer<float> output, KernelBuffer<float> lse, KernelBuffer<float>? bias, AttentionArgs args)
    {
        var kernel = runtime.GetKernel(_ilgpu.Method, accelerator =>
            global::ILGPU.Runtime.KernelLoaders.LoadStreamKernel(accelerator, _ilgpu));
        int groups = checked(args.Heads * args.Queries);
        runtime.LaunchAndWait(() => kernel(new KernelConfig(groups, runtime.GroupSize),
            q.View, k.View, v.View, (bias ?? q).View, output.View, lse.View, args));
    }

    /// <summary>
    /// Computes (O, LSE) on host memory: in place on the <c>cpu</c> backend, through temporary device buffers elsewhere.
    /// Same checks and outcomes as <see cref="Launch"/>.
    /// </summary>
    public void Run(KernelRuntime runtime, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        Span<float> output, Span<float> lse, AttentionShape shape, BlockAttentionOptions options = default,
        ReadOnlySpan<float> bias = default)
    {
        Guard.Runtime(runtime, nameof(runtime));
        bool hasBias = !bias.IsEmpty;
        var args = Arguments(shape, options, hasBias);
        AttentionGuard.Spans(q, k, v, output, lse, bias, shape.QueryElements, shape.KeyElements, shape.Rows);
        long biasElements = checked(shape.Rows * shape.Keys);
        if (hasBias)
            Guard.Span(bias.Length, biasElements, nameof(bias));
        if (shape.Rows == 0)
            return;
        if (!runtime.IsIlgpu)
        {
            fixed (float* qp = q, kp = k, vp = v, bp = bias, op = output, lp = lse)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)qp, (nint)kp, (nint)vp, (nint)bp, (nint)op, (nint)lp, args);
            }
            return;
        }
        int queries = checked((int)shape.QueryElements), keys = checked((int)shape.KeyElements), rows = (int)shape.Rows;
        using var qBuffer = runtime.Upload(q[..queries]);
        using var kBuffer = runtime.Upload(k[..keys]);
        using var vBuffer = runtime.Upload(v[..keys]);
        using var biasBuffer = hasBias ? runtime.Upload(bias[..checked((int)biasElements)]) : null;
        using var oBuffer = runtime.Allocate<float>(queries);
        using var lseBuffer = runtime.Allocate<float>(rows);
        Launch(runtime, qBuffer, kBuffer, vBuffer, oBuffer, lseBuffer, shape, options, biasBuffer);
        oBuffer.CopyTo(output[..queries]);
        lseBuffer.CopyTo(lse[..rows]);
    }

    /// <summary>Computes (O, LSE) into a host <see cref="AttentionState"/> of Heads·Queries rows.</summary>
    public void Run(KernelRuntime runtime, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        AttentionState state, AttentionShape shape, BlockAttentionOptions options = default, ReadOnlySpan<float> bias = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Rows != shape.Rows || state.HeadDim != shape.HeadDim)
            throw new ArgumentException($"state holds {state.Rows} rows of {state.HeadDim}; this call needs {shape.Rows} rows of {shape.HeadDim}.", nameof(state));
        Run(runtime, q, k, v, state.Output, state.Lse, shape, options, bias);
    }

    /// <summary>Checks a shape and options and returns the launch arguments.</summary>
    internal AttentionArgs Arguments(AttentionShape shape, BlockAttentionOptions options, bool hasBias)
    {
        Guard.AtLeast(shape.Heads, 0, "shape.Heads");
        Guard.AtLeast(shape.KvHeads, 1, "shape.KvHeads");
        Guard.AtLeast(shape.Queries, 0, "shape.Queries");
        Guard.AtLeast(shape.Keys, 0, "shape.Keys");
        if (shape.HeadDim < 1 || shape.HeadDim > MaxHeadDim)
            throw new ArgumentOutOfRangeException("shape.HeadDim", shape.HeadDim, $"HeadDim must be between 1 and {MaxHeadDim}.");
        if (HeadDim != 0 && shape.HeadDim != HeadDim)
            throw new ArgumentException($"HeadDim is {shape.HeadDim}; this kernel is declared for head dimension {HeadDim}.", "shape");
        if (shape.Heads % shape.KvHeads != 0)
            throw new ArgumentException($"Heads ({shape.Heads}) must be a multiple of KvHeads ({shape.KvHeads}).", "shape");
        if (GroupSize != 0 && shape.Heads != shape.KvHeads * GroupSize)
            throw new ArgumentException($"this kernel is declared for {GroupSize} query heads per key/value head; the shape has {shape.Heads} and {shape.KvHeads}.", "shape");
        // Every index a kernel forms stays below 2^31 rows per launch.
        if (shape.Rows > int.MaxValue)
            throw new ArgumentOutOfRangeException("shape", "Heads·Queries must be below 2^31.");
        int keyLength = options.KeyLength ?? shape.Keys;
        if (keyLength < 0 || keyLength > shape.Keys)
            throw new ArgumentOutOfRangeException("options.KeyLength", keyLength, $"KeyLength must be between 0 and Keys ({shape.Keys}).");
        float scale = options.Scale ?? 1f / MathF.Sqrt(shape.HeadDim);
        if (!float.IsFinite(scale) || scale == 0f)
            throw new ArgumentOutOfRangeException("options.Scale", scale, "Scale must be finite and nonzero.");
        return new AttentionArgs
        {
            Heads = shape.Heads,
            KvHeads = shape.KvHeads,
            Queries = shape.Queries,
            Keys = shape.Keys,
            HeadDim = shape.HeadDim,
            Scale = scale,
            Causal = options.Causal ? 1 : 0,
            QueryOffset = options.QueryOffset,
            KeyLength = keyLength,
            HasBias = hasBias ? 1 : 0,
        };
    }
}
