using System.Runtime.Intrinsics;

namespace Kernels;

/// <summary>
/// The weight of a column in a pass over a (p, q) pair of rows: the target p, RSD's residual max(0, p − A·q), K-SEQ's
/// β term min(B·q, C·p) or K-SEQ's residual max(0, A·p − min(B·q, C·p)·D). The scalar and vector forms do the same
/// double operations, so both backends weigh every column with the same bits.
/// </summary>
public readonly struct Residual
{
    private const int TargetMode = 0, RrsMode = 1, BetaMode = 2, KSeqMode = 3;
    private readonly int _mode;
    private readonly double _a, _b, _c, _d;

    private Residual(int mode, double a, double b, double c, double d)
    {
        _mode = mode;
        _a = a;
        _b = b;
        _c = c;
        _d = d;
    }

    /// <summary>p itself (q is not read).</summary>
    public static Residual Target => new(TargetMode, 0, 0, 0, 0);

    /// <summary>max(0, p − scale·q): RSD's residual after rejections (scale &gt; 0).</summary>
    public static Residual Rrs(double scale) => new(RrsMode, scale, 0, 0, 0);

    /// <summary>min(q·invQ, p·invPRho): K-SEQ's β(ρ) term with invPRho = 1/(Σp·ρ).</summary>
    public static Residual Beta(double invQ, double invPRho) => new(BetaMode, 0, invQ, invPRho, 0);

    /// <summary>max(0, p·invP − min(q·invQ, p·invPRho)·c): K-SEQ's final residual.</summary>
    public static Residual KSeq(double invP, double invQ, double invPRho, double c) => new(KSeqMode, invP, invQ, invPRho, c);

    /// <summary>Whether the q row is read.</summary>
    public bool ReadsDraft => _mode != TargetMode;

    /// <summary>The weight of one column.</summary>
    public double Weight(float p, float q)
    {
        if (_mode == TargetMode)
            return p;
        if (_mode == RrsMode)
            return Max0(p - _a * q);
        double a = q * _b, b = p * _c;
        double m = a < b ? a : b;
        return _mode == BetaMode ? m : Max0(p * _a - m * _d);
    }

    /// <summary>The weights of four columns (widened from float), as <see cref="Weight(float, float)"/> does them.</summary>
    public Vector256<double> Weight(Vector256<double> p, Vector256<double> q)
    {
        if (_mode == TargetMode)
            return p;
        if (_mode == RrsMode)
            return Vector256.Max(p - Vector256.Create(_a) * q, Vector256<double>.Zero);
        var m = Vector256.Min(q * Vector256.Create(_b), p * Vector256.Create(_c));
        return _mode == BetaMode ? m : Vector256.Max(p * Vector256.Create(_a) - m * Vector256.Create(_d), Vector256<double>.Zero);
    }

    private static double Max0(double x) => x > 0.0 ? x : 0.0;
}

/// <summary>The sums of a node's p and q rows, and whether every value read was finite and not negative.</summary>
public struct RowSums
{
    /// <summary>Σ p.</summary>
    public double P;

    /// <summary>Σ q (0 when q was not read).</summary>
    public double Q;

    /// <summary>Whether every value read was usable.</summary>
    public bool Valid;
}

/// <summary>
/// One row of a verification launch as the decisions see it: a tree of nodes (node 0 the root) with tokens and parents,
/// p and q rows per node, and the row's uniforms. The ILGPU side implements the passes serially, the CPU side eight
/// lanes at a time.
/// </summary>
public interface IDraftRow
{
    /// <summary>Vocabulary size.</summary>
    int Cols { get; }

    /// <summary>The token of node <paramref name="node"/> ≥ 1.</summary>
    int Token(int node);

    /// <summary>The parent of node <paramref name="node"/> (−1 for the root).</summary>
    int Parent(int node);

    /// <summary>Uniform <paramref name="counter"/> of the row, in (0, 1).</summary>
    double Uniform(int counter);

