using System.Collections.Generic;
using ILGPU;
using ILGPU.Runtime;
using Kernels.Runtime;

namespace Kernels;

/// <summary>What one batch computed, kept for tests: the layout and the two states (virtual layout) before the merge.</summary>
internal sealed class HyperAttentionTrace
{
    public readonly List<(HyperBatch Batch, HyperAttentionLayout Layout, float[] BlockOutput, float[] BlockLse, float[]? ResidualOutput, float[]? ResidualLse)> Batches = new();
}

/// <summary>
/// The device steps of HyperAttention, each dispatched on the runtime's backend: hash, gather/scatter of rows, and one
/// batch's attention — the diagonal blocks and the masked residual through <see cref="BlockAttention"/>, merged by
/// <see cref="AttentionMerge"/>, then written (or merged) into the state rows of the batch's queries.
/// </summary>
internal static unsafe class HyperAttentionSteps
{
    public static int[] Hash(KernelRuntime runtime, KernelBuffer<float> x, KernelBuffer<float> projection, int rows, int dim, int bits)
    {
        if (rows == 0)
            return System.Array.Empty<int>();
        using var hashes = runtime.Allocate<int>(rows);
        var args = new HyperAttentionArgs { Rows = rows, Width = dim, Bits = bits };
        if (runtime.IsIlgpu)
            HashIlgpu(runtime, x, projection, hashes, args);
        else
            HyperAttentionCpu.Hash((nint)x.Host, (nint)projection.Host, (nint)hashes.Host, args);
        return hashes.ToArray();
    }

    private static void HashIlgpu(KernelRuntime runtime, KernelBuffer<float> x, KernelBuffer<float> projection, KernelBuffer<int> hashes, HyperAttentionArgs args)
    {
        var kernel = runtime.GetKernel((typeof(HyperAttentionDevice), nameof(HyperAttentionDevice.HashKernel)), accelerator =>
            accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, HyperAttentionArgs>(HyperAttentionDevice.HashKernel));
        int groups = (args.Rows + runtime.GroupSize - 1) / runtime.GroupSize;
        runtime.LaunchAndWait(() => kernel(new KernelConfig(groups, runtime.GroupSize), x.View, projection.View, hashes.View, args));
    }

    /// <summary>Gather (dst row r = src row index[r], <paramref name="fill"/> for −1) or scatter (dst row index[r] = src row r).</summary>
    public static void Move(KernelRuntime runtime, KernelBuffer<float> src, KernelBuffer<float> dst, KernelBuffer<int> index, int rows, int width,
        bool scatter, float fill = 0f)
    {
        if (rows == 0)
            return;
        var args = new HyperAttentionArgs { Rows = rows, Width = width, Scatter = scatter ? 1 : 0, Fill = fill };
        if (runtime.IsIlgpu)
            MoveIlgpu(runtime, src, dst, index, args);
        else
            HyperAttentionCpu.Move((nint)src.Host, (nint)dst.Host, (nint)index.Host, args);
    }

    private static void MoveIlgpu(KernelRuntime runtime, KernelBuffer<float> src, KernelBuffer<float> dst, KernelBuffer<int> index, HyperAttentionArgs args)
    {
        var kernel = runtime.GetKernel((typeof(HyperAttentionDevice), nameof(HyperAttentionDevice.MoveKernel)), accelerator =>
            accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, HyperAttentionArgs>(HyperAttentionDevice.MoveKernel));
        runtime.LaunchAndWait(() => kernel(new KernelConfig(args.Rows, runtime.GroupSize), src.View, dst.View, index.View, args));
    }

