using Kernels.Device;

namespace Kernels;

/// <summary>
/// The uniform state of one row of <see cref="AdaptiveDevice"/>: which pass comes next, what it measures, and what its
/// group total (or drawn column) decides. Every thread holds the same state and takes the same steps: the row's mass Z,
/// the threshold of its top columns (a <see cref="PrefixSearch"/> over counts), their gathering and ranking, the
/// decision (<see cref="AdaptiveRules"/>), Mirostat's k-th column when k exceeds the ranked columns, the kept mass, and
/// the draw by inverse CDF in column order over the kept set.
/// </summary>
public struct AdaptiveMachine
{
    private const int Total = 0, RankSearch = 1, Gather = 2, CutSearch = 3, CutMass = 4, Draw = 5, Finished = 6, Spread = 7;

    private int _stage;
    private PrefixSearch _search;
    private KeyColumn _ranked;
    private KeyColumn _cut;
    private int _hasCut;
    private int _cols;
    private float _alpha;
    private float _mu;
    private int _needsEntropy;

    /// <summary>The row's entropy in bits (after the spread step; rules that need it only).</summary>
    public double Entropy;

    /// <summary>How many columns are ranked (the gathered top of the row).</summary>
    public int Ranked;

    /// <summary>Z = Σ e over the row (valid after the first step).</summary>
    public double Z;

    /// <summary>The mass of the columns the draw chooses from.</summary>
    public double Mass;

    /// <summary>The kept count (Top-H's prefix length, Mirostat's k; 0 until decided).</summary>
    public int Count;

    /// <summary>The token (−1 until drawn, and for rows that are not drawn).</summary>
    public int Token;

    /// <summary>The row's outcome.</summary>
    public SampleStatus Outcome;

    /// <summary>Starts a row whose first pass gave <paramref name="outcome"/>.</summary>
    public static AdaptiveMachine Start(SampleStatus outcome, AdaptiveArgs args, float alpha, float mu, bool needsEntropy) => new()
    {
        _needsEntropy = needsEntropy ? 1 : 0,
        Outcome = outcome,
        Token = SamplingMath.NoToken,
        Ranked = args.Ranked,
        _cols = args.Cols,
        _alpha = alpha,
        _mu = mu,
        _ranked = new KeyColumn(0u, int.MaxValue),
        _stage = outcome == SampleStatus.Sampled ? Total : Finished,
    };

    /// <summary>Whether the row is finished.</summary>
    public readonly bool Done => _stage == Finished;

    /// <summary>Whether this step draws a column (inverse CDF over its measure).</summary>
    public readonly bool Drawing => _stage == Draw;

    /// <summary>Whether this step gathers the ranked columns (measure 1 each, at their scan offsets) and ranks them.</summary>
    public readonly bool Gathering => _stage == Gather;

    /// <summary>What column <paramref name="col"/> contributes to this step's sum.</summary>
    public readonly double Measure<T>(DecodeRow<T> ctx, int col) where T : struct, ILogitTransform
    {
        float w = ctx.W(col);
        uint key = TruncationRules.OrderKey(w);
        switch (_stage)
        {
            case RankSearch:
            case CutSearch:
                return _search.Counts(key, col) ? 1.0 : 0.0;
            case Gather:
                return _ranked.Keeps(key, col) ? 1.0 : 0.0;
            case Total:
                return ctx.Mass(w);
            case Spread:
                return AdaptiveRules.Spread(w, ctx.Max, ctx.Mass(w));
            default: // CutMass, Draw: the kept set
                return _hasCut == 0 || _cut.Keeps(key, col) ? ctx.Mass(w) : 0.0;
        }
    }

    /// <summary>Takes this step's group total, the column drawn and the ranked columns, and moves on.</summary>
    public void Advance<T, TRow, TRule>(DecodeRow<T> ctx, double total, int drawn, TRow ranked)
        where T : struct, ILogitTransform
        where TRow : struct, ISortedRow
        where TRule : struct, IAdaptiveRule
    {
        switch (_stage)
        {
            case Total:
                Z = total;
                if (_needsEntropy != 0)
                    _stage = Spread;
                else
                    StartRanking();
                break;
            case Spread:
                Entropy = AdaptiveRules.RowEntropy(Z, total);
                StartRanking();
                break;
            case RankSearch:
                _search.Advance(total);
                if (_search.Done)
                {
                    _ranked = _search.Result;
                    _stage = Gather;
                }
                break;
            case Gather:
                Decide<T, TRow, TRule>(ctx, ranked);
                break;
            case CutSearch:
                _search.Advance(total);
                if (_search.Done)
                {
                    _cut = _search.Result;
                    _stage = CutMass;
                }
                break;
            case CutMass:
                Mass = total;
                _stage = Draw;
                break;
            default: // Draw
                Token = drawn;
                _stage = Finished;
                break;
        }
    }

    // The top columns: a threshold search when they are not the whole row, then their gathering.
    private void StartRanking()
    {
        if (Ranked < _cols)
        {
            _search = PrefixSearch.Start(Ranked, _cols);
            _stage = RankSearch;
        }
        else
            _stage = Gather;
    }

    // The kept count from the ranked columns, then the kept set: all columns, the ranked prefix, or a top-k search.
    private void Decide<T, TRow, TRule>(DecodeRow<T> ctx, TRow ranked)
        where T : struct, ILogitTransform
        where TRow : struct, ISortedRow
        where TRule : struct, IAdaptiveRule
    {
        int count = default(TRule).Count(ranked, Ranked, ctx.Max, Z, _cols, _alpha, _mu, Entropy);
        Count = count;
        if (count >= _cols)
        {
            Mass = Z;
            _stage = Draw;
        }
        else if (count <= Ranked)
        {
            _cut = new KeyColumn(TruncationRules.OrderKey(ranked.W(count - 1)), ranked.Column(count - 1));
            _hasCut = 1;
            _stage = CutMass;
        }
        else
        {
            _search = PrefixSearch.Start(count, _cols);
            _hasCut = 1;
            _stage = CutSearch;
        }
    }
}
