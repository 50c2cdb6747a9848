namespace Kernels;

/// <summary>
/// The decisions of multi-draft (RSD, K-SEQ) and tree verification for one row, as a state machine: each step asks for
/// one pass over a node's row — the sum of a <see cref="Residual"/> weight, or an inverse-CDF draw at
/// <see cref="DrawTarget"/> — and <see cref="Advance"/> takes its result. The CPU kernel runs the passes eight lanes at a
/// time; the ILGPU kernel runs them as <see cref="Device.SegmentDraw"/> steps of a group, every thread holding the same
/// state (the accept tests between passes read two floats, the same on every thread). One implementation of the
/// decisions for both; the host-side <see cref="MultiDraft"/> is the independent float64 reference.
/// </summary>
/// <remarks>
/// <para><b>Checks</b> (<see cref="Start"/>): a multi-draft row's drafts must index the vocabulary (and be distinct for
/// RSD); a tree's root has parent −1, node n ≥ 1 a parent in [0, n) (no cycles, no forward references), a token in
/// [0, V), and siblings distinct tokens. A visited node's p row (and q row when it has children) is summed with NaN for
/// a NaN, negative or infinite value; a non-finite or non-positive sum makes the row invalid.</para>
/// <para><b>RSD</b> (children drawn without replacement, tested in index order): with p_1 = p and q_i = q restricted to
/// the children not yet tried and renormalised, child x_i is accepted with probability min(1, p_i(x_i)/q_i(x_i)); on
/// rejection p_{i+1} = norm(max(0, p_i − q_i)). Since q ≥ 0 the residuals compose: p_{i+1} ∝ max(0, p − S_i·q) with
/// S_i = Σ_{j≤i} Z_j/D_j, Z_j the mass of the unnormalised residual and D_j = Σq minus the q of the children tried
/// before — three scalars and one pass per rejection, no scratch row. (The restriction of q drops only columns whose
/// residual is already 0: a child is rejected only where p_i &lt; q_i.) A residual whose mass rounds to 0 leaves S
/// unchanged (no NaN). The test is u·q(x)·Z &lt; r(x)·D (q = 0: accept iff r &gt; 0).</para>
/// <para><b>K-SEQ</b>: β(ρ) = Σ min(q/Σq, p/(Σp·ρ)), c(ρ) = <see cref="DraftRules.C"/>; ρ = 1 when k = 1 or c(1) ≤ 1,
/// else the valid end hi of a bracket [lo, hi] ∋ ρ* narrowed to 2^-44 relative by safeguarded regula falsi (Illinois),
/// at most <see cref="DraftRules.RootSteps"/> passes (typically about ten). Draft i is accepted when
/// u_i·q(x)/Σq &lt; p(x)/(Σp·ρ); with none accepted the token is drawn from max(0, p/Σp − min(q/Σq, p/(Σp·ρ))·c(ρ)),
/// or from p when that has no mass.</para>
/// <para><b>Trees</b>: from the root, RSD over the node's children against its p; descend into the accepted child; stop
/// with the residual token when all are rejected, or with the bonus token from p at a leaf.</para>
/// <para><b>Uniforms</b>: the test of node c uses counter c − 1, the final draw counter N − 1 (a multi-draft row is the
/// virtual tree of its position and k drafts, N = k + 1), each used at most once on any path; a chain-shaped tree uses
/// <see cref="ChainVerifier"/>'s counters.</para>
/// </remarks>
public struct DraftMachine
{
    private const int SumP = 0, SumQ = 1, NextResidual = 2, Beta = 3, KSeqMass = 4, Draw = 5, Finished = 6;
    private const int CheckOne = 0, UpperEnd = 1, Narrow = 2, FinalBeta = 3;

    private int _stage, _method, _nodes, _node, _child, _phase, _iteration, _side;
    private double _p, _q, _scale, _next, _mass, _draftMass, _pendingQ;
    private double _lo, _hi, _gLo, _gHi, _x, _width, _invPRho;

    /// <summary>The weights of this step's pass.</summary>
    public Residual Weights;

    /// <summary>u·Σ for a draw step (the inverse CDF's goal).</summary>
    public double DrawTarget;

    /// <summary>The accepted child of a multi-draft row (−1: none) or the deepest accepted node of a tree (0: none).</summary>
    public int Last;

    /// <summary>The number of accepted nodes (a tree's depth); −1 when the row is invalid.</summary>
    public int Depth;

    /// <summary>The emitted token: the accepted draft (multi-draft) or the final draw; −1 when the row is invalid.</summary>
    public int Token;

