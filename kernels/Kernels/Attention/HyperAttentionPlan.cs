using System.Collections.Generic;
using System.Linq;

namespace Kernels;

/// <summary>How a batch of segments is attended.</summary>
internal enum HyperMode
{
    /// <summary>sortLSH blocks plus the sampled residual.</summary>
    Hyper,

    /// <summary>Exact attention, every query to every key of its segment.</summary>
    Exact,

    /// <summary>Exact causal attention within the segment (queries and keys are the same tokens).</summary>
    ExactCausal,
}

/// <summary>One attention problem of a batch: queries [QueryStart, +Queries) of head Head against keys [KeyStart, +Keys) of KvHead.</summary>
internal readonly record struct HyperSegment(int Head, int KvHead, int QueryStart, int KeyStart, int Pair);

/// <summary>Segments of equal sizes attended together (as extra heads); First when they write the state rather than merge into it.</summary>
internal sealed record HyperBatch(HyperMode Mode, int Queries, int Keys, HyperSegment[] Segments, bool First);

/// <summary>
/// The schedule of a HyperAttention call, built on the host: the causal recursion of the reference (split in halves
/// until at most MinSeqLen tokens; the lower half's queries attend non-causally to the upper half's keys, merged into the
/// lower half's state) unrolled into a loop over levels, so no kernel recurses. The leaves (exact causal attention) come
/// first and write the state; the off-diagonal pairs of one level have disjoint queries and run as one batch.
/// </summary>
internal static class HyperAttentionPlan
{
    public static List<HyperBatch> Build(AttentionShape shape, bool causal, HyperAttentionOptions options)
    {
        int group = shape.Heads / shape.KvHeads;
        HyperSegment[] ForHeads(int queryStart, int keyStart, int pair) =>
            Enumerable.Range(0, shape.Heads).Select(h => new HyperSegment(h, h / group, queryStart, keyStart, pair)).ToArray();

        var batches = new List<HyperBatch>();
        if (!causal)
        {
            var mode = shape.Queries < options.MinSeqLen ? HyperMode.Exact : HyperMode.Hyper;
            batches.Add(new HyperBatch(mode, shape.Queries, shape.Keys, ForHeads(0, 0, 0), First: true));
            return batches;
        }

        // Breadth-first over intervals (start, length): one level at a time.
        var leaves = new List<(int Start, int Length)>();
        var pairs = new List<(int Level, int Start, int Half, int Length)>();
        var level = new List<(int Start, int Length)> { (0, shape.Queries) };
        for (int depth = 0; level.Count > 0; depth++)
        {
            var next = new List<(int Start, int Length)>();
            foreach (var (start, length) in level)
            {
                if (length <= options.MinSeqLen)
                {
                    leaves.Add((start, length));
                    continue;
                }
                int half = length / 2;
                pairs.Add((depth, start, half, length));
                next.Add((start, half));
                next.Add((start + half, length - half));
            }
            level = next;
        }
        foreach (var sizes in leaves.GroupBy(l => l.Length))
            batches.Add(new HyperBatch(HyperMode.ExactCausal, sizes.Key, sizes.Key,
                sizes.SelectMany(l => ForHeads(l.Start, l.Start, 0)).ToArray(), First: true));
        int pairIndex = 0;
        foreach (var sizes in pairs.GroupBy(p => (p.Level, Queries: p.Length - p.Half, Keys: p.Half)))
        {
            var segments = sizes.SelectMany(p => ForHeads(p.Start + p.Half, p.Start, pairIndex++)).ToArray();
            var mode = sizes.Key.Queries < options.MinSeqLen ? HyperMode.Exact : HyperMode.Hyper;
            batches.Add(new HyperBatch(mode, sizes.Key.Queries, sizes.Key.Keys, segments, First: false));
        }
        return batches;
    }
}
