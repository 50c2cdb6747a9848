using System;

namespace Kernels;

/// <summary>
/// Speculative verification for continuous distributions ("Continuous Speculative Decoding"), on the host: the caller
/// supplies log densities and a sampler of the target; acceptance and the residual are computed in the log domain (ratios
/// of high-dimensional densities overflow), and the residual is sampled by rejection with the target as proposal, with
/// an iteration cap (its expected cost is 1/TV(p, q) proposals).
/// </summary>
/// <remarks>
/// The residual r ∝ max(0, p − q) is drawn by proposing x' ~ p and accepting it with probability
/// max(0, 1 − q(x')/p(x')) (valid because (p − q)₊ ≤ p). Randomness comes from the caller (uniforms and target draws by
/// index), so the same stream gives the same result. No device kernel: the densities come from the caller's model.
/// </remarks>
public static class ContinuousSpeculative
{
    /// <summary>The outcome of one verification.</summary>
    /// <param name="Value">The emitted sample: the draft when accepted, else the residual draw.</param>
    /// <param name="Accepted">Whether the draft was accepted.</param>
    /// <param name="Proposals">Target draws the residual loop used (0 when the draft was accepted).</param>
    /// <param name="Capped">Whether the residual loop hit its cap: <paramref name="Value"/> is then the last proposal, a draw from p, not from the residual.</param>
    public readonly record struct Outcome<T>(T Value, bool Accepted, int Proposals, bool Capped);

    /// <summary>
    /// Accepts a draft with probability min(1, p/q): log u &lt; log p − log q. A target density of 0 (log p = −∞)
    /// rejects; a draft density of 0 with p &gt; 0 accepts; NaN rejects.
    /// </summary>
    public static bool Accepts(double logP, double logQ, double u)
    {
        if (double.IsNaN(logP) || double.IsNaN(logQ) || logP == double.NegativeInfinity)
            return false;
        if (logQ == double.NegativeInfinity)
            return true;
        return Math.Log(u) < logP - logQ;
    }

    /// <summary>
    /// Verifies <paramref name="draft"/> (drawn from q): accepts it with probability min(1, p/q) using uniform 0, else
    /// draws from the residual with <see cref="Residual"/> (uniforms 1, 2, … and target draws 0, 1, …).
    /// </summary>
    public static Outcome<T> Verify<T>(T draft, Func<T, double> logP, Func<T, double> logQ, Func<int, double> uniform,
        Func<int, T> drawFromP, int maxProposals)
    {
        ArgumentNullException.ThrowIfNull(logP);
        ArgumentNullException.ThrowIfNull(logQ);
        ArgumentNullException.ThrowIfNull(uniform);
        if (Accepts(logP(draft), logQ(draft), uniform(0)))
            return new Outcome<T>(draft, true, 0, false);
        return Residual(logP, logQ, i => uniform(i + 1), drawFromP, maxProposals);
    }

    /// <summary>
    /// Draws from norm(max(0, p − q)) by rejection: proposal i is <paramref name="drawFromP"/>(i), accepted when
    /// u_i &lt; 1 − q/p, i.e. log u_i &lt; log(1 − exp(log q − log p)) (a proposal where q ≥ p is always refused). After
    /// <paramref name="maxProposals"/> refusals the last proposal is returned with <c>Capped</c> set.
    /// </summary>
    public static Outcome<T> Residual<T>(Func<T, double> logP, Func<T, double> logQ, Func<int, double> uniform, Func<int, T> drawFromP, int maxProposals)
    {
        ArgumentNullException.ThrowIfNull(logP);
        ArgumentNullException.ThrowIfNull(logQ);
        ArgumentNullException.ThrowIfNull(uniform);
        ArgumentNullException.ThrowIfNull(drawFromP);
        if (maxProposals < 1)
            throw new ArgumentOutOfRangeException(nameof(maxProposals), maxProposals, "at least one proposal is needed.");
        T proposal = default!;
        for (int i = 0; i < maxProposals; i++)
        {
            proposal = drawFromP(i);
            double lp = logP(proposal), lq = logQ(proposal);
            if (double.IsNaN(lp) || double.IsNaN(lq) || lp == double.NegativeInfinity)
                continue;
            double d = lq - lp; // log(q/p)
            if (d >= 0)
                continue; // q ≥ p here: the residual has no mass
            if (Math.Log(uniform(i)) < Log1mExp(d))
                return new Outcome<T>(proposal, false, i + 1, false);
        }
        return new Outcome<T>(proposal, false, maxProposals, true);
    }

    // log(1 − e^d) for d < 0, accurate near 0 and far below (Mächler's log1mexp).
    private static double Log1mExp(double d) =>
        d > -0.6931471805599453 ? Math.Log(-double.ExpM1(d)) : double.LogP1(-Math.Exp(d));
}