    /// <summary>Checks a row's drafts or tree and starts at the root (node 0).</summary>
    public static DraftMachine Start<TRow>(TRow row, int nodes, int method) where TRow : struct, IDraftRow
    {
        var m = new DraftMachine
        {
            _method = method,
            _nodes = nodes,
            Last = method == DraftRules.Tree ? 0 : -1,
            Token = SpeculativeMath.Invalid,
            Weights = Residual.CheckTarget,
        };
        bool valid = method != DraftRules.Tree || row.Parent(0) == -1;
        for (int n = 1; n < nodes; n++)
        {
            int parent = row.Parent(n), token = row.Token(n);
            valid = valid && parent >= 0 && parent < n && token >= 0 && token < row.Cols;
            for (int m2 = parent + 1; valid && method != DraftRules.KSeq && m2 < n; m2++)
            {
                if (row.Parent(m2) == parent && row.Token(m2) == token)
                    valid = false; // siblings (RSD drafts) are drawn without replacement
            }
        }
        m._stage = valid ? SumP : Finished;
        m.Depth = valid ? 0 : SpeculativeMath.Invalid;
        return m;
    }

    /// <summary>Whether the row is finished.</summary>
    public readonly bool Done => _stage == Finished;

    /// <summary>Whether this step draws (else it sums <see cref="Weights"/>).</summary>
    public readonly bool Drawing => _stage == Draw;

    /// <summary>The node whose p and q rows this step reads.</summary>
    public readonly int Node => _node;

    /// <summary>Takes this step's pass: the sum of <see cref="Weights"/>, or the drawn column.</summary>
    public void Advance<TRow>(TRow row, double total, int column) where TRow : struct, IDraftRow
    {
        if (_stage == Draw)
        {
            Token = column;
            Finish(Token < 0);
        }
        else if (_stage == SumP || _stage == SumQ)
        {
            if (double.IsNaN(total) || double.IsInfinity(total) || !(total > 0.0))
                Finish(true); // a bad value read (explicit IsNaN: PoCL folds ordered compares with NaN), or no mass
            else if (_stage == SumP)
            {
                _p = total;
                if (HasChildren(row))
                {
                    _stage = SumQ;
                    Weights = Residual.CheckDraft;
                }
                else
                    StartDraw(row, Residual.Target, _p); // a leaf: the bonus token from p
            }
            else
            {
                _q = total;
                if (_method == DraftRules.KSeq)
                    StartKSeq(row);
                else
                {
                    _scale = 0.0;
                    _mass = _p;
                    _draftMass = _q;
                    _child = _node + 1;
                    TestChildren(row);
                }
            }
        }
        else if (_stage == NextResidual)
        {
            if (total > 0.0)
            {
                _scale = _next;
                _mass = total;
            }
            _draftMass -= _pendingQ;
            TestChildren(row);
        }
        else if (_stage == Beta)
            AdvanceBeta(row, total);
        else if (_stage == KSeqMass)
        {
            if (total > 0.0)
                StartDraw(row, Weights, total);
            else
                StartDraw(row, Residual.Target, _p); // the residual's mass rounded to 0 (p ≈ q): p itself
        }
    }

    private readonly bool HasChildren<TRow>(TRow row) where TRow : struct, IDraftRow
    {
        bool children = false;
        for (int c = _node + 1; c < _nodes; c++)
            children = children || row.Parent(c) == _node;
        return children;
    }

    // RSD from child _child on: accept tests until a rejection needs the next residual's mass, an acceptance, or the end.
    private void TestChildren<TRow>(TRow row) where TRow : struct, IDraftRow
    {
        bool waiting = false;
        for (int c = _child; c < _nodes && !waiting && _stage != Finished && _stage != SumP; c++)
        {
            if (row.Parent(c) == _node)
            {
                int x = row.Token(c);
                float p = row.P(_node, x), q = row.Q(_node, x);
                double r = _scale > 0.0 ? Residual.Rrs(_scale).Weight(p, q) : p;
                // u < p_i(x)/q_i(x) with p_i = r/mass and q_i = q/draftMass (q = 0: accept iff r > 0).
                if (row.Uniform(c - 1) * q * _mass < r * _draftMass)
                    Accept(c, x);
                else if (_draftMass > 0.0)
                {
                    _next = _scale + _mass / _draftMass;
                    _pendingQ = q;
                    _child = c + 1;
                    _stage = NextResidual;
                    Weights = Residual.Rrs(_next);
                    waiting = true;
                }
                else
                    _draftMass -= q;
            }
        }
        if (!waiting && _stage != Finished && _stage != SumP)
            StartDraw(row, _scale > 0.0 ? Residual.Rrs(_scale) : Residual.Target, _mass); // every child rejected
    }

