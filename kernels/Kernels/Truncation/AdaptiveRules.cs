using System;

namespace Kernels;

/// <summary>A row's columns in the order (w descending, column ascending), as far as they were ranked.</summary>
public interface ISortedRow
{
    /// <summary>w of the column at <paramref name="rank"/> (0 = the row's max).</summary>
    float W(int rank);

    /// <summary>The column at <paramref name="rank"/>.</summary>
    int Column(int rank);
}

/// <summary>
/// The decisions of the Top-H and Mirostat samplers (<see cref="AdaptiveSampler"/>), taken from the row's top columns
/// in the order, so that the ILGPU and CPU kernels take them with the same code.
/// </summary>
/// <remarks>
/// <para>Both work on w = Transform(x)·log2(e)/T, M = max w, e = 2^(w − M) and Z = Σ e over the whole row, so that
/// p_i = e_i/Z and −log2 p_i = log2 Z − (w_i − M): no logarithm of a tiny p is taken, and p_i = 0 (e underflowed or
/// w = −inf) contributes 0 to an entropy (0·log 0 := 0).</para>
/// <para><b>Top-H</b> (reference code, ErfanBaghaei/Top-H-Decoding <c>logit_processor.py</c>): with the top
/// n' = min(n, cols) columns in the order, τ = α·Σ_{i&lt;n'} −p_i log2 p_i; the kept set is the longest prefix whose
/// partial entropy H_c = Σ_{i&lt;c} −p_i log2 p_i stays ≤ τ, at least 1 and at most n' columns. α = 1 keeps n' (the
/// reference's IndexError), α = 0 keeps the top column (with its zero-probability followers, which are never drawn).</para>
/// <para><b>Mirostat</b> (v1, basusourya/mirostat): ŝ = Σ_{i&lt;m} ln(p_i/p_{i+1})·b_i / Σ_{i&lt;m} b_i² with
/// b_i = ln((i+2)/(i+1)) and ln(p_i/p_{i+1}) = ln2·(w_i − w_{i+1}) (finite even where p underflows to 0); m is
/// min(3000, A − 1) with A the number of finite w in the top 3001, so −inf logits (p exactly 0) end the list and
/// m = 0 gives ŝ = 0. ε̂ = ŝ − 1; ε̂ ≤ 0 does not truncate (k = cols); otherwise
/// k = round((ε̂·2^μ/(1 − N^{−ε̂}))^{1/ŝ}) + 1 with N = cols (the reference hard-codes 50000), computed in log2,
/// rounded half up and clamped to [1, cols]. The surprise of the drawn x uses the untruncated p:
/// S = log2 Z − (w_x − M), and μ ← μ − η(S − τ).</para>
/// </remarks>
public static class AdaptiveRules
{
    /// <summary>Mirostat's m: the number of consecutive ratios the Zipf exponent is fitted to.</summary>
    public const int MirostatM = 3000;

    /// <summary>The most columns ranked per row (Mirostat's m + 1; Top-H ranks n).</summary>
    public const int MaxRanked = MirostatM + 1;

    /// <summary>Top-H's default n.</summary>
    public const int DefaultTopN = 100;

    /// <summary>The largest Top-H n.</summary>
    public const int MaxTopN = MirostatM;

    /// <summary>log2 of a positive double (Math.Log, which every backend has).</summary>
    public static double Log2(double x) => Math.Log(x) * SamplingMath.Log2E;

    /// <summary>Whether a per-row Top-H α is in its domain [0, 1].</summary>
    public static bool ValidAlpha(float alpha) => !float.IsNaN(alpha) && alpha >= 0f && alpha <= 1f;

    /// <summary>Whether per-row Mirostat parameters are in their domains: τ ≥ 0, η ≥ 0 and μ finite.</summary>
    public static bool ValidMirostat(float tau, float eta, float mu) => ValidRate(tau) && ValidRate(eta) && ValidMu(mu);

    /// <summary>Whether a Mirostat target surprise τ or learning rate η is in its domain: finite and non-negative.</summary>
    public static bool ValidRate(float value) =>
        !float.IsNaN(value) && value >= 0f && value < float.PositiveInfinity; // explicit NaN: PoCL 3.1 lets NaN through the compares