    /// <summary>p of node <paramref name="node"/> at column <paramref name="col"/>.</summary>
    float P(int node, int col);

    /// <summary>q of node <paramref name="node"/> at column <paramref name="col"/>.</summary>
    float Q(int node, int col);

    /// <summary>Sums node <paramref name="node"/>'s p row (and q row when <paramref name="withDraft"/>) and checks every value.</summary>
    RowSums Scan(int node, bool withDraft);

    /// <summary>Σ of <paramref name="weights"/> over node <paramref name="node"/>'s columns.</summary>
    double Total(int node, Residual weights);

    /// <summary>
    /// The inverse-CDF draw of <paramref name="weights"/> with uniform <paramref name="u"/>: the first column whose running
    /// sum exceeds u·Σ (the last column with weight when rounding leaves u·Σ at the total); −1 when Σ is not positive.
    /// </summary>
    int Draw(int node, Residual weights, double u);
}

/// <summary>The outcome of one RSD step at a node: the accepted child (−1: none), and the emitted token (−1: invalid).</summary>
public struct DraftStep
{
    /// <summary>The accepted child node, or −1 when every child was rejected and <see cref="Token"/> is the residual draw.</summary>
    public int Child;

    /// <summary>The accepted child's token or the residual draw; −1 when the row is invalid.</summary>
    public int Token;
}

/// <summary>The outcome of verifying a tree: the last accepted node (0: none), its depth, and the final token (−1: invalid).</summary>
public struct TreeOutcome
{
    /// <summary>The deepest accepted node (0 when the root's children were all rejected).</summary>
    public int Last;

    /// <summary>The number of accepted nodes (the depth of <see cref="Last"/>); −1 when the row is invalid.</summary>
    public int Depth;

    /// <summary>The correction (residual) or bonus token emitted after the accepted path; −1 when the row is invalid.</summary>
    public int Token;
}

/// <summary>
/// The decisions of multi-draft and tree verification, written once over <see cref="IDraftRow"/> so that the ILGPU and
/// CPU kernels take them with the same code (the host-side <see cref="MultiDraft"/> is the independent float64 reference).
/// </summary>
/// <remarks>
/// <para><b>RSD</b> (recursive rejection sampling over children drawn without replacement, in index order): with
/// p_1 = p and q_i = q restricted to the children not yet tried and renormalised, child x_i is accepted with probability
/// min(1, p_i(x_i)/q_i(x_i)), and on rejection p_{i+1} = norm(max(0, p_i − q_i)). Since q ≥ 0, the residuals compose:
/// p_{i+1} ∝ max(0, p − S_i·q) with S_i = Σ_{j≤i} Z_j/D_j, Z_j the mass of the unnormalised residual and D_j = Σq minus
/// the q of the children tried before — so a row is verified with three scalars and one pass over V per rejection, no
/// scratch row. (The restriction of q drops only columns whose residual is already 0: a child can be rejected only where
/// p_i &lt; q_i.) A residual whose mass rounds to 0 leaves S unchanged (no NaN).</para>
/// <para><b>K-SEQ</b>: β(ρ) = Σ min(q/Σq, p/(Σp·ρ)), c(ρ) = (1 − (1 − β)^k)/β; ρ = 1 when c(1) ≤ 1 (k = 1), else
/// <see cref="Bisections"/> bisection steps on [1, k] keeping the valid end (c(ρ) ≤ ρ). Draft i is accepted when
/// u_i·q(x)/Σq &lt; p(x)/(Σp·ρ); with none accepted the token is drawn from max(0, p/Σp − min(q/Σq, p/(Σp·ρ))·c) (p when
/// that has no mass).</para>
/// <para><b>Uniforms</b>: the test of node c uses counter c − 1, the final draw counter N − 1 (N nodes; a multi-draft row
/// has N = k + 1), each used at most once on any path. A chain-shaped tree therefore uses the counters of
/// <see cref="ChainVerifier"/>.</para>
/// </remarks>
public static class DraftRules
{
    /// <summary><see cref="DraftArgs.Method"/> of RSD multi-draft verification.</summary>
    public const int RecursiveRejection = 0;

