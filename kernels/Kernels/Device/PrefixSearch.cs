namespace Kernels.Device;

/// <summary>
/// The state of a threshold search over a row, one group sum per step, without sorting: the first column in the order
/// (key descending, column ascending) at which a running measure reaches a target. The key is found bit by bit from
/// the top (32 steps: is the measure of keys ≥ candidate still at least the target?), then the measure strictly above
/// it (1 step), then the column among equal keys by bisection (⌈log2 cols⌉ steps). A kernel sums, over its columns,
/// the measure of those that <see cref="Counts"/> and passes the group's total to <see cref="Advance"/> until
/// <see cref="Done"/>: the steps live in the caller's one loop, so the kernel has one barrier site (PoCL 3.1 takes
/// minutes to compile, or hangs, on kernels with many).
/// </summary>
public struct PrefixSearch
{
    private const int Bits = 0, Above = 1, Ties = 2, Finished = 3;

    private int _phase;
    private int _bit;
    private uint _threshold;
    private double _above;
    private int _lo, _hi;
    private double _target;

    /// <summary>Starts a search for <paramref name="target"/> (0 &lt; target ≤ the row's total) over <paramref name="cols"/> columns.</summary>
    public static PrefixSearch Start(double target, int cols) =>
        new() { _phase = Bits, _bit = 31, _threshold = 0, _lo = 0, _hi = cols - 1, _target = target };

    /// <summary>Whether the search has found its column.</summary>
    public readonly bool Done => _phase == Finished;

    /// <summary>The threshold found (valid when <see cref="Done"/>): the last column of the kept prefix.</summary>
    public readonly KeyColumn Result => new(_threshold, _lo);

    /// <summary>Whether a column's measure counts in this step's sum.</summary>
    public readonly bool Counts(uint key, int col) => _phase switch
    {
        Bits => key >= (_threshold | (1u << _bit)),
        Above => _threshold != uint.MaxValue && key > _threshold,
        _ => key == _threshold && col <= ((_lo + _hi) >> 1),
    };

    /// <summary>Takes the group's sum for this step and moves to the next.</summary>
    public void Advance(double sum)
    {
        switch (_phase)
        {
            case Bits:
                if (sum >= _target)
                    _threshold |= 1u << _bit;
                _bit--;
                if (_bit < 0)
                    _phase = Above;
                break;
            case Above:
                _above = sum;
                _phase = _lo < _hi ? Ties : Finished;
                break;
            default:
                int mid = (_lo + _hi) >> 1;
                if (_above + sum >= _target)
                    _hi = mid;
                else
                    _lo = mid + 1;
                if (_lo >= _hi)
                    _phase = Finished;
                break;
        }
    }
}
