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
    public static int Draw<TCols>(float* w, float* e, TCols cols, int padded, float p, RngKey key, DecodeArgs args, out bool fallback)
        where TCols : struct, IColumns
    {
        fallback = false;
        double total = MassBefore(w, e, cols, padded, false, 0f, 0);
        double cut = p * total;
        bool hasPivot = false;
        float pivotW = 0f;
        int pivotCol = 0;
        double mass = total;
        for (int round = 0; round < args.Rounds; round++)
        {
            double u = Variates.Uniform(Rng.Block(key, (uint)round, args.Offset).Low64);
            int j = Find(w, e, cols, padded, hasPivot, pivotW, pivotCol, u * mass, out int at);
            double before = p < 1f ? MassBefore(w, e, cols, padded, true, w[at], j) : 0.0;
            if (before < cut)
                return j;
            hasPivot = true;
            pivotW = w[at];
            pivotCol = j;
            mass = before;
        }

        // The exact cutoff: S in the order, the first column whose running mass reaches p·T_S (rare: after Rounds rejections).
        fallback = true;
        int cutoff = Cutoff(w, e, padded, cut);
        pivotW = w[cutoff];
        pivotCol = cols.At(cutoff) + 1;
        double kept = MassBefore(w, e, cols, padded, true, pivotW, pivotCol);
        double last = Variates.Uniform(Rng.Block(key, (uint)args.Rounds, args.Offset).Low64);
        return Find(w, e, cols, padded, true, pivotW, pivotCol, last * kept, out _);
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
    private static Vector256<float> BeforeMask(Vector256<float> w, Vector256<int> col, Vector256<float> pw, Vector256<int> pc) =>
        Vector256.GreaterThan(w, pw) | (Vector256.Equals(w, pw) & Vector256.LessThan(col, pc).AsSingle());

    // S sorted in the order (plainly, with a pooled buffer), then the first element whose running mass reaches the cut.
    // Composites carry positions, which are in column order, so they sort in the column order too.
    private static int Cutoff(float* w, float* e, int padded, double cut)
    {
        var pool = ArrayPool<ulong>.Shared.Rent(padded);
        try
        {
            int n = 0;
            for (int i = 0; i < padded; i++)
            {
                if (e[i] > 0f)
                    pool[n++] = TopKCollector.Compose(w[i], i);
            }
            var items = pool.AsSpan(0, n);
            items.Sort();
            double running = 0.0;
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