    /// <summary><see cref="DraftArgs.Method"/> of K-SEQ multi-draft verification.</summary>
    public const int KSeq = 1;

    /// <summary><see cref="DraftArgs.Method"/> of tree verification.</summary>
    public const int Tree = 2;

    /// <summary>Bisection steps for K-SEQ's ρ: the interval [1, k] shrinks to (k − 1)·2^-48.</summary>
    public const int Bisections = 48;

    /// <summary>RSD over the children of <paramref name="node"/> (a tree of <paramref name="nodes"/> nodes), given its row sums.</summary>
    public static DraftStep RecursiveRejectionStep<TRow>(TRow row, int node, int nodes, RowSums sums) where TRow : struct, IDraftRow
    {
        double scale = 0.0, mass = sums.P, draftMass = sums.Q;
        var step = new DraftStep { Child = -1, Token = SpeculativeMath.Invalid };
        for (int c = node + 1; c < nodes; c++)
        {
            if (step.Child < 0 && row.Parent(c) == node)
            {
                int x = row.Token(c);
                float p = row.P(node, x), q = row.Q(node, x);
                double r = scale > 0.0 ? Residual.Rrs(scale).Weight(p, q) : p;
                // u < p_i(x)/q_i(x) with p_i = r/mass and q_i = q/draftMass (q = 0: accept iff r > 0).
                if (row.Uniform(c - 1) * q * mass < r * draftMass)
                {
                    step.Child = c;
                    step.Token = x;
                }
                else
                {
                    if (draftMass > 0.0)
                    {
                        double next = scale + mass / draftMass;
                        double nextMass = row.Total(node, Residual.Rrs(next));
                        if (nextMass > 0.0)
                        {
                            scale = next;
                            mass = nextMass;
                        }
                    }
                    draftMass -= q;
                }
            }
        }
        if (step.Child < 0)
            step.Token = row.Draw(node, scale > 0.0 ? Residual.Rrs(scale) : Residual.Target, row.Uniform(nodes - 1));
        return step;
    }

    /// <summary>
    /// Verifies a multi-draft row (node 0 and its k = <paramref name="nodes"/> − 1 drafts) by <paramref name="method"/>:
    /// the accepted child (draft i is child i + 1) and the token.
    /// </summary>
    public static DraftStep MultiDraftRow<TRow>(TRow row, int nodes, int method) where TRow : struct, IDraftRow
    {
        var invalid = new DraftStep { Child = -1, Token = SpeculativeMath.Invalid };
        for (int c = 1; c < nodes; c++)
        {
            int x = row.Token(c);
            if (x < 0 || x >= row.Cols)
                return invalid;
            for (int d = 1; method == RecursiveRejection && d < c; d++)
            {
                if (row.Token(d) == x)
                    return invalid; // drafts without replacement are distinct
            }
        }
        var sums = row.Scan(0, true);
        if (!sums.Valid || !(sums.P > 0.0) || !(sums.Q > 0.0))
            return invalid;
        return method == KSeq ? KSeqStep(row, nodes, sums) : RecursiveRejectionStep(row, 0, nodes, sums);
    }

    /// <summary>K-SEQ over node 0's children 1..k (i.i.d. drafts), given its row sums.</summary>
    public static DraftStep KSeqStep<TRow>(TRow row, int nodes, RowSums sums) where TRow : struct, IDraftRow
    {
        int k = nodes - 1;
        double invP = 1.0 / sums.P, invQ = 1.0 / sums.Q;
        double rho = Rho(row, k, invP, invQ);
        double invPRho = invP / rho;
        var step = new DraftStep { Child = -1, Token = SpeculativeMath.Invalid };
        for (int c = 1; c <= k; c++)
        {
            if (step.Child < 0)
            {
                int x = row.Token(c);
                // u < min(1, p/(ρq)) on normalised p and q, as u·q' < p'/ρ.
                if (row.Uniform(c - 1) * (row.Q(0, x) * invQ) < row.P(0, x) * invPRho)
                {
                    step.Child = c;
                    step.Token = x;
                }
            }
        }
        if (step.Child < 0)
        {
            double c = C(row.Total(0, Residual.Beta(invQ, invPRho)), k);
            double u = row.Uniform(nodes - 1);
            step.Token = row.Draw(0, Residual.KSeq(invP, invQ, invPRho, c), u);
            if (step.Token < 0)
                step.Token = row.Draw(0, Residual.Target, u); // the residual's mass rounded to 0 (p ≈ q): p itself
        }
        return step;
    }

