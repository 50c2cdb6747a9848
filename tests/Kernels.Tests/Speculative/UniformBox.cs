using System;
using System.Collections.Generic;
using System.Linq;

namespace Kernels.Tests.Speculative;

/// <summary>
/// The uniforms that select one branch of a verifier: uniform c must lie in [Lo[c], Hi[c]) — an accept test of
/// threshold a is [0, a), its rejection [a, 1), a final draw's token v the interval of its cumulative mass
/// [C_v/S, C_{v+1}/S); unused counters span [0, 1) and are not probed. Exact-enumeration tests launch the midpoints and, to pin the
/// thresholds themselves, uniforms just inside each edge (<see cref="Edges"/>): a verifier whose accept rule or
/// residual sampler is biased by more than about 1e-9 of an interval moves an edge past a probe and takes another branch.
/// </summary>
public sealed record UniformBox(double[] Lo, double[] Hi, bool[] Used)
{
    /// <summary>How far inside an edge a probe lies, relative to the interval's width...</summary>
    public const double Inset = 1e-9;

    /// <summary>
    /// ...and at least this far: the kernels' thresholds agree with the float64 references to about 1e-15 (chain, RSD)
    /// and 1e-13 (K-SEQ's ρ is found to 2^-44); intervals narrower than four times this are not probed.
    /// </summary>
    public const double MinInset = 1e-12;

    /// <summary>A box of <paramref name="counters"/> unconstrained uniforms.</summary>
    public static UniformBox Full(int counters) => new(new double[counters], Enumerable.Repeat(1.0, counters).ToArray(), new bool[counters]);

    /// <summary>This box with counter <paramref name="c"/> restricted to [lo, hi).</summary>
    public UniformBox With(int c, double lo, double hi)
    {
        var l = (double[])Lo.Clone();
        var h = (double[])Hi.Clone();
        var used = (bool[])Used.Clone();
        l[c] = lo;
        h[c] = hi;
        used[c] = true;
        return new UniformBox(l, h, used);
    }

    /// <summary>The midpoint of every interval.</summary>
    public double[] Mid => Lo.Zip(Hi, (l, h) => (l + h) / 2).ToArray();

    /// <summary>
    /// The edge probes: for each counter the branch uses, the midpoints with that counter moved inside its lower edge, then
    /// its upper edge, by <see cref="Inset"/> of the width or <see cref="MinInset"/>, whichever is more. A used counter may
    /// span all of [0, 1) (an accept test with p ≥ q): its probe near 1 catches a rule that rejects there.
    /// </summary>
    public IEnumerable<double[]> Edges()
    {
        var mid = Mid;
        for (int c = 0; c < Lo.Length; c++)
        {
            double width = Hi[c] - Lo[c], inset = Math.Max(Inset * width, MinInset);
            if (!Used[c] || width < 4 * inset)
                continue;
            foreach (double u in new[] { Lo[c] + inset, Hi[c] - inset })
            {
                var probe = (double[])mid.Clone();
                probe[c] = u;
                yield return probe;
            }
        }
    }

    /// <summary>
    /// The uniforms of a set of boxes' probes, flattened, with the index of the box of each probe: all of them, or at most
    /// <paramref name="most"/> evenly spaced (the emulators, where a row costs a group of threads).
    /// </summary>
    public static (double[] Uniforms, int[] Box) Probes(IReadOnlyList<UniformBox> boxes, int most = int.MaxValue)
    {
        var all = boxes.SelectMany((box, i) => box.Edges().Select(u => (U: u, Box: i))).ToList();
        var kept = all.Count <= most ? all : Enumerable.Range(0, most).Select(j => all[(int)((long)j * all.Count / most)]).ToList();
        return (kept.SelectMany(p => p.U).ToArray(), kept.Select(p => p.Box).ToArray());
    }
}
