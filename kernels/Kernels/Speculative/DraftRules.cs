using System.Runtime.Intrinsics;

namespace Kernels;

/// <summary>
/// The weight of a column in a pass over a (p, q) pair of rows: the target p, RSD's residual max(0, p − A·q), K-SEQ's
/// β term min(B·q, C·p) or K-SEQ's residual max(0, A·p − min(B·q, C·p)·D). The scalar and vector forms do the same
/// double operations, so both backends weigh every column with the same bits.
/// </summary>
public readonly struct Residual
{
    private const int TargetMode = 0, RrsMode = 1, BetaMode = 2, KSeqMode = 3, CheckTargetMode = 4, CheckDraftMode = 5;
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

    /// <summary>p, or NaN where p is NaN, negative or infinite: the validating sum of a p row.</summary>
    public static Residual CheckTarget => new(CheckTargetMode, 0, 0, 0, 0);

    /// <summary>q, or NaN where q is NaN, negative or infinite: the validating sum of a q row.</summary>
    public static Residual CheckDraft => new(CheckDraftMode, 0, 0, 0, 0);

    /// <summary>Whether the q row is read.</summary>
    public bool ReadsDraft => _mode != TargetMode && _mode != CheckTargetMode;

    /// <summary>The weight of one column.</summary>
    public double Weight(float p, float q)
    {
        if (_mode == TargetMode)
            return p;
        if (_mode == CheckTargetMode)
            return SpeculativeMath.Valid(p) ? p : double.NaN;
        if (_mode == CheckDraftMode)
            return SpeculativeMath.Valid(q) ? q : double.NaN;
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
        if (_mode is CheckTargetMode or CheckDraftMode)
        {
            var x = _mode == CheckTargetMode ? p : q;
            var valid = Vector256.GreaterThanOrEqual(x, Vector256<double>.Zero) & Vector256.LessThan(x, Vector256.Create(double.PositiveInfinity));
            return Vector256.ConditionalSelect(valid, x, Vector256.Create(double.NaN));
        }
        if (_mode == RrsMode)
            return Vector256.Max(p - Vector256.Create(_a) * q, Vector256<double>.Zero);
        var m = Vector256.Min(q * Vector256.Create(_b), p * Vector256.Create(_c));
        return _mode == BetaMode ? m : Vector256.Max(p * Vector256.Create(_a) - m * Vector256.Create(_d), Vector256<double>.Zero);
    }

    private static double Max0(double x) => x > 0.0 ? x : 0.0;
}

/// <summary>
/// One row of a verification launch as the decisions see it: a tree of nodes (node 0 the root) with tokens and parents,
/// p and q rows per node, and the row's uniforms. The passes over V are the backends' own (<see cref="DraftMachine"/>).
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
}

/// <summary>The constants of multi-draft and tree verification.</summary>
public static class DraftRules
{
    /// <summary><see cref="DraftArgs.Method"/> of RSD multi-draft verification.</summary>
    public const int RecursiveRejection = 0;

    /// <summary><see cref="DraftArgs.Method"/> of K-SEQ multi-draft verification.</summary>
    public const int KSeq = 1;

    /// <summary><see cref="DraftArgs.Method"/> of tree verification.</summary>
    public const int Tree = 2;

    /// <summary>The most root-finding passes for K-SEQ's ρ (safeguarded regula falsi; bisection alone needs about 48).</summary>
    public const int RootSteps = 64;

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
}
