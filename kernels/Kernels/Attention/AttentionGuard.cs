using System;
using Kernels.Runtime;

namespace Kernels;

/// <summary>The checks every attention launcher makes on its query, key, value, output and LSE arguments.</summary>
internal static class AttentionGuard
{
    /// <summary>Buffers: live, on <paramref name="runtime"/>, long enough, the outputs distinct from the inputs and each other.</summary>
    public static void Buffers(KernelRuntime runtime, KernelBuffer<float> q, KernelBuffer<float> k, KernelBuffer<float> v,
        KernelBuffer<float> output, KernelBuffer<float> lse, long queryElements, long keyElements, long rows)
    {
        Guard.Buffer(runtime, q, queryElements, nameof(q));
        Guard.Buffer(runtime, k, keyElements, nameof(k));
        Guard.Buffer(runtime, v, keyElements, nameof(v));
        Guard.Buffer(runtime, output, queryElements, nameof(output));
        Guard.Buffer(runtime, lse, rows, nameof(lse));
        Guard.Distinct(q, output, nameof(output), nameof(q));
        Guard.Distinct(k, output, nameof(output), nameof(k));
        Guard.Distinct(v, output, nameof(output), nameof(v));
        Guard.Distinct(output, lse, nameof(lse), nameof(output));
    }

    /// <summary>
    /// Host spans: long enough, and the outputs overlapping neither the inputs (<paramref name="extra"/> is the bias or
    /// the sinks) nor each other.
    /// </summary>
    public static void Spans(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, Span<float> lse,
        ReadOnlySpan<float> extra, long queryElements, long keyElements, long rows)
    {
        Guard.Span(q.Length, queryElements, nameof(q));
        Guard.Span(k.Length, keyElements, nameof(k));
        Guard.Span(v.Length, keyElements, nameof(v));
        Guard.Span(output.Length, queryElements, nameof(output));
        Guard.Span(lse.Length, rows, nameof(lse));
        if (output.Overlaps(q) || output.Overlaps(k) || output.Overlaps(v) || output.Overlaps(extra))
            throw new ArgumentException("output must not overlap the inputs.", nameof(output));
        if (lse.Overlaps(output) || lse.Overlaps(q) || lse.Overlaps(k) || lse.Overlaps(v) || lse.Overlaps(extra))
            throw new ArgumentException("lse must not overlap the inputs or the output.", nameof(lse));
    }
}
