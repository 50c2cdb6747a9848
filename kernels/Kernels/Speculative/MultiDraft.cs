using System;

namespace Kernels;

/// <summary>
/// Multi-draft speculative verification on the host, in double: recursive rejection sampling over drafts drawn without
/// replacement (RSD, "Recursive Speculative Decoding"), K-SEQ over i.i.d. drafts (SpecTr) with ρ found by bisection, and
/// the optimal acceptance of any verifier for a draft law (the min-cut form of "Towards Optimal Multi-draft Speculative
/// Decoding"). These are the float64 references for one position (V up to a few thousand; the evaluator V ≤ 16) that the
/// kernels (<see cref="MultiDraftVerifier"/>, <see cref="TreeVerifier"/>, decisions in <see cref="DraftRules"/>) are
/// tested against; they keep explicit residual arrays, where the kernels compose the residuals into one scalar.
/// </summary>
/// <remarks>
/// Every verifier takes its uniforms explicitly (k for the accept tests, then one for the final draw), each in (0, 1):
/// the caller draws them, e.g. <c>Variates.Uniform(Rng.Block(key, i, offset).Low64)</c>, and a test can enumerate
/// branches. Distributions need not be normalised (they are normalised here); they must be finite and not negative.
/// </remarks>
public static class MultiDraft
{
    /// <summary>The result of verifying k drafts: the accepted slot (−1 when all were rejected) and the emitted token.</summary>
    /// <param name="Slot">The index of the accepted draft, or −1.</param>
    /// <param name="Token">The emitted token: the accepted draft, or the draw from the final residual.</param>
    public readonly record struct Decision(int Slot, int Token);

    /// <summary>
    /// Recursive rejection sampling over drafts x_1..x_k drawn from q without replacement, in order (Gumbel-top-k order):
    /// with p_1 = p and q_i = q restricted to V ∖ {x_1..x_{i−1}} and renormalised, accept x_i with probability
    /// min(1, p_i(x_i)/q_i(x_i)); on rejection p_{i+1} = norm(max(0, p_i − q_i)); when all are rejected, draw from
    /// p_{k+1}. The output follows p exactly. A residual whose mass rounds to 0 is replaced by the previous p_i (no NaN).
    /// </summary>
    /// <param name="p">Target distribution over V.</param>
    /// <param name="q">Draft distribution over V.</param>
    /// <param name="drafts">The k distinct drafts, in the order they were drawn.</param>
    /// <param name="uniforms">k + 1 uniforms in (0, 1): one per accept test, then the final draw.</param>
    public static Decision RecursiveRejection(ReadOnlySpan<double> p, ReadOnlySpan<double> q, ReadOnlySpan<int> drafts, ReadOnlySpan<double> uniforms)
    {
        int k = Check(p, q, drafts, uniforms, distinct: true);
        var target = Normalised(p);
        var draft = Normalised(q);
        for (int i = 0; i < k; i++)
        {
            int x = drafts[i];
            if (Accepts(uniforms[i], target[x], draft[x]))
                return new Decision(i, x);
            var residual = new double[target.Length];
            for (int v = 0; v < residual.Length; v++)
                residual[v] = Math.Max(0.0, target[v] - draft[v]);
            if (Normalise(residual))
                target = residual;
            double removed = draft[x];
            draft[x] = 0;
            if (removed < 1)
            {
                for (int v = 0; v < draft.Length; v++)
                    draft[v] /= 1 - removed;
            }
        }
        return new Decision(-1, InverseCdf(target, uniforms[k]));
    }

    /// <summary>The result of verifying a draft tree: the accepted nodes (root excluded) and the emitted tokens.</summary>
    /// <param name="AcceptedNodes">The accepted path, node indices from the root's child down.</param>
    /// <param name="Emitted">The accepted nodes' tokens, then the correction or bonus token.</param>
    public sealed record TreeDecision(int[] AcceptedNodes, int[] Emitted);

