using System.Runtime.InteropServices;

namespace Kernels;

/// <summary>The scalar arguments of one Gumbel-top-k launch, passed by value to both kernels.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct GumbelTopKArgs
{
    /// <summary>Rows.</summary>
    public int Rows;

    /// <summary>Columns.</summary>
    public int Cols;

    /// <summary>Indices drawn per row.</summary>
    public int K;

    /// <summary>1/T for a scalar temperature (1 without one).</summary>
    public float InverseTemperature;

    /// <summary>1 when temperatures come per row from a buffer.</summary>
    public int PerRowTemperature;

    /// <summary>1 when keys come per row from a buffer.</summary>
    public int PerRowKeys;

    /// <summary>1 when the Gumbel noise comes from a buffer [rows, cols] (tests).</summary>
    public int ExplicitNoise;

    /// <summary>A <see cref="VariatePrecision"/> value.</summary>
    public int Precision;

    /// <summary>The launch key (row r uses stream Stream + r) when keys are not per row.</summary>
    public RngKey Key;

    /// <summary>The launch offset.</summary>
    public ulong Offset;
}

/// <summary>The scalar arguments of one Gumbel-softmax launch, passed by value to both kernels.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct GumbelSoftmaxArgs
{
    /// <summary>Rows.</summary>
    public int Rows;

    /// <summary>Columns.</summary>
    public int Cols;

    /// <summary>1/τ for a scalar τ (1 without one).</summary>
    public float InverseTau;

    /// <summary>The logit scale κ (MaskLLM's scale multiplier): the kernel perturbs κ·z.</summary>
    public float Scale;

    /// <summary>1 when τ comes per row from a buffer.</summary>
    public int PerRowTemperature;

    /// <summary>1 when keys come per row from a buffer.</summary>
    public int PerRowKeys;

    /// <summary>1 when the Gumbel noise comes from a buffer [rows, cols] (tests).</summary>
    public int ExplicitNoise;

    /// <summary>A <see cref="VariatePrecision"/> value.</summary>
    public int Precision;

    /// <summary>A <see cref="GumbelSoftmaxMode"/> value.</summary>
    public int Mode;

    /// <summary>The launch key (row r uses stream Stream + r) when keys are not per row.</summary>
    public RngKey Key;

    /// <summary>The launch offset.</summary>
    public ulong Offset;
}

/// <summary>The Gumbel noise every Gumbel kernel adds: one variate per (row key, column) at the launch offset.</summary>
public static class GumbelNoise
{
    /// <summary>
    /// The standard Gumbel variate of column <paramref name="column"/>: the first 64 bits of
    /// <c>Rng.Block(key, position: column, offset)</c> through <see cref="Variates.Gumbel(ulong, VariatePrecision)"/>.
    /// </summary>
    public static float At(RngKey key, int column, ulong offset, int precision) =>
        Variates.Gumbel(Rng.Block(key, (uint)column, offset).Low64, (VariatePrecision)precision);
}
