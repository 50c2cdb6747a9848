using System;
using System.Collections.Generic;
using System.Linq;

namespace Kernels.Tests.Speculative;

/// <summary>
/// Plain float64 branch enumerators for multi-draft and tree verification, written from the algorithms' definitions
/// (explicit residual arrays, renormalised restricted drafts), not from the kernels: every accept/reject branch and every
/// final token of one draft tuple or tree, with uniforms inside that branch and its probability.
/// </summary>
public static class MultiDraftReference
{
    /// <summary>One branch: the uniforms that select it (counter c at index c), its probability, the accepted slot (−1: none) and the token.</summary>
    public sealed record Branch(UniformBox Box, double Weight, int Slot, int Token, double Width)
    {
        /// <summary>Uniforms inside the branch (the midpoints of its box).</summary>
        public double[] Uniforms => Box.Mid;
    }

    /// <summary>
    /// RSD's branches for drafts x_1..x_k (distinct, drawn without replacement): p_1 = p, q_1 = q; accept x_i with
    /// a_i = min(1, p_i(x_i)/q_i(x_i)); on rejection p_{i+1} = norm(max(0, p_i − q_i)), q_{i+1} = q_i without x_i,
    /// renormalised; then the final draw from p_{k+1}.
    /// </summary>
    public static List<Branch> RecursiveRejection(double[] p, double[] q, int[] drafts)
    {
        var target = Normalise(p)!;
        var draft = Normalise(q)!;
        var branches = new List<Branch>();
        var u = UniformBox.Full(drafts.Length + 1);
        double reach = 1;
        for (int i = 0; i < drafts.Length && reach > 0; i++)
        {
            int x = drafts[i];
            double a = draft[x] > 0 ? Math.Min(1, target[x] / draft[x]) : target[x] > 0 ? 1 : 0;
            AcceptOrReject(branches, ref u, i, a, ref reach, x);
            var residual = Normalise(target.Zip(draft, (t, d) => Math.Max(0, t - d)).ToArray());
            if (residual != null) target = residual;
            draft[x] = 0;
            draft = Normalise(draft) ?? draft;
        }
        Final(branches, u, drafts.Length, reach, target);
        return branches;
    }

    /// <summary>
    /// K-SEQ's branches for i.i.d. drafts: accept x_i with a_i = min(1, p(x_i)/(ρ q(x_i))), then the final draw from
    /// max(0, p − min(q, p/ρ)·c(ρ)) normalised, with c(ρ) = (1 − (1 − β)^k)/β.
    /// </summary>
    public static List<Branch> KSeq(double[] p, double[] q, int[] drafts, double rho)
    {
        var target = Normalise(p)!;
        var draft = Normalise(q)!;
        int k = drafts.Length;
        var branches = new List<Branch>();
        var u = UniformBox.Full(k + 1);
        double reach = 1;
        for (int i = 0; i < k && reach > 0; i++)
        {
            int x = drafts[i];
            double a = draft[x] > 0 ? Math.Min(1, target[x] / (rho * draft[x])) : target[x] > 0 ? 1 : 0;
            AcceptOrReject(branches, ref u, i, a, ref reach, x);
        }
        double beta = target.Zip(draft, (t, d) => Math.Min(d, t / rho)).Sum();
        double c = (1 - Math.Pow(1 - beta, k)) / beta;
        var residual = Normalise(target.Zip(draft, (t, d) => Math.Max(0, t - Math.Min(d, t / rho) * c)).ToArray()) ?? target;
        Final(branches, u, k, reach, residual);
        return branches;
    }

    private static void AcceptOrReject(List<Branch> branches, ref UniformBox u, int i, double a, ref double reach, int token)
    {
        if (a > 0)
            branches.Add(new Branch(u.With(i, 0, a), reach * a, i, token, 1));
        u = u.With(i, a, 1); // reject and go on
        reach *= 1 - a;
    }

    private static void Final(List<Branch> branches, UniformBox u, int counter, double reach, double[] weights)
    {
        if (!(reach > 0))
            return;
        double total = weights.Sum(), running = 0;
        for (int v = 0; v < weights.Length; v++)
        {
            if (!(weights[v] > 0)) continue;
            var final = u.With(counter, running / total, (running + weights[v]) / total);
            running += weights[v];
            branches.Add(new Branch(final, reach * weights[v] / total, -1, v, weights[v] / total));
        }
    }

    /// <summary>The normalised copy of <paramref name="w"/>, or null when it has no mass.</summary>
    public static double[]? Normalise(double[] w)
    {
        double s = w.Sum();
        return s > 0 ? w.Select(v => v / s).ToArray() : null;
    }

    /// <summary>The ordered k-tuples of distinct tokens (without replacement) or of any tokens (with), with their probabilities under q.</summary>
    public static IEnumerable<(int[] Drafts, double Weight)> Tuples(double[] q, int k, bool withReplacement)
    {
        IEnumerable<(int[], double)> Grow(int[] prefix, double weight, double used)
        {
            if (prefix.Length == k) { yield return (prefix, weight); yield break; }
            for (int v = 0; v < q.Length; v++)
            {
                if (q[v] <= 0 || (!withReplacement && prefix.Contains(v))) continue;
                double pv = withReplacement ? q[v] : q[v] / (1 - used);
                foreach (var t in Grow(prefix.Append(v).ToArray(), weight * pv, withReplacement ? 0 : used + q[v])) yield return t;
            }
        }
        return Grow(Array.Empty<int>(), 1, 0);
    }

    /// <summary>One branch of a tree's verification: uniforms [N], probability, accepted path (node indices) and emitted tokens.</summary>
    public sealed record TreeBranch(UniformBox Box, double Weight, int[] Path, int[] Emitted, double Width)
    {
        /// <summary>Uniforms inside the branch (the midpoints of its box).</summary>
        public double[] Uniforms => Box.Mid;
    }

    /// <summary>
    /// A tree's branches: at each node, RSD over its children (in index order) against target[node] and draft[node];
    /// the test of child c uses uniform c − 1, the final draw uniform N − 1; a leaf emits its bonus token from target[leaf].
    /// </summary>
    public static List<TreeBranch> Tree(int[] parents, int[] tokens, double[][] target, double[][] draft)
    {
        int n = parents.Length;
        var result = new List<TreeBranch>();
        void Visit(int node, UniformBox u, double reach, List<int> path)
        {
            var children = Enumerable.Range(node + 1, n - node - 1).Where(c => parents[c] == node).ToArray();
            var local = children.Length == 0 ? new List<Branch>() : RecursiveRejection(target[node], draft[node], children.Select(c => tokens[c]).ToArray());
            if (children.Length == 0)
                Final(local, UniformBox.Full(1), 0, 1, Normalise(target[node])!);
            foreach (var b in local)
            {
                var uniforms = u;
                for (int j = 0; j < children.Length; j++) uniforms = uniforms.With(children[j] - 1, b.Box.Lo[j], b.Box.Hi[j]);
                uniforms = uniforms.With(n - 1, b.Box.Lo[children.Length], b.Box.Hi[children.Length]);
                if (b.Slot >= 0)
                    Visit(children[b.Slot], uniforms, reach * b.Weight, path.Append(children[b.Slot]).ToList());
                else
                    result.Add(new TreeBranch(uniforms, reach * b.Weight, path.ToArray(), path.Select(c => tokens[c]).Append(b.Token).ToArray(), b.Width));
            }
        }
        Visit(0, UniformBox.Full(n), 1, new List<int>());
        return result;
    }
}
