using System;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// MaskLLM's learnable N:M masks (Fang et al., "MaskLLM: Learnable Semi-Structured Sparsity for Large Language Models"):
/// each group of M weights has one logit per candidate pattern (the C(M, N) ways to keep N of M, <see cref="Candidates"/>),
/// a Gumbel-softmax over them gives a soft (or, straight-through, one-hot) choice y, and the group's mask is
/// m = Σ_c y_c·S_c. The Gumbel-softmax and its backward are the library's (<see cref="GumbelSoftmax"/>,
/// <see cref="GumbelSoftmaxStraightThrough"/>, <see cref="GumbelSoftmaxBackward"/>), with logit scale κ and temperature
/// τ: y = softmax((κ·gate + g)/τ), g Gumbel noise from <see cref="Rng"/> (group r uses stream key.Stream + r).
/// </summary>
public static class MaskLlm
{
    /// <summary>C(M, N): the number of candidate patterns of a group.</summary>
    public static int CandidateCount(NmPattern pattern)
    {
        pattern.CheckDefined(nameof(pattern));
        long c = 1;
        for (int i = 0; i < pattern.N; i++)
            c = c * (pattern.M - i) / (i + 1);
        return checked((int)c);
    }

    /// <summary>
    /// The candidate table S [C(M, N), M] of 0/1 masks, in lexicographic order of their kept positions (for 2:4:
    /// {0,1}, {0,2}, {0,3}, {1,2}, {1,3}, {2,3}).
    /// </summary>
    public static float[] Candidates(NmPattern pattern)
    {
        int count = CandidateCount(pattern), m = pattern.M;
        var table = new float[count * m];
        Span<int> kept = stackalloc int[pattern.N];
        for (int i = 0; i < pattern.N; i++)
            kept[i] = i;
        for (int c = 0; c < count; c++)
        {
            foreach (int k in kept)
                table[c * m + k] = 1f;
            // Next combination: bump the rightmost position that can move, reset those after it.
            int t = pattern.N - 1;
            while (t >= 0 && kept[t] == m - pattern.N + t)
                t--;
            if (t < 0)
                break;
            kept[t]++;
            for (int u = t + 1; u < pattern.N; u++)
                kept[u] = kept[u - 1] + 1;
        }
        return table;
    }

    /// <summary>
    /// Samples the masks of <paramref name="groups"/> groups from their candidate logits <paramref name="gates"/>
    /// [groups, C]: writes the soft sample y [groups, C] into <paramref name="soft"/> (kept for <see cref="Backward"/>) and
    /// the mask [groups, M] into <paramref name="mask"/>: Σ_c y_c·S_c (soft), or the chosen candidate itself
    /// (<paramref name="hard"/>: exactly N ones per group, straight-through gradient). Returns the offset for the next call.
    /// </summary>
    public static ulong Forward(KernelRuntime runtime, NmPattern pattern, ReadOnlySpan<float> gates, int groups, Span<float> soft, Span<float> mask,
        float tau, float kappa, RngKey key, ulong offset, bool hard)
    {
        Guard.Runtime(runtime, nameof(runtime));
        int c = CandidateCount(pattern);
        Guard.AtLeast(groups, 0, nameof(groups));
        Guard.PositiveFinite(tau, nameof(tau));
        Guard.PositiveFinite(kappa, nameof(kappa));
        Guard.Span(gates.Length, Guard.Elements(groups, c), nameof(gates));
        Guard.Span(mask.Length, Guard.Elements(groups, pattern.M), nameof(mask));
        Guard.Span(soft.Length, Guard.Elements(groups, c), nameof(soft));
        var table = Candidates(pattern);
        ulong next;
        if (hard)
        {
            var oneHot = new float[groups * c];
            next = GumbelSoftmaxStraightThrough.Kernel.Run(runtime, gates, oneHot, soft, groups, c, tau, key: key, offset: offset, scale: kappa);
            Mix(oneHot, table, groups, c, pattern.M, mask);
        }
        else
        {
            next = GumbelSoftmax.Kernel.Run(runtime, gates, soft, default, groups, c, tau, key: key, offset: offset, scale: kappa);
            Mix(soft, table, groups, c, pattern.M, mask);
        }
        return next;
    }