    /// <summary>One batch: gathers, diagonal blocks, residual, merge, then the state rows of its queries.</summary>
    public static void Attend(KernelRuntime runtime, BlockAttentionKernel attention, KernelBuffer<float> q, KernelBuffer<float> k, KernelBuffer<float> v,
        KernelBuffer<float> output, KernelBuffer<float> lse, HyperBatch batch, HyperAttentionLayout layout, int d, float scale,
        HyperAttentionTrace? trace)
    {
        int heads = layout.VirtualHeads, rows = layout.VirtualRows, qb = layout.QueryBlock, b = layout.KeyBlock, s = layout.Samples;
        using var queryIndex = runtime.Upload<int>(layout.QueryIndex);
        using var keyIndex = runtime.Upload<int>(layout.KeyIndex);
        using var qv = runtime.Allocate<float>((long)rows * d);
        using var kv = runtime.Allocate<float>((long)layout.KeyIndex.Length * d);
        using var vv = runtime.Allocate<float>((long)layout.KeyIndex.Length * d);
        Move(runtime, q, qv, queryIndex, rows, d, scatter: false);
        Move(runtime, k, kv, keyIndex, layout.KeyIndex.Length, d, scatter: false);
        Move(runtime, v, vv, keyIndex, layout.KeyIndex.Length, d, scatter: false);
        using var virtualHead = layout.DiagonalTable is not null || s > 0 ? runtime.Upload<int>(layout.VirtualHead) : null;

        // Diagonal blocks: virtual head v·Blocks + t attends its QueryBlock queries to its KeyBlock keys.
        using var blockOutput = runtime.Allocate<float>((long)rows * d);
        using var blockLse = runtime.Allocate<float>(rows);
        using var diagonalBias = layout.DiagonalTable is { } table ? Broadcast(runtime, table, virtualHead!, rows, b) : null;
        var options = new BlockAttentionOptions { Scale = scale, Causal = batch.Mode == HyperMode.ExactCausal };
        attention.Launch(runtime, qv, kv, vv, blockOutput, blockLse, new AttentionShape(heads, heads, qb, b, d), options, diagonalBias);

        float[]? residualOutput = null, residualLse = null;
        if (s > 0)
        {
            // Residual: every virtual head of a segment shares the segment's sampled keys (as grouped-query heads), and
            // the bias masks the samples in the block's own keys and adds ln(n/s) to the others.
            using var sampleIndex = runtime.Upload<int>(layout.SampleIndex);
            using var ks = runtime.Allocate<float>((long)layout.SampleIndex.Length * d);
            using var vs = runtime.Allocate<float>((long)layout.SampleIndex.Length * d);
            Move(runtime, k, ks, sampleIndex, layout.SampleIndex.Length, d, scatter: false);
            Move(runtime, v, vs, sampleIndex, layout.SampleIndex.Length, d, scatter: false);
            using var residualBias = Broadcast(runtime, layout.SampleTable!, virtualHead!, rows, s);
            using var sampledOutput = runtime.Allocate<float>((long)rows * d);
            using var sampledLse = runtime.Allocate<float>(rows);
            attention.Launch(runtime, qv, ks, vs, sampledOutput, sampledLse, new AttentionShape(heads, layout.Segments, qb, s, d),
                new BlockAttentionOptions { Scale = scale }, residualBias);
            if (trace is not null)
            {
                residualOutput = sampledOutput.ToArray();
                residualLse = sampledLse.ToArray();
            }
            if (trace is not null)
                trace.Batches.Add((batch, layout, blockOutput.ToArray(), blockLse.ToArray(), residualOutput, residualLse));
            AttentionMerge.LaunchInPlace(runtime, blockOutput, blockLse, sampledOutput, sampledLse, rows, d);
        }
        else
            trace?.Batches.Add((batch, layout, blockOutput.ToArray(), blockLse.ToArray(), null, null));

        if (!batch.First)
        {
            // Merge into the state the earlier batches left in these queries' rows.
            using var stateOutput = runtime.Allocate<float>((long)rows * d);
            using var stateLse = runtime.Allocate<float>(rows);
            Move(runtime, output, stateOutput, queryIndex, rows, d, scatter: false);
            Move(runtime, lse, stateLse, queryIndex, rows, 1, scatter: false, fill: float.NegativeInfinity);
            AttentionMerge.LaunchInPlace(runtime, blockOutput, blockLse, stateOutput, stateLse, rows, d);
        }
        Move(runtime, blockOutput, output, queryIndex, rows, d, scatter: true);
        Move(runtime, blockLse, lse, queryIndex, rows, 1, scatter: true);
    }

    // A table [virtual heads, width] repeated over each virtual head's query rows: [rows, width].
    private static KernelBuffer<float> Broadcast(KernelRuntime runtime, float[] table, KernelBuffer<int> virtualHead, int rows, int width)
    {
        using var source = runtime.Upload<float>(table);
        var bias = runtime.Allocate<float>((long)rows * width);
        Move(runtime, source, bias, virtualHead, rows, width, scatter: false);
        return bias;
    }
}
