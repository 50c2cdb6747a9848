using System;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// One generated token-tree verifier (<see cref="SpeculativeKind.Tree"/>, RSD per node): its ILGPU and CPU entry points,
/// validation and dispatch.
/// </summary>
/// <remarks>
/// <para><b>Inputs</b> (row-major, N nodes per row): parents [B, N] (node 0 is the root, the last committed position, with
/// parent −1; node n ≥ 1 has a parent in [0, n)), node tokens [B, N] (the root's is ignored), target probabilities
/// p [B, N, V] (node n's row: the target's distribution of the token after the path to n) and draft probabilities
/// q [B, N, V] (node n's row: the law its children were drawn from, without replacement, in index order; leaves' rows are
/// never read). <b>Outputs</b>: accepted [B], the depth d of the accepted path; path [B, N], its nodes from the root's
/// child down, then −1; emitted [B, N], their tokens, then the correction or bonus token, then −1.</para>
/// <para><b>Algorithm</b> (<see cref="DraftMachine"/>): from the root, RSD over the node's children against its p; descend
/// into the accepted child; stop at a node whose children are all rejected (the residual token) or at a leaf (the bonus
/// token from its p). Every emitted token follows the target given the tokens before it. The test of node c uses
/// <c>Rng.Block(key, c − 1, offset)</c> and the final draw position N − 1, so a chain-shaped tree takes the decisions of
/// <see cref="ChainVerifier"/>'s counters. Same keys, same decisions on every backend, except at ≈1e-12 near-ties of
/// double sums taken in a different order.</para>
/// <para><b>Invalid rows</b> (accepted −1, path and emitted all −1): a parent out of [0, n) for node n ≥ 1 (which rules
/// out cycles and forward references) or a root parent other than −1; a node token outside [0, V); two siblings with the
/// same token; a NaN, negative or infinite value in the p or q row of a node that verification visits (visited nodes'
/// rows are read whole; the rest are not checked); a visited p row, or the q row of a visited node with children, with
/// no mass.</para>
/// <para><b>Cost</b>: the shape checks take O(N²) per row (every thread of a group runs them), then two passes over V per
/// visited node, one per rejected child and one for the final draw: meant for trees of up to a few hundred nodes.</para>
/// </remarks>
public sealed unsafe class TreeVerifier
{
    /// <summary>The signature of a generated CPU kernel.</summary>
    public delegate void CpuEntry(nint target, nint draft, nint parents, nint nodeTokens, nint keys, nint uniforms, nint accepted, nint path, nint emitted, DraftArgs args);

    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<RngKey>, ArrayView<double>, ArrayView<int>, ArrayView<int>, ArrayView<int>, DraftArgs> _ilgpu;
    private readonly CpuEntry _cpu;

    /// <summary>Describes a generated verifier.</summary>
    public TreeVerifier(bool perRowKeys,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<RngKey>, ArrayView<double>, ArrayView<int>, ArrayView<int>, ArrayView<int>, DraftArgs> ilgpu,
        CpuEntry cpu)
    {
        PerRowKeys = perRowKeys;
        _ilgpu = ilgpu;
        _cpu = cpu;
    }

    /// <summary>Whether keys come per row from a buffer.</summary>
    public bool PerRowKeys { get; }

    /// <summary>RNG offsets one launch consumes: 1.</summary>
    public const ulong OffsetsPerLaunch = 1;

    /// <summary>
    /// Verifies <paramref name="batch"/> trees of <paramref name="nodes"/> nodes over a vocabulary of <paramref name="cols"/>
    /// on buffers of <paramref name="runtime"/>, and waits. Every argument is checked first; on an exception nothing has
    /// been launched. Returns <paramref name="offset"/> + <see cref="OffsetsPerLaunch"/>.
    /// </summary>
    public ulong Launch(KernelRuntime runtime, KernelBuffer<float> target, KernelBuffer<float> draft, KernelBuffer<int> parents,
        KernelBuffer<int> nodeTokens, KernelBuffer<int> accepted, KernelBuffer<int> path, KernelBuffer<int> emitted, int batch, int nodes, int cols,
        RngKey key = default, KernelBuffer<RngKey>? keys = null, ulong offset = 0) =>
        LaunchCore(runtime, target, draft, parents, nodeTokens, accepted, path, emitted, batch, nodes, cols, key, keys, offset, null);