    /// <summary>ρ for K-SEQ with k drafts: 1 when c(1) ≤ 1, else the valid end of <see cref="Bisections"/> steps on [1, k].</summary>
    public static double Rho<TRow>(TRow row, int k, double invP, double invQ) where TRow : struct, IDraftRow
    {
        if (k <= 1 || Valid(row, k, 1.0, invP, invQ))
            return 1.0;
        double lo = 1.0, hi = k;
        for (int i = 0; i < Bisections; i++)
        {
            double mid = 0.5 * (lo + hi);
            if (Valid(row, k, mid, invP, invQ))
                hi = mid;
            else
                lo = mid;
        }
        return hi;
    }

    private static bool Valid<TRow>(TRow row, int k, double rho, double invP, double invQ) where TRow : struct, IDraftRow =>
        C(row.Total(0, Residual.Beta(invQ, invP / rho)), k) <= rho;

    /// <summary>c(ρ) = (1 − (1 − β)^k)/β (its limit k at β = 0), the power by k multiplications (the same bits everywhere).</summary>
    public static double C(double beta, int k)
    {
        if (!(beta > 0.0))
            return k;
        double miss = 1.0;
        for (int i = 0; i < k; i++)
            miss *= 1.0 - beta;
        return (1.0 - miss) / beta;
    }

    /// <summary>
    /// Verifies a tree of <paramref name="nodes"/> nodes: checks its shape (parent of node 0 is −1, parent of node n in
    /// [0, n), tokens in [0, V), siblings distinct), then from the root runs RSD on each node's children and descends into
    /// the accepted one, until a node's children are all rejected (the residual token) or a leaf (the bonus token from its p).
    /// </summary>
    public static TreeOutcome TreeRow<TRow>(TRow row, int nodes) where TRow : struct, IDraftRow
    {
        var outcome = new TreeOutcome { Last = 0, Depth = SpeculativeMath.Invalid, Token = SpeculativeMath.Invalid };
        bool valid = row.Parent(0) == -1;
        for (int n = 1; n < nodes; n++)
        {
            int parent = row.Parent(n), token = row.Token(n);
            valid = valid && parent >= 0 && parent < n && token >= 0 && token < row.Cols;
            for (int m = parent + 1; valid && m < n; m++)
            {
                if (row.Parent(m) == parent && row.Token(m) == token)
                    valid = false; // siblings are drafts without replacement
            }
        }
        if (!valid)
            return outcome;
        int node = 0, depth = 0;
        bool done = false;
        for (int level = 0; level < nodes && !done; level++)
        {
            bool children = false;
            for (int c = node + 1; c < nodes; c++)
                children = children || row.Parent(c) == node;
            var sums = row.Scan(node, children);
            if (!sums.Valid || !(sums.P > 0.0) || (children && !(sums.Q > 0.0)))
                return outcome;
            if (!children)
            {
                outcome.Token = row.Draw(node, Residual.Target, row.Uniform(nodes - 1));
                done = true;
            }
            else
            {
                var step = RecursiveRejectionStep(row, node, nodes, sums);
                if (step.Child >= 0)
                {
                    node = step.Child;
                    depth++;
                }
                else
                {
                    outcome.Token = step.Token;
                    done = true;
                }
            }
        }
        if (outcome.Token >= 0)
        {
            outcome.Last = node;
            outcome.Depth = depth;
        }
        return outcome;
    }
}