    private void Accept(int child, int token)
    {
        if (_method == DraftRules.Tree)
        {
            _node = child; // descend: its p row next
            Last = child;
            Depth++;
            _stage = SumP;
            Weights = Residual.CheckTarget;
        }
        else
        {
            Last = child;
            Token = token;
            Finish(false);
        }
    }

    private void StartKSeq<TRow>(TRow row) where TRow : struct, IDraftRow
    {
        int k = _nodes - 1;
        if (k <= 1)
            TestKSeq(row, 1.0);
        else
        {
            _phase = CheckOne;
            _stage = Beta;
            _x = 1.0;
            Weights = Residual.Beta(1.0 / _q, 1.0 / _p);
        }
    }

    // ρ: g(ρ) = c(β(ρ)) − ρ is > 0 below ρ* and ≤ 0 from ρ* on. g(1) ≤ 0: ρ = 1. Else g(k) (≤ 0 always), then Illinois
    // (regula falsi, halving a stale end's g) inside [lo, hi], falling back to the midpoint when the interpolated point
    // leaves the bracket or the bracket did not halve in three steps; stop at a bracket of 2^-44 relative (or
    // DraftRules.RootSteps steps) and keep the valid end hi.
    private void AdvanceBeta<TRow>(TRow row, double total) where TRow : struct, IDraftRow
    {
        int k = _nodes - 1;
        double c = DraftRules.C(total, k);
        if (_phase == FinalBeta)
        {
            _stage = KSeqMass;
            Weights = Residual.KSeq(1.0 / _p, 1.0 / _q, _invPRho, c);
            return;
        }
        double g = c - _x;
        if (_phase == CheckOne)
        {
            if (g <= 0.0)
            {
                TestKSeq(row, 1.0);
                return;
            }
            _lo = 1.0;
            _gLo = g;
            _phase = UpperEnd;
            _x = k;
        }
        else
        {
            if (_phase == UpperEnd)
            {
                _hi = _x;
                _gHi = g;
                _phase = Narrow;
                _width = _hi - _lo;
            }
            else if (g <= 0.0)
            {
                _hi = _x;
                _gHi = g;
                if (_side < 0) _gLo *= 0.5;
                _side = -1;
            }
            else
            {
                _lo = _x;
                _gLo = g;
                if (_side > 0) _gHi *= 0.5;
                _side = 1;
            }
            _iteration++;
            if (_hi - _lo <= _hi / (1L << 44) || _iteration >= DraftRules.RootSteps)
            {
                TestKSeq(row, _hi);
                return;
            }
            double x = _hi - _gHi * (_hi - _lo) / (_gHi - _gLo);
            if (_iteration % 3 == 0)
            {
                if (_hi - _lo > 0.5 * _width)
                    x = 0.5 * (_lo + _hi); // the bracket did not halve in three steps: bisect
                _width = _hi - _lo;
            }
            _x = !double.IsNaN(x) && x > _lo && x < _hi ? x : 0.5 * (_lo + _hi); // explicit IsNaN: PoCL folds NaN compares
        }
        Weights = Residual.Beta(1.0 / _q, 1.0 / _p / _x);
    }

    // K-SEQ's accept tests at ρ, then (none accepted) β(ρ) for c(ρ).
    private void TestKSeq<TRow>(TRow row, double rho) where TRow : struct, IDraftRow
    {
        double invQ = 1.0 / _q;
        _invPRho = 1.0 / _p / rho;
        for (int c = 1; c < _nodes && _stage != Finished; c++)
        {
            int x = row.Token(c);
            // u < min(1, p/(ρq)) on normalised p and q, as u·q' < p'/ρ.
            if (row.Uniform(c - 1) * (row.Q(0, x) * invQ) < row.P(0, x) * _invPRho)
                Accept(c, x);
        }
        if (_stage != Finished)
        {
            _phase = FinalBeta;
            _stage = Beta;
            Weights = Residual.Beta(invQ, _invPRho);
        }
    }

    private void StartDraw<TRow>(TRow row, Residual weights, double mass) where TRow : struct, IDraftRow
    {
        _stage = Draw;
        Weights = weights;
        DrawTarget = row.Uniform(_nodes - 1) * mass;
    }

    private void Finish(bool invalid)
    {
        _stage = Finished;
        if (invalid)
        {
            Token = SpeculativeMath.Invalid;
            Depth = SpeculativeMath.Invalid;
            Last = _method == DraftRules.Tree ? 0 : -1;
        }
    }
}