    /// <summary><see cref="Launch"/> with the uniforms [B, N] given explicitly (tests: the same decisions as a reference).</summary>
    internal void LaunchWithUniforms(KernelRuntime runtime, KernelBuffer<float> target, KernelBuffer<float> draft, KernelBuffer<int> parents,
        KernelBuffer<int> nodeTokens, KernelBuffer<int> accepted, KernelBuffer<int> path, KernelBuffer<int> emitted, int batch, int nodes, int cols,
        KernelBuffer<double> uniforms)
    {
        ArgumentNullException.ThrowIfNull(uniforms);
        LaunchCore(runtime, target, draft, parents, nodeTokens, accepted, path, emitted, batch, nodes, cols, default, null, 0, uniforms);
    }

    // Kept out of LaunchCore: its closure would otherwise be allocated on every call, cpu launches included.
    private void LaunchIlgpu(KernelRuntime runtime, KernelBuffer<float> target, KernelBuffer<float> draft, KernelBuffer<int> parents,
        KernelBuffer<int> nodeTokens, KernelBuffer<RngKey>? keys, KernelBuffer<double>? uniforms, KernelBuffer<int> accepted, KernelBuffer<int> path,
        KernelBuffer<int> emitted, DraftArgs args)
    {
        var kernel = runtime.GetKernel(_ilgpu.Method, accelerator => KernelLoaders.LoadStreamKernel(accelerator, _ilgpu));
        runtime.LaunchAndWait(() => kernel(
            new KernelConfig(args.Batch, runtime.GroupSize), // one group per row
            target.View, draft.View, parents.View, nodeTokens.View, keys is null ? default : keys.View, uniforms is null ? default : uniforms.View,
            accepted.View, path.View, emitted.View, args));
    }