    /// <summary>
    /// The gradient of the candidate logits [groups, C] from the gradient of the mask [groups, M] (for W_eff = W ⊙ m,
    /// dL/dm = dL/dW_eff ⊙ W): dL/dy_c = Σ_i dL/dm_i·S_c,i, then the Gumbel-softmax backward through the soft sample that
    /// <see cref="Forward"/> wrote (soft and hard alike).
    /// </summary>
    public static void Backward(KernelRuntime runtime, NmPattern pattern, ReadOnlySpan<float> soft, ReadOnlySpan<float> maskGradient, int groups,
        Span<float> gateGradient, float tau, float kappa)
    {
        Guard.Runtime(runtime, nameof(runtime));
        int c = CandidateCount(pattern), m = pattern.M;
        Guard.AtLeast(groups, 0, nameof(groups));
        Guard.PositiveFinite(tau, nameof(tau));
        Guard.PositiveFinite(kappa, nameof(kappa));
        Guard.Span(maskGradient.Length, Guard.Elements(groups, m), nameof(maskGradient));
        Guard.Span(soft.Length, Guard.Elements(groups, c), nameof(soft));
        Guard.Span(gateGradient.Length, Guard.Elements(groups, c), nameof(gateGradient));
        var table = Candidates(pattern);
        var dy = new float[groups * c];
        for (int g = 0; g < groups; g++)
            for (int k = 0; k < c; k++)
            {
                float s = 0f;
                for (int i = 0; i < m; i++)
                    s += maskGradient[g * m + i] * table[k * m + i];
                dy[g * c + k] = s;
            }
        GumbelSoftmaxBackward.Run(runtime, soft, dy, gateGradient, groups, c, tau, scale: kappa);
    }

    /// <summary>
    /// The final mask [groups, M] (1 kept, 0 pruned): each group's most likely candidate, argmax of its logits (the lowest
    /// candidate index among equal logits; NaN logits are skipped, a group of all-NaN logits takes candidate 0).
    /// </summary>
    public static void Export(NmPattern pattern, ReadOnlySpan<float> gates, int groups, Span<byte> mask)
    {
        int c = CandidateCount(pattern), m = pattern.M;
        Guard.AtLeast(groups, 0, nameof(groups));
        Guard.Span(gates.Length, Guard.Elements(groups, c), nameof(gates));
        Guard.Span(mask.Length, Guard.Elements(groups, m), nameof(mask));
        var table = Candidates(pattern);
        for (int g = 0; g < groups; g++)
        {
            int best = 0;
            for (int k = 1; k < c; k++)
            {
                if (gates[g * c + k] > gates[g * c + best] || float.IsNaN(gates[g * c + best]))
                    best = k;
            }
            for (int i = 0; i < m; i++)
                mask[g * m + i] = (byte)table[best * m + i];
        }
    }

    private static void Mix(ReadOnlySpan<float> y, float[] table, int groups, int c, int m, Span<float> mask)
    {
        for (int g = 0; g < groups; g++)
            for (int i = 0; i < m; i++)
            {
                float s = 0f;
                for (int k = 0; k < c; k++)
                    s += y[g * c + k] * table[k * m + i];
                mask[g * m + i] = s;
            }
    }
}

/// <summary>
/// The SR-STE backward (Zhou et al., "Learning N:M Fine-grained Structured Sparse Neural Networks From Scratch"): the
/// gradient of the sparse forward W̃ = W ⊙ m reaches the dense weights straight through, plus a decay of the pruned
/// weights, dW = dW̃ + λ·(1 − m) ⊙ W.
/// </summary>
public static class SrSte
{
    /// <summary>Writes dW = dW̃ + λ·(1 − m) ⊙ W over <paramref name="gradient"/> (all spans of equal length; mask 0 or 1).</summary>
    public static void Backward(ReadOnlySpan<float> sparseGradient, ReadOnlySpan<float> weights, ReadOnlySpan<byte> mask, float lambda, Span<float> gradient)
    {
        int n = gradient.Length;
        Guard.Span(sparseGradient.Length, n, nameof(sparseGradient));
        Guard.Span(weights.Length, n, nameof(weights));
        Guard.Span(mask.Length, n, nameof(mask));
        if (!float.IsFinite(lambda) || lambda < 0f)
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "lambda must be finite and at least 0 (the paper uses 2e-4).");
        for (int i = 0; i < n; i++)
            gradient[i] = mask[i] != 0 ? sparseGradient[i] : sparseGradient[i] + lambda * weights[i];
    }
}
