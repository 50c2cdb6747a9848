using Kernels.Device;

namespace Kernels;

/// <summary>
/// The uniform state of one row of <see cref="DecodeDevice"/>: which pass comes next, what it measures, and what its
/// group total (or drawn column) decides. Every thread holds the same state and takes the same steps.
/// </summary>
public struct DecodeMachine
{
    private const int TopKSearch = 0, Total = 1, Draw = 2, Check = 3, CutSearch = 4, CutMass = 5, FinalDraw = 6, Finished = 7;

    private int _stage;
    private PrefixSearch _search;
    private float _p;
    private double _cut;
    private int _round, _rounds;
    private int _hasPivot;
    private float _pivotW;
    private int _pivotCol;
    private int _candidate;
    private float _candidateW;
    private int _cols;
    private int _topKActive;
    private KeyColumn _topK;
    private int _select;

    /// <summary>The mass of the columns a draw chooses from.</summary>
    public double Mass;

    /// <summary>The token (−1 until drawn, and for rows that are not drawn).</summary>
    public int Token;

    /// <summary>The row's outcome.</summary>
    public SampleStatus Outcome;

    /// <summary>
    /// Starts a row whose first pass gave <paramref name="outcome"/>. With <paramref name="select"/> the machine draws
    /// nothing: it stops once the kept set is known (top-k threshold, then the exact top-p cutoff), with
    /// <see cref="Mass"/> its mass, for <see cref="KeptMass"/>.
    /// </summary>
    public static DecodeMachine Start(SampleStatus outcome, int k, float p, int cols, int rounds, bool select = false)
    {
        var m = new DecodeMachine { Outcome = outcome, Token = SamplingMath.NoToken, _p = p, _rounds = rounds, _cols = cols, _select = select ? 1 : 0 };
        if (outcome != SampleStatus.Sampled)
            m._stage = Finished;
        else if (TruncationRules.TopKActive(k, cols))
        {
            m._stage = TopKSearch;
            m._search = PrefixSearch.Start(k, cols);
        }
        else
            m._stage = Total;
        return m;
    }

    /// <summary>Whether the row is finished.</summary>
    public readonly bool Done => _stage == Finished;

    /// <summary>Whether this step draws a column (inverse CDF over its measure).</summary>
    public readonly bool Drawing => _stage == Draw || _stage == FinalDraw;

    /// <summary>This draw's uniform: round r uses position r (the fallback's draw uses position Rounds).</summary>
    public readonly double Uniform(RngKey key, ulong offset) => Variates.Uniform(Rng.Block(key, (uint)_round, offset).Low64);

    /// <summary>What column <paramref name="col"/> contributes to this step's sum.</summary>
    public readonly double Measure<T>(DecodeRow<T> ctx, int col) where T : struct, ILogitTransform
    {
        float w = ctx.W(col);
        uint key = TruncationRules.OrderKey(w);
        if (_stage == TopKSearch)
            return _search.Counts(key, col) ? 1.0 : 0.0;
        if (_topKActive != 0 && !_topK.Keeps(key, col))
            return 0.0; // outside S
        switch (_stage)
        {
            case CutSearch:
                return _search.Counts(key, col) ? ctx.Mass(w) : 0.0;
            case Check:
                return KeyIndex.Before(w, col, _candidateW, _candidate) ? ctx.Mass(w) : 0.0;
            case Total:
                return ctx.Mass(w);
            default: // Draw, FinalDraw, CutMass, and a finished selection: S before the pivot
                return _hasPivot == 0 || KeyIndex.Before(w, col, _pivotW, _pivotCol) ? ctx.Mass(w) : 0.0;
        }
    }

    /// <summary>A finished selection's mass of column <paramref name="col"/>: e inside the kept set, 0 outside.</summary>
    public readonly float KeptMass<T>(DecodeRow<T> ctx, int col) where T : struct, ILogitTransform => (float)Measure(ctx, col);

    /// <summary>Takes this step's group total (and, for a draw, the column drawn) and moves on.</summary>
    public void Advance<T>(DecodeRow<T> ctx, double total, int drawn) where T : struct, ILogitTransform
    {
        switch (_stage)
        {
            case TopKSearch:
                _search.Advance(total);
                if (_search.Done)
                {
                    _topK = _search.Result;
                    _topKActive = 1;
                    _stage = Total;
                }
                break;
            case Total:
                Mass = total;
                _cut = _p * total;
                if (_select != 0 && _p >= 1f)
                    Finish(SamplingMath.NoToken, SampleStatus.Sampled); // the kept set is S
                else if (_select == 0 && _rounds > 0)
                    _stage = Draw;
                else
                    StartFallback();
                break;
            case Draw:
                _candidate = drawn;
                _candidateW = ctx.W(drawn);
                if (_p < 1f)
                    _stage = Check;
                else
                    Finish(drawn, SampleStatus.Sampled);
                break;
            case Check:
                if (total < _cut)
                {
                    Finish(_candidate, SampleStatus.Sampled);
                    break;
                }
                _hasPivot = 1;
                _pivotW = _candidateW;
                _pivotCol = _candidate;
                Mass = total;
                _round++;
                if (_round < _rounds)
                    _stage = Draw;
                else
                    StartFallback();
                break;
            case CutSearch:
                _search.Advance(total);
                if (_search.Done)
                {
                    // The kept set: S before or equal to the cutoff, i.e. before (w_c, c + 1).
                    var cutoff = _search.Result;
                    _hasPivot = 1;
                    _pivotW = TruncationRules.FromOrderKey(cutoff.Key);
                    _pivotCol = cutoff.Column + 1;
                    _stage = CutMass;
                }
                break;
            case CutMass:
                Mass = total;
                if (_select != 0)
                    Finish(SamplingMath.NoToken, SampleStatus.Sampled);
                else
                    _stage = FinalDraw;
                break;
            default: // FinalDraw
                Finish(drawn, SampleStatus.Fallback);
                break;
        }
    }

    // After Rounds rejections (or none allowed): search the exact cutoff of the kept set.
    private void StartFallback()
    {
        _stage = CutSearch;
        _search = PrefixSearch.Start(_cut, _cols);
    }

    private void Finish(int token, SampleStatus outcome)
    {
        Token = token;
        Outcome = outcome;
        _stage = Finished;
    }
}
