using System;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kernels.Cpu;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The CPU side's draw from a staged set S — arrays w and e (e = 0 outside S and in padding), padded to a multiple of
/// eight, in column order — with the same pivot-rejection rounds, uniforms and fallback as <see cref="DecodeDevice"/>.
/// Each round is one vectorised inverse-CDF walk and one vectorised masked sum over the staged data (in cache).
/// </summary>
public static unsafe class StagedDraw
{
    private const int Lanes = 8;

    /// <summary>Draws a token from the top-p set of S (p = 1: from S); returns it and whether the fallback ran.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Draw<TCols>(float* w, float* e, TCols cols, int padded, float p, RngKey key, ulong offset, int rounds, out bool fallback)
        where TCols : struct, IColumns
    {
        fallback = false;
        double total = MassBefore(w, e, cols, padded, false, 0f, 0);
        double cut = p * total;
        bool hasPivot = false;
        float pivotW = 0f;
        int pivotCol = 0;
        double mass = total;
        for (int round = 0; round < rounds; round++)
        {
            double u = Variates.Uniform(Rng.Block(key, (uint)round, offset).Low64);
            int j = Find(w, e, cols, padded, hasPivot, pivotW, pivotCol, u * mass, out int at);
            double before = p < 1f ? MassBefore(w, e, cols, padded, true, w[at], j) : 0.0;
            if (before < cut)
                return j;
            hasPivot = true;
            pivotW = w[at];
            pivotCol = j;
            mass = before;
        }

        // The exact cutoff (rare: after Rounds rejections), then one draw below it.
        fallback = true;
        double kept = KeptSet(w, e, cols, padded, cut, out pivotW, out pivotCol);
        double last = Variates.Uniform(Rng.Block(key, (uint)rounds, offset).Low64);
        return Find(w, e, cols, padded, true, pivotW, pivotCol, last * kept, out _);
    }

    /// <summary>
    /// The top-p set of S: its cutoff — S in the order, the first element whose running mass (float64, inclusive)
    /// reaches <paramref name="cut"/> = p·T_S — as a pivot (the set is S before it), and the set's mass.
    /// </summary>
    public static double KeptSet<TCols>(float* w, float* e, TCols cols, int padded, double cut, out float pivotW, out int pivotCol)
        where TCols : struct, IColumns
    {
        int cutoff = Cutoff(w, e, padded, cut);
        pivotW = w[cutoff];
        pivotCol = cols.At(cutoff) + 1;
        return MassBefore(w, e, cols, padded, true, pivotW, pivotCol);
    }

    /// <summary>Σ e over S in double, restricted to the columns before the pivot when there is one.</summary>
    public static double MassBefore<TCols>(float* w, float* e, TCols cols, int padded, bool hasPivot, float pivotW, int pivotCol)
        where TCols : struct, IColumns
    {
        var acc0 = Vector256<double>.Zero;
        var acc1 = Vector256<double>.Zero;
        var pw = Vector256.Create(pivotW);
        var pc = Vector256.Create(pivotCol);
        for (int i = 0; i < padded; i += 2 * Lanes)
        {
            acc0 += Widened(Masked(w, e, cols, i, hasPivot, pw, pc));
            if (i + Lanes < padded)
                acc1 += Widened(Masked(w, e, cols, i + Lanes, hasPivot, pw, pc));
        }
        return Vector256.Sum(acc0 + acc1);
    }

    /// <summary>
    /// Inverse CDF over S before the pivot, in column order: the first element whose running mass exceeds
    /// <paramref name="target"/>, else the last with mass. Returns its column, and its position in <paramref name="at"/>.
    /// The walk adds one block of four vectors per step (independent sums, one dependent add), then scans the block
    /// that crosses the target lane by lane.
    /// </summary>
    public static int Find<TCols>(float* w, float* e, TCols cols, int padded, bool hasPivot, float pivotW, int pivotCol, double target, out int at)
        where TCols : struct, IColumns
    {
        const int Block = 4 * Lanes;
        var pw = Vector256.Create(pivotW);
        var pc = Vector256.Create(pivotCol);
        double running = 0.0;
        int lastBlock = -1;
        for (int i = 0; i < padded; i += Block)
        {
            int stop = Math.Min(i + Block, padded);
            double block = 0.0;
            for (int j = i; j < stop; j += Lanes)
                block += Vector256.Sum(Widened(Masked(w, e, cols, j, hasPivot, pw, pc)));
            if (!(block > 0.0))
                continue;
            lastBlock = i;
            if (!(running + block > target))
            {
                running += block;
                continue;
            }
            for (int j = i; j < stop; j += Lanes)
            {
                var v = Masked(w, e, cols, j, hasPivot, pw, pc);
                for (int lane = 0; lane < Lanes; lane++)
                {
                    float m = v.GetElement(lane);
                    running += m;
                    if (m > 0f && running > target)
                    {
                        at = j + lane;
                        return cols.At(at);
                    }
                }
            }
        }
        // Rounding left the target at or above the last running sum: the last element with mass (S holds the row's
        // max, e = 1, so there is one).
        at = Math.Min(lastBlock + Block, padded) - 1;
        while (at > lastBlock && !(e[at] > 0f && (!hasPivot || KeyIndex.Before(w[at], cols.At(at), pivotW, pivotCol))))
            at--;
        return cols.At(at);
    }

