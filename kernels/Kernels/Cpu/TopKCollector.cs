using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Kernels.Cpu;

/// <summary>
/// The k first columns of a row in the order (w descending, column ascending), collected in one streaming pass
/// without sorting the row: the caller admits only columns whose w exceeds <see cref="Threshold"/> (the current k-th
/// w; a later column with an equal w comes after it in the order), the buffer is cut back to the best k by a
/// quickselect when it fills. On random rows about k·ln(cols/k) columns are admitted, so the pass runs at the speed of
/// the vector compare; an ascending row admits every column and costs a quickselect per k + 16 columns.
/// </summary>
public sealed class TopKCollector
{
    private ulong[] _items = new ulong[64];
    private int _count;
    private int _k;
    // The buffer is cut back when this many are in: 2k + 16 for the row's k, not the array's length, which keeps the
    // largest k any row on this thread used (a Mirostat row's k would otherwise stop the threshold from ever tightening).
    private int _limit;

    /// <summary>Columns with w above this are admitted (−inf until the first k are in).</summary>
    public float Threshold { get; private set; }

    /// <summary>Starts a row with <paramref name="k"/> ≥ 1.</summary>
    public void Reset(int k)
    {
        _limit = 2 * k + 16;
        if (_items.Length < _limit)
            _items = GC.AllocateUninitializedArray<ulong>(_limit);
        _count = 0;
        _k = k;
        Threshold = float.NegativeInfinity;
    }

    /// <summary>Adds a column (any column of the first k, or one whose w exceeds <see cref="Threshold"/>).</summary>
    public void Add(float w, int col)
    {
        _items[_count++] = Compose(w, col);
        if (_count == _limit)
            Shrink();
    }

    /// <summary>Once the first k columns are in: sets the threshold to the k-th w.</summary>
    public void Seal()
    {
        if (_count >= _k)
            Shrink();
    }

    /// <summary>
    /// The best min(k, added) columns as order composites, sorted in the order; the collector's own buffer, which the
    /// caller may reorder (it is valid until the next <see cref="Reset"/>).
    /// </summary>
    public Span<ulong> Finish()
    {
        if (_count > _k)
            Shrink();
        var items = _items.AsSpan(0, _count);
        items.Sort();
        return items;
    }

    /// <summary>A composite whose unsigned order is the column order: (inverted order key of w, column).</summary>
    public static ulong Compose(float w, int col) => ((ulong)~TruncationRules.OrderKey(w) << 32) | (uint)col;

    /// <summary>w of a composite.</summary>
    public static float W(ulong composite) => TruncationRules.FromOrderKey(~(uint)(composite >> 32));

    /// <summary>The column of a composite.</summary>
    public static int Column(ulong composite) => (int)(uint)composite;

    private void Shrink()
    {
        var items = _items.AsSpan(0, _count);
        SelectSmallest(items, _k);
        _count = _k;
        ulong worst = 0;
        foreach (ulong item in _items.AsSpan(0, _k))
            worst = Math.Max(worst, item);
        Threshold = W(worst);
    }

    /// <summary>Rearranges <paramref name="items"/> (distinct) so that its first <paramref name="k"/> are its k smallest (quickselect).</summary>
    public static void SelectSmallest(Span<ulong> items, int k)
    {
        if (k <= 0 || k >= items.Length)
            return;
        ref ulong first = ref MemoryMarshal.GetReference(items);
        int lo = 0, hi = items.Length - 1;
        while (lo < hi)
        {
            // Median of three as the pivot, moved to hi; then a branch-free Lomuto partition: the comparisons of random
            // composites are coin flips, which a branching partition pays for with a misprediction each.
            int mid = lo + ((hi - lo) >> 1);
            ulong a = Unsafe.Add(ref first, lo), b = Unsafe.Add(ref first, mid), c = Unsafe.Add(ref first, hi);
            ulong pivot = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
            int at = pivot == a ? lo : pivot == b ? mid : hi;
            Unsafe.Add(ref first, at) = c;
            Unsafe.Add(ref first, hi) = pivot;
            int store = lo;
            for (int j = lo; j < hi; j++)
            {
                ulong v = Unsafe.Add(ref first, j);
                Unsafe.Add(ref first, j) = Unsafe.Add(ref first, store);
                Unsafe.Add(ref first, store) = v;
                store += v < pivot ? 1 : 0;
            }
            Unsafe.Add(ref first, hi) = Unsafe.Add(ref first, store);
            Unsafe.Add(ref first, store) = pivot;
            // items[lo, store) < pivot = items[store] < items(store, hi]
            if (store == k - 1 || store == k)
                return;
            if (store > k)
                hi = store - 1;
            else
                lo = store + 1;
        }
    }
}