    private ulong LaunchCore(KernelRuntime runtime, KernelBuffer<float> target, KernelBuffer<float> draft, KernelBuffer<int> parents,
        KernelBuffer<int> nodeTokens, KernelBuffer<int> accepted, KernelBuffer<int> path, KernelBuffer<int> emitted, int batch, int nodes, int cols,
        RngKey key, KernelBuffer<RngKey>? keys, ulong offset, KernelBuffer<double>? uniforms)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(runtime, batch, nodes, cols, key, offset);
        long rowElements = SpeculativeShape.Elements(batch, nodes, cols, nameof(nodes));
        long nodeElements = Guard.Elements(batch, nodes);
        Guard.Buffer(runtime, target, rowElements, nameof(target));
        Guard.Buffer(runtime, draft, rowElements, nameof(draft));
        Guard.Buffer(runtime, parents, nodeElements, nameof(parents));
        Guard.Buffer(runtime, nodeTokens, nodeElements, nameof(nodeTokens));
        Guard.Buffer(runtime, accepted, batch, nameof(accepted));
        Guard.Buffer(runtime, path, nodeElements, nameof(path));
        Guard.Buffer(runtime, emitted, nodeElements, nameof(emitted));
        Guard.Distinct(parents, accepted, nameof(accepted), nameof(parents));
        Guard.Distinct(parents, path, nameof(path), nameof(parents));
        Guard.Distinct(parents, emitted, nameof(emitted), nameof(parents));
        Guard.Distinct(nodeTokens, accepted, nameof(accepted), nameof(nodeTokens));
        Guard.Distinct(nodeTokens, path, nameof(path), nameof(nodeTokens));
        Guard.Distinct(nodeTokens, emitted, nameof(emitted), nameof(nodeTokens));
        Guard.Distinct(accepted, path, nameof(path), nameof(accepted));
        Guard.Distinct(accepted, emitted, nameof(emitted), nameof(accepted));
        Guard.Distinct(path, emitted, nameof(emitted), nameof(path));
        if (PerRowKeys && uniforms is null)
            Guard.Buffer(runtime, keys, batch, nameof(keys));
        if (uniforms is not null)
        {
            Guard.Buffer(runtime, uniforms, nodeElements, nameof(uniforms));
            args.ExplicitUniforms = 1;
        }
        if (batch == 0)
            return unchecked(offset + OffsetsPerLaunch);
        if (runtime.IsIlgpu)
            LaunchIlgpu(runtime, target, draft, parents, nodeTokens, keys, uniforms, accepted, path, emitted, args);
        else
        {
            runtime.ThrowIfDisposed();
            _cpu((nint)target.Host, (nint)draft.Host, (nint)parents.Host, (nint)nodeTokens.Host, keys is null ? 0 : (nint)keys.Host,
                uniforms is null ? 0 : (nint)uniforms.Host, (nint)accepted.Host, (nint)path.Host, (nint)emitted.Host, args);
        }
        return unchecked(offset + OffsetsPerLaunch);
    }

    /// <summary>
    /// Runs on host memory: in place on the <c>cpu</c> backend, through temporary device buffers elsewhere. Same checks,
    /// outcomes and return value as <see cref="Launch"/>.
    /// </summary>
    public ulong Run(KernelRuntime runtime, ReadOnlySpan<float> target, ReadOnlySpan<float> draft, ReadOnlySpan<int> parents,
        ReadOnlySpan<int> nodeTokens, Span<int> accepted, Span<int> path, Span<int> emitted, int batch, int nodes, int cols,
        RngKey key = default, ReadOnlySpan<RngKey> keys = default, ulong offset = 0)
    {
        Guard.Runtime(runtime, nameof(runtime));
        var args = Arguments(runtime, batch, nodes, cols, key, offset);
        long rowElements = SpeculativeShape.Elements(batch, nodes, cols, nameof(nodes));
        long nodeElements = Guard.Elements(batch, nodes);
        Guard.Span(target.Length, rowElements, nameof(target));
        Guard.Span(draft.Length, rowElements, nameof(draft));
        Guard.Span(parents.Length, nodeElements, nameof(parents));
        Guard.Span(nodeTokens.Length, nodeElements, nameof(nodeTokens));
        Guard.Span(accepted.Length, batch, nameof(accepted));
        Guard.Span(path.Length, nodeElements, nameof(path));
        Guard.Span(emitted.Length, nodeElements, nameof(emitted));
        if (PerRowKeys)
            Guard.Span(keys.Length, batch, nameof(keys));
        if (batch == 0)
            return unchecked(offset + OffsetsPerLaunch);
        if (!runtime.IsIlgpu)
        {
            fixed (float* p = target, q = draft)
            fixed (int* up = parents, x = nodeTokens, n = accepted, w = path, e = emitted)
            fixed (RngKey* k = keys)
            {
                runtime.ThrowIfDisposed();
                _cpu((nint)p, (nint)q, (nint)up, (nint)x, (nint)k, 0, (nint)n, (nint)w, (nint)e, args);
            }
            return unchecked(offset + OffsetsPerLaunch);
        }
        using var targetBuffer = runtime.Upload(target[..(int)rowElements]);
        using var draftBuffer = runtime.Upload(draft[..(int)rowElements]);
        using var parentBuffer = runtime.Upload(parents[..(int)nodeElements]);
        using var tokenBuffer = runtime.Upload(nodeTokens[..(int)nodeElements]);
        using var acceptedBuffer = runtime.Allocate<int>(batch);
        using var pathBuffer = runtime.Allocate<int>((int)nodeElements);
        using var emittedBuffer = runtime.Allocate<int>((int)nodeElements);
        using var keyBuffer = PerRowKeys ? runtime.Upload(keys[..batch]) : null;
        ulong next = Launch(runtime, targetBuffer, draftBuffer, parentBuffer, tokenBuffer, acceptedBuffer, pathBuffer, emittedBuffer,
            batch, nodes, cols, key, keyBuffer, offset);
        acceptedBuffer.CopyTo(accepted[..batch]);
        pathBuffer.CopyTo(path[..(int)nodeElements]);
        emittedBuffer.CopyTo(emitted[..(int)nodeElements]);
        return next;
    }

    private DraftArgs Arguments(KernelRuntime runtime, int batch, int nodes, int cols, RngKey key, ulong offset)
    {
        Guard.AtLeast(batch, 0, nameof(batch));
        Guard.AtLeast(nodes, 1, nameof(nodes));
        Guard.AtLeast(cols, 1, nameof(cols));
        Rng.RequireFloat64(runtime, "Tree verification's float64 sums and accept tests need");
        return new DraftArgs
        {
            Batch = batch,
            Nodes = nodes,
            Cols = cols,
            Method = DraftRules.Tree,
            PerRowKeys = PerRowKeys ? 1 : 0,
            Key = key,
            Offset = offset,
        };
    }
}