    // e on eight lanes, zero outside the columns before the pivot.
    private static Vector256<float> Masked<TCols>(float* w, float* e, TCols cols, int i, bool hasPivot, Vector256<float> pw, Vector256<int> pc)
        where TCols : struct, IColumns
    {
        var v = Vector256.Load(e + i);
        return hasPivot ? v & BeforeMask(Vector256.Load(w + i), cols.Load(i), pw, pc) : v;
    }

    private static Vector256<double> Widened(Vector256<float> v)
    {
        var (lo, hi) = Vector256.Widen(v);
        return lo + hi;
    }

    // Lanes whose (w, column) comes before the pivot in the order (KeyIndex.Before on eight lanes).
    internal static Vector256<float> BeforeMask(Vector256<float> w, Vector256<int> col, Vector256<float> pw, Vector256<int> pc) =>
        Vector256.GreaterThan(w, pw) | (Vector256.Equals(w, pw) & Vector256.LessThan(col, pc).AsSingle());

    // Bins of e by its top bits (exponent and four mantissa bits): monotone in e, hence in the order (equal e share a bin).
    private const int BinShift = 19;
    private const int Bins = 1 << (31 - BinShift);

    /// <summary>
    /// The position of the cutoff element of <see cref="KeptSet"/>, or the last element of S when rounding keeps the
    /// running mass below the cut. One pass bins the masses (a histogram by e, which orders like w), the bins are walked
    /// from the top to the one that crosses the cut, and only that bin's elements are sorted in the order (composites of
    /// w and position; positions are in column order).
    /// </summary>
    private static int Cutoff(float* w, float* e, int padded, double cut)
    {
        var mass = ArrayPool<double>.Shared.Rent(Bins);
        try
        {
            Array.Clear(mass, 0, Bins);
            for (int i = 0; i < padded; i++)
            {
                if (e[i] > 0f)
                    mass[Bin(e[i])] += e[i];
            }
            // The crossing bin, and the mass before it (the lowest bin with mass when rounding never reaches the cut).
            double running = 0.0, before = 0.0;
            int crossing = -1;
            for (int bin = Bins - 1; bin >= 0; bin--)
            {
                if (!(mass[bin] > 0.0))
                    continue;
                crossing = bin;
                before = running;
                if (running + mass[bin] >= cut)
                    break;
                running += mass[bin];
            }
            return CutoffInBin(w, e, padded, crossing, before, cut);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(mass);
        }
    }

    private static int Bin(float e) => (int)(BitConverter.SingleToUInt32Bits(e) >> BinShift);

    // The bin's elements in the order, then the first whose running mass reaches the cut (else the bin's last).
    private static int CutoffInBin(float* w, float* e, int padded, int bin, double running, double cut)
    {
        int n = 0;
        for (int i = 0; i < padded; i++)
        {
            if (e[i] > 0f && Bin(e[i]) == bin)
                n++;
        }
        var pool = ArrayPool<ulong>.Shared.Rent(n);
        try
        {
            n = 0;
            for (int i = 0; i < padded; i++)
            {
                if (e[i] > 0f && Bin(e[i]) == bin)
                    pool[n++] = TopKCollector.Compose(w[i], i);
            }
            var items = pool.AsSpan(0, n);
            items.Sort();
            foreach (ulong item in items)
            {
                int at = TopKCollector.Column(item);
                running += e[at];
                if (running >= cut)
                    return at;
            }
            return TopKCollector.Column(items[n - 1]);
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(pool);
        }
    }
}