    /// <summary>Whether a Mirostat μ is in its domain: finite.</summary>
    public static bool ValidMu(float mu) => !float.IsNaN(mu) && mu > float.NegativeInfinity && mu < float.PositiveInfinity;

    /// <summary>−p log2 p of a column with w = <paramref name="w"/> (0 when p = 0).</summary>
    public static double Entropy(float w, float max, double total, double log2Total)
    {
        float d = w - max;
        float e = PortableMath.Exp2(d);
        return e > 0f ? e / total * (log2Total - d) : 0.0;
    }

    /// <summary>Top-H's kept count among the first <paramref name="n"/> (≥ 1) columns of <paramref name="row"/>.</summary>
    public static int TopHCount<TRow>(TRow row, int n, float max, double total, float alpha) where TRow : struct, ISortedRow
    {
        double log2Total = Log2(total);
        double entropy = 0.0;
        for (int i = 0; i < n; i++)
            entropy += Entropy(row.W(i), max, total, log2Total);
        double bound = alpha * entropy;
        // The same terms summed in the same order: α = 1 never stops early.
        double h = Entropy(row.W(0), max, total, log2Total);
        int kept = 1;
        for (int i = 1; i < n; i++)
        {
            h += Entropy(row.W(i), max, total, log2Total);
            if (h > bound)
                break;
            kept = i + 1;
        }
        return kept;
    }

    /// <summary>
    /// The entropy in bits of the whole row's distribution from Z = Σ e and <paramref name="spread"/> = Σ e·(M − w):
    /// −Σ p log2 p = log2 Z + spread/Z.
    /// </summary>
    public static double RowEntropy(double total, double spread) => Log2(total) + spread / total;

    /// <summary>A column's term of <see cref="RowEntropy"/>'s spread: e·(M − w), 0 where e = 0.</summary>
    public static double Spread(float w, float max, float e) => e > 0f ? e * ((double)max - w) : 0.0;

    /// <summary>
    /// Top-H's normalised kept count: the greedy prefix of the first <paramref name="n"/> columns whose renormalised
    /// entropy H(q_c) = H_c/σ_c + log2 σ_c (H_c the partial entropy, σ_c the partial mass) stays ≤ α·H(p), with H(p)
    /// <paramref name="entropy"/>; at least 1 (a single column has H(q) = 0).
    /// </summary>
    public static int TopHNormalizedCount<TRow>(TRow row, int n, float max, double total, float alpha, double entropy) where TRow : struct, ISortedRow
    {
        double log2Total = Log2(total);
        double bound = alpha * entropy;
        double h = Entropy(row.W(0), max, total, log2Total);
        double mass = PortableMath.Exp2(row.W(0) - max) / total;
        int kept = 1;
        for (int i = 1; i < n; i++)
        {
            float e = PortableMath.Exp2(row.W(i) - max);
            if (!(e > 0f))
                break; // zero-probability columns add nothing and are never drawn
            h += Entropy(row.W(i), max, total, log2Total);
            mass += e / total;
            if (h / mass + Log2(mass) > bound)
                break;
            kept = i + 1;
        }
        return kept;
    }

    /// <summary>Mirostat's Zipf exponent ŝ from the first <paramref name="ranked"/> columns of <paramref name="row"/>.</summary>
    public static double ZipfExponent<TRow>(TRow row, int ranked) where TRow : struct, ISortedRow
    {
        int available = 0;
        while (available < ranked && row.W(available) > float.NegativeInfinity)
            available++;
        int m = Math.Min(MirostatM, available - 1);
        double num = 0.0, den = 0.0;
        for (int i = 0; i < m; i++)
        {
            double b = Math.Log((i + 2.0) / (i + 1.0));
            num += ((double)row.W(i) - row.W(i + 1)) * b;
            den += b * b;
        }
        return m > 0 ? SamplingMath.Ln2 * num / den : 0.0;
    }

