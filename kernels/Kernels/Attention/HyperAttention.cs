using System;
using System.Linq;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// HyperAttention ("Long-context Attention in Near-Linear Time"): angular LSH with Gray-coded buckets
/// (<see cref="AngularLsh"/>), a stable sort of queries and keys by hash, exact attention in the diagonal blocks of the
/// sorted order, and uniformly sampled residual keys weighted n/s, masked where they fall in the query's own diagonal
/// block (the reference's CUDA path double counts them), merged through the log-sum-exp; then unsorted. Causal mode
/// follows the reference's recursion as a loop over levels (<see cref="HyperAttentionPlan"/>). Returns (O, LSE) like
/// <see cref="BlockAttention"/>, with the same layout (<see cref="AttentionShape"/>).
/// </summary>
/// <remarks>
/// <para><b>Where each step runs.</b> The hash (double accumulation, bit-identical everywhere), the row gathers and
/// scatters, the block attention (<see cref="BlockAttention"/>) and the merge (<see cref="AttentionMerge"/>) run on the
/// runtime's backend. The stable counting sort of the r-bit hashes, the sampling of residual keys and the index maps
/// are host code (O(n + 2^r) per head): on an ILGPU backend the hashes (4 bytes a row) come down and the maps go up.</para>
/// <para><b>Randomness.</b> P [d, r] is drawn from the key at construction (<see cref="GaussianProjection"/>); the
/// residual keys of head h are drawn from stream Stream + h of the key at launch offset <c>offset + 1</c>, so one key and
/// offset give the same result on every backend.</para>
/// <para><b>Outcomes.</b> NaN in a query row makes its output row and LSE NaN; NaN in a key or value row reaches the
/// rows that attend to it (its diagonal block, and every row when it is sampled), which depends on the hashing and the
/// samples. A sample size above the number of keys is allowed (sampling is with replacement).</para>
/// </remarks>
public sealed class HyperAttention
{
    private readonly float[] _projection;