    /// <summary>
    /// Verifies a draft tree (RSD): node 0 is the root (the last committed position; its token is ignored), node n &gt; 0
    /// holds token <paramref name="tokens"/>[n] and parent <paramref name="parents"/>[n] &lt; n. The children of a node,
    /// in index order, are drafts drawn without replacement from <paramref name="draft"/>[node]; verification runs
    /// <see cref="RecursiveRejection"/> on them against <paramref name="target"/>[node], descends into the accepted child,
    /// and stops with the residual token, or with a bonus token from the target at a leaf. Uniform j of node n is
    /// <paramref name="uniform"/>(n, j). Every emitted token follows the target given the tokens before it.
    /// </summary>
    public static TreeDecision TreeVerify(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens, double[][] target, double[][] draft, Func<int, int, double> uniform)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(uniform);
        int nodes = parents.Length;
        if (nodes < 1 || tokens.Length != nodes || target.Length != nodes || draft.Length != nodes)
            throw new ArgumentException("parents, tokens, target and draft must describe the same non-empty set of nodes.", nameof(parents));
        for (int n = 1; n < nodes; n++)
        {
            if (parents[n] < 0 || parents[n] >= n)
                throw new ArgumentOutOfRangeException(nameof(parents), parents[n], $"node {n}'s parent must precede it.");
        }
        var path = new System.Collections.Generic.List<int>();
        var emitted = new System.Collections.Generic.List<int>();
        int node = 0;
        while (true)
        {
            var children = new System.Collections.Generic.List<int>();
            for (int c = node + 1; c < nodes; c++)
                if (parents[c] == node) children.Add(c);
            int k = children.Count;
            var u = new double[k + 1];
            for (int j = 0; j <= k; j++) u[j] = uniform(node, j);
            if (k == 0)
            {
                emitted.Add(InverseCdf(Normalised(target[node]), u[0]));
                return new TreeDecision(path.ToArray(), emitted.ToArray());
            }
            var drafts = new int[k];
            for (int j = 0; j < k; j++) drafts[j] = tokens[children[j]];
            var decision = RecursiveRejection(target[node], draft[node], drafts, u);
            emitted.Add(decision.Token);
            if (decision.Slot < 0)
                return new TreeDecision(path.ToArray(), emitted.ToArray());
            node = children[decision.Slot];
            path.Add(node);
        }
    }

    /// <summary>
    /// K-SEQ (SpecTr) over k i.i.d. drafts from q: with β(ρ) = Σ min(q, p/ρ), accept X_i with probability
    /// min(1, p(X_i)/(ρ·q(X_i))), the first acceptance winning; when none is accepted, draw from
    /// p_res = (p − min(q, p/ρ)·c(ρ)) / (1 − β)^k with c(ρ) = (1 − (1 − β)^k)/β. ρ is <see cref="KSeqRho"/>'s. The output
    /// follows p exactly and the acceptance is 1 − (1 − β(ρ))^k; k = 1 is plain speculative sampling.
    /// </summary>
    public static Decision KSeq(ReadOnlySpan<double> p, ReadOnlySpan<double> q, ReadOnlySpan<int> drafts, ReadOnlySpan<double> uniforms) =>
        KSeq(p, q, drafts, uniforms, KSeqRho(p, q, drafts.Length));

    /// <summary><see cref="KSeq(ReadOnlySpan{double}, ReadOnlySpan{double}, ReadOnlySpan{int}, ReadOnlySpan{double})"/> with a given ρ (it must satisfy c(ρ) ≤ ρ).</summary>
    public static Decision KSeq(ReadOnlySpan<double> p, ReadOnlySpan<double> q, ReadOnlySpan<int> drafts, ReadOnlySpan<double> uniforms, double rho)
    {
        int k = Check(p, q, drafts, uniforms, distinct: false);
        if (!(rho >= 1))
            throw new ArgumentOutOfRangeException(nameof(rho), rho, "rho must be at least 1.");
        var target = Normalised(p);
        var draft = Normalised(q);
        for (int i = 0; i < k; i++)
        {
            int x = drafts[i];
            if (Accepts(uniforms[i], target[x] / rho, draft[x]))
                return new Decision(i, x);
        }
        double beta = Beta(target, draft, rho);
        double c = C(beta, k);
        var residual = new double[target.Length];
        for (int v = 0; v < residual.Length; v++)
            residual[v] = Math.Max(0.0, target[v] - Math.Min(draft[v], target[v] / rho) * c); // ≥ 0 up to rounding when c ≤ ρ
        if (!Normalise(residual))
            residual = target;
        return new Decision(-1, InverseCdf(residual, uniforms[k]));
    }

    /// <summary>
    /// ρ* for K-SEQ with k drafts: the smallest ρ in [1, k] with c(ρ) ≤ ρ, by bisection (β decreases in ρ, so c(ρ) − ρ
    /// changes sign once); 1 for k = 1.
    /// </summary>
    public static double KSeqRho(ReadOnlySpan<double> p, ReadOnlySpan<double> q, int k)
    {
        if (k < 1)
            throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1.");
        var target = Normalised(p);
        var draft = Normalised(q);
        bool Valid(double rho) => C(Beta(target, draft, rho), k) <= rho;
        if (Valid(1.0))
            return 1.0;
        double lo = 1.0, hi = k;
        for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; i++)
        {
            double mid = 0.5 * (lo + hi);
            if (Valid(mid)) hi = mid; else lo = mid;
        }
        return hi;
    }

    /// <summary>β(ρ) = Σ min(q, p/ρ) of normalised p and q.</summary>
    public static double KSeqBeta(ReadOnlySpan<double> p, ReadOnlySpan<double> q, double rho) => Beta(Normalised(p), Normalised(q), rho);

    /// <summary>K-SEQ's acceptance probability with k drafts at ρ*: 1 − (1 − β(ρ*))^k.</summary>
    public static double KSeqAcceptance(ReadOnlySpan<double> p, ReadOnlySpan<double> q, int k) =>
        1 - Math.Pow(1 - KSeqBeta(p, q, KSeqRho(p, q, k)), k);

    /// <summary>
    /// The best acceptance any verifier can reach when the k drafts are drawn from q with replacement (i.i.d.) or without
    /// it (in Gumbel-top-k order), and the output must follow p: min over H ⊆ V of 1 − p(H) + P(some draft in H)
    /// (max-flow/min-cut of the coupling). Exhaustive over subsets: V ≤ 16. Without replacement needs k ≤ |supp q|.
    /// </summary>
    public static double OptimalAcceptance(ReadOnlySpan<double> p, ReadOnlySpan<double> q, int k, bool withReplacement)
    {
        if (p.Length != q.Length)
            throw new ArgumentException("p and q differ in length.", nameof(q));
        if (p.Length is < 1 or > 16)
            throw new ArgumentOutOfRangeException(nameof(p), p.Length, "the exhaustive evaluator takes 1 ≤ V ≤ 16.");
        if (k < 1)
            throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1.");
        var target = Normalised(p);
        var draft = Normalised(q);
        int v = target.Length;
        int support = 0;
        foreach (double x in draft) if (x > 0) support++;
        if (!withReplacement && k > support)
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k drafts without replacement need at least k tokens with q > 0 ({support}).");
        double best = 1.0;
        for (int h = 0; h < 1 << v; h++)
        {
            double pH = 0, qH = 0;
            for (int i = 0; i < v; i++)
            {
                if ((h >> i & 1) != 0)
                {
                    pH += target[i];
                    qH += draft[i];
                }
            }
            double miss = withReplacement ? Math.Pow(Math.Max(0, 1 - qH), k) : AllOutside(draft, h, 0, k, new System.Collections.Generic.Dictionary<int, double>());
            best = Math.Min(best, 1 - pH + (1 - miss));
        }
        return Math.Max(0, best);
    }

    // P(the next r draws without replacement all avoid H | tokens in 'used' already drawn), memoised on 'used'.
    private static double AllOutside(double[] q, int h, int used, int r, System.Collections.Generic.Dictionary<int, double> memo)
    {
        if (r == 0)
            return 1;
        if (memo.TryGetValue(used, out double known))
            return known;
        double left = 1;
        for (int i = 0; i < q.Length; i++)
            if ((used >> i & 1) != 0) left -= q[i];
        double sum = 0;
        for (int i = 0; i < q.Length; i++)
        {
            if ((h >> i & 1) != 0 || (used >> i & 1) != 0 || q[i] <= 0)
                continue;
            sum += q[i] / left * AllOutside(q, h, used | 1 << i, r - 1, memo);
        }
        memo[used] = sum;
        return sum;
    }

    private static double Beta(double[] p, double[] q, double rho)
    {
        double sum = 0;
        for (int v = 0; v < p.Length; v++)
            sum += Math.Min(q[v], p[v] / rho);
        return sum;
    }

    // c(ρ) = (1 − (1 − β)^k)/β, with its limit k at β = 0.
    private static double C(double beta, int k) => beta > 0 ? (1 - Math.Pow(1 - beta, k)) / beta : k;

    // Accept with probability min(1, p/q) (q = 0: accept iff p > 0), as chain verification does.
    private static bool Accepts(double u, double p, double q) => u * q < p;

    private static int Check(ReadOnlySpan<double> p, ReadOnlySpan<double> q, ReadOnlySpan<int> drafts, ReadOnlySpan<double> uniforms, bool distinct)
    {
        if (p.Length != q.Length || p.Length == 0)
            throw new ArgumentException("p and q must be non-empty and of the same length.", nameof(q));
        int k = drafts.Length;
        if (k < 1)
            throw new ArgumentException("at least one draft is needed.", nameof(drafts));
        if (uniforms.Length < k + 1)
            throw new ArgumentException($"uniforms holds {uniforms.Length} values; k + 1 = {k + 1} are needed.", nameof(uniforms));
        for (int i = 0; i < k; i++)
        {
            if ((uint)drafts[i] >= (uint)p.Length)
                throw new ArgumentOutOfRangeException(nameof(drafts), drafts[i], $"draft {i} is outside [0, V).");
            for (int j = 0; distinct && j < i; j++)
            {
                if (drafts[j] == drafts[i])
                    throw new ArgumentException($"drafts {j} and {i} are the same token; drafts without replacement are distinct.", nameof(drafts));
            }
        }
        return k;
    }

    private static double[] Normalised(ReadOnlySpan<double> values)
    {
        var result = values.ToArray();
        foreach (double x in result)
        {
            if (!(x >= 0) || double.IsInfinity(x))
                throw new ArgumentException("probabilities must be finite and not negative.");
        }
        if (!Normalise(result))
            throw new ArgumentException("a distribution has no mass.");
        return result;
    }

    private static bool Normalise(double[] values)
    {
        double total = 0;
        foreach (double x in values) total += x;
        if (!(total > 0))
            return false;
        for (int i = 0; i < values.Length; i++)
            values[i] /= total;
        return true;
    }

    private static int InverseCdf(double[] weights, double u)
    {
        double running = 0;
        int last = -1;
        for (int v = 0; v < weights.Length; v++)
        {
            if (weights[v] <= 0)
                continue;
            running += weights[v];
            last = v;
            if (running > u)
                return v;
        }
        return last; // rounding left u at the total: the last token with mass
    }
}