    /// <summary>Mirostat's k in [1, cols] for exponent <paramref name="s"/> and state <paramref name="mu"/>.</summary>
    public static int MirostatK(double s, float mu, int cols)
    {
        double eps = s - 1.0;
        if (!(eps > 0.0))
            return cols;
        // log2 of (ε̂·2^μ/(1 − N^−ε̂))^(1/ŝ); N = 1 gives +inf (no truncation).
        double x = (Log2(eps) + mu - Log2(1.0 - Math.Exp(-eps * Math.Log(cols)))) / s;
        if (!(x < 31.0))
            return cols;
        double k = Math.Floor(Math.Exp(x * SamplingMath.Ln2) + 0.5) + 1.0;
        return k >= cols ? cols : (int)k;
    }

    /// <summary>Mirostat's next μ after drawing a column with w = <paramref name="w"/>: μ − η(S − τ).</summary>
    public static float NextMu(float mu, float tau, float eta, float w, float max, double total) =>
        (float)(mu - eta * (Surprise(w, max, total) - tau));

    /// <summary>The surprise log2(1/p) of a column with w = <paramref name="w"/> under the untruncated softmax.</summary>
    public static double Surprise(float w, float max, double total) => Log2(total) - (w - max);
}

/// <summary>
/// The decision of one adaptive sampler, as a type argument of its ILGPU kernel so that each kernel holds only its own
/// rule (smaller kernels, shorter OpenCL compiles).
/// </summary>
public interface IAdaptiveRule
{
    /// <summary>Whether this is Mirostat (per-row τ, η, μ and the μ update) rather than Top-H (per-row α).</summary>
    bool Mirostat { get; }

    /// <summary>Whether the rule needs the whole row's entropy (one more pass).</summary>
    bool NeedsEntropy { get; }

    /// <summary>
    /// The kept count in [1, cols] from the first <paramref name="ranked"/> columns of <paramref name="row"/>
    /// (<paramref name="entropy"/>: the row's entropy in bits when <see cref="NeedsEntropy"/>).
    /// </summary>
    int Count<TRow>(TRow row, int ranked, float max, double total, int cols, float alpha, float mu, double entropy) where TRow : struct, ISortedRow;
}

/// <summary>Top-H's rule (<see cref="AdaptiveRules.TopHCount"/>).</summary>
public readonly struct TopHRule : IAdaptiveRule
{
    /// <inheritdoc/>
    public bool Mirostat => false;

    /// <inheritdoc/>
    public bool NeedsEntropy => false;

    /// <inheritdoc/>
    public int Count<TRow>(TRow row, int ranked, float max, double total, int cols, float alpha, float mu, double entropy) where TRow : struct, ISortedRow =>
        AdaptiveRules.TopHCount(row, ranked, max, total, alpha);
}

/// <summary>Top-H's normalised rule (<see cref="AdaptiveRules.TopHNormalizedCount"/>).</summary>
public readonly struct TopHNormalizedRule : IAdaptiveRule
{
    /// <inheritdoc/>
    public bool Mirostat => false;

    /// <inheritdoc/>
    public bool NeedsEntropy => true;

    /// <inheritdoc/>
    public int Count<TRow>(TRow row, int ranked, float max, double total, int cols, float alpha, float mu, double entropy) where TRow : struct, ISortedRow =>
        AdaptiveRules.TopHNormalizedCount(row, ranked, max, total, alpha, entropy);
}

/// <summary>Mirostat's rule (<see cref="AdaptiveRules.ZipfExponent"/>, <see cref="AdaptiveRules.MirostatK"/>).</summary>
public readonly struct MirostatRule : IAdaptiveRule
{
    /// <inheritdoc/>
    public bool Mirostat => true;

    /// <inheritdoc/>
    public bool NeedsEntropy => false;

    /// <inheritdoc/>
    public int Count<TRow>(TRow row, int ranked, float max, double total, int cols, float alpha, float mu, double entropy) where TRow : struct, ISortedRow =>
        AdaptiveRules.MirostatK(AdaptiveRules.ZipfExponent(row, ranked), mu, cols);
}