    /// <summary>Describes a HyperAttention of head dimension <paramref name="headDim"/>.</summary>
    /// <param name="headDim">Elements per row, 1 to <see cref="BlockAttentionKernel.MaxHeadDim"/>.</param>
    /// <param name="options">The parameters; null for the reference defaults.</param>
    /// <param name="key">The key of the projection and of the residual samples.</param>
    /// <param name="blockKernel">
    /// The block-attention kernels of the diagonal blocks and the residual (declared for head dimension 0 or
    /// <paramref name="headDim"/>, any GQA ratio); null for <see cref="BlockAttention"/>.
    /// </param>
    public HyperAttention(int headDim, HyperAttentionOptions? options = null, RngKey key = default, BlockAttentionKernel? blockKernel = null)
    {
        blockKernel ??= BlockAttention.Kernel;
        if ((blockKernel.HeadDim != 0 && blockKernel.HeadDim != headDim) || blockKernel.GroupSize != 0)
            throw new ArgumentException($"blockKernel must be declared for HeadDim = 0 or {headDim} and any GroupSize (it is {blockKernel.HeadDim} and {blockKernel.GroupSize}).", nameof(blockKernel));
        if (headDim < 1 || headDim > BlockAttentionKernel.MaxHeadDim)
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, $"headDim must be between 1 and {BlockAttentionKernel.MaxHeadDim}.");
        options ??= new HyperAttentionOptions();
        if (options.HashBits < 0 || options.HashBits > AngularLsh.MaxBits)
            throw new ArgumentOutOfRangeException(nameof(options), options.HashBits, $"options.HashBits must be between 0 and {AngularLsh.MaxBits}.");
        if (options.BlockSize < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.BlockSize, "options.BlockSize must be at least 1.");
        if (options.SampleSize < 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.SampleSize, "options.SampleSize must not be negative.");
        if (options.MinSeqLen < 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.MinSeqLen, "options.MinSeqLen must not be negative.");
        if (options.Scale is { } scale && (!float.IsFinite(scale) || scale == 0f))
            throw new ArgumentOutOfRangeException(nameof(options), scale, "options.Scale must be finite and nonzero.");
        HeadDim = headDim;
        Options = options;
        Key = key;
        BlockKernel = blockKernel;
        _projection = GaussianProjection.Draw(key, headDim * options.HashBits);
    }

    /// <summary>The head dimension.</summary>
    public int HeadDim { get; }

    /// <summary>The parameters.</summary>
    public HyperAttentionOptions Options { get; }

    /// <summary>The key.</summary>
    public RngKey Key { get; }

    /// <summary>The block-attention kernels it runs on.</summary>
    public BlockAttentionKernel BlockKernel { get; }

    /// <summary>The projection P [d, r], row-major.</summary>
    public ReadOnlySpan<float> Projection => _projection;

    /// <summary>
    /// Computes (O, LSE) on buffers of <paramref name="runtime"/> and waits; every argument is checked before anything is
    /// launched. Returns the next offset (<paramref name="offset"/> + 1).
    /// </summary>
    /// <param name="runtime">The runtime.</param>
    /// <param name="q">Queries [Heads, Queries, d].</param>
    /// <param name="k">Keys [KvHeads, Keys, d].</param>
    /// <param name="v">Values [KvHeads, Keys, d].</param>
    /// <param name="output">O [Heads, Queries, d].</param>
    /// <param name="lse">LSE [Heads, Queries], or null.</param>
    /// <param name="shape">The shape; HeadDim must be this attention's; causal needs Queries = Keys.</param>
    /// <param name="causal">Causal mode.</param>
    /// <param name="offset">The launch offset of the residual samples.</param>
    public ulong Launch(KernelRuntime runtime, KernelBuffer<float> q, KernelBuffer<float> k, KernelBuffer<float> v,
        KernelBuffer<float> output, KernelBuffer<float>? lse, AttentionShape shape, bool causal, ulong offset = 0)
    {
        Check(runtime, shape, causal);
        Guard.Buffer(runtime, q, shape.QueryElements, nameof(q));
        Guard.Buffer(runtime, k, shape.KeyElements, nameof(k));
        Guard.Buffer(runtime, v, shape.KeyElements, nameof(v));
        Guard.Buffer(runtime, output, shape.QueryElements, nameof(output));
        Guard.Distinct(q, output, nameof(output), nameof(q));
        Guard.Distinct(k, output, nameof(output), nameof(k));
        Guard.Distinct(v, output, nameof(output), nameof(v));
        if (lse is not null)
        {
            Guard.Buffer(runtime, lse, shape.Rows, nameof(lse));
            Guard.Distinct(output, lse, nameof(lse), nameof(output));
        }
        if (shape.Rows > 0)
            Execute(runtime, q, k, v, output, lse, shape, causal, offset, trace: null);
        return offset + 1;
    }

    /// <summary>
    /// Computes (O, LSE) on host memory through buffers of <paramref name="runtime"/>. Same checks and outcomes as
    /// <see cref="Launch"/>; <paramref name="lse"/> may be empty.
    /// </summary>
    public ulong Run(KernelRuntime runtime, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        Span<float> output, Span<float> lse, AttentionShape shape, bool causal, ulong offset = 0)
    {
        Check(runtime, shape, causal);
        Guard.Span(q.Length, shape.QueryElements, nameof(q));
        Guard.Span(k.Length, shape.KeyElements, nameof(k));
        Guard.Span(v.Length, shape.KeyElements, nameof(v));
        Guard.Span(output.Length, shape.QueryElements, nameof(output));
        if (!lse.IsEmpty)
            Guard.Span(lse.Length, shape.Rows, nameof(lse));
        if (output.Overlaps(q) || output.Overlaps(k) || output.Overlaps(v) || output.Overlaps(lse))
            throw new ArgumentException("output must not overlap the inputs or lse.", nameof(output));
        if (shape.Rows == 0)
            return offset + 1;
        int queries = checked((int)shape.QueryElements), keys = checked((int)shape.KeyElements), rows = (int)shape.Rows;
        using var qb = runtime.Upload(q[..queries]);
        using var kb = runtime.Upload(k[..keys]);
        using var vb = runtime.Upload(v[..keys]);
        using var ob = runtime.Allocate<float>(queries);
        using var lb = runtime.Allocate<float>(rows);
        Execute(runtime, qb, kb, vb, ob, lb, shape, causal, offset, trace: null);
        ob.CopyTo(output[..queries]);
        if (!lse.IsEmpty)
            lb.CopyTo(lse[..rows]);
        return offset + 1;
    }

    private void Check(KernelRuntime runtime, AttentionShape shape, bool causal)
    {
        Guard.Runtime(runtime, nameof(runtime));
        BlockKernel.Arguments(shape, new BlockAttentionOptions { Scale = Options.Scale }, hasBias: false);
        if (shape.HeadDim != HeadDim)
            throw new ArgumentException($"shape.HeadDim is {shape.HeadDim}; this HyperAttention was made for {HeadDim}.", nameof(shape));
        // Rows of every map and of the residual bias [rows, s] stay below 2^31.
        if ((long)shape.KvHeads * shape.Keys > int.MaxValue || (shape.Rows + shape.Heads) * (long)Math.Max(Options.SampleSize, 1) > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(shape), "KvHeads·Keys and (Heads·Queries)·SampleSize must stay below 2^31.");
        if (causal && shape.Queries != shape.Keys)
            throw new ArgumentException($"causal HyperAttention needs as many queries as keys (got {shape.Queries} and {shape.Keys}).", nameof(shape));
        if (runtime.IsIlgpu && Options.HashBits > 0)
            Rng.RequireFloat64(runtime, "HyperAttention's angular hash needs");
    }

    /// <summary>The steps of one call (arguments checked); <paramref name="trace"/> records each batch's layout and states for tests.</summary>
    internal void Execute(KernelRuntime runtime, KernelBuffer<float> q, KernelBuffer<float> k, KernelBuffer<float> v,
        KernelBuffer<float> output, KernelBuffer<float>? lse, AttentionShape shape, bool causal, ulong offset, HyperAttentionTrace? trace)
    {
        var batches = HyperAttentionPlan.Build(shape, causal, Options);
        int[]? queryHashes = null, keyHashes = null;
        if (Options.HashBits > 0 && batches.Any(b => b.Mode == HyperMode.Hyper))
        {
            using var projection = runtime.Upload<float>(_projection);
            queryHashes = HyperAttentionSteps.Hash(runtime, q, projection, checked((int)shape.Rows), HeadDim, Options.HashBits);
            keyHashes = HyperAttentionSteps.Hash(runtime, k, projection, checked(shape.KvHeads * shape.Keys), HeadDim, Options.HashBits);
        }
        using var ownLse = lse is null ? runtime.Allocate<float>(shape.Rows) : null;
        var stateLse = lse ?? ownLse!;
        float scale = Options.Scale ?? 1f / MathF.Sqrt(HeadDim);
        foreach (var batch in batches)
        {
            var layout = HyperAttentionLayout.Build(batch, shape, Options, queryHashes, keyHashes, Key, offset);
            HyperAttentionSteps.Attend(runtime, BlockKernel, q, k, v, output, stateLse, batch, layout, HeadDim, scale, trace);
        }
    }
}
