using System.Runtime.InteropServices;

namespace Kernels;

/// <summary>The scalar arguments of one Top-H or Mirostat launch, passed by value to both kernels.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct AdaptiveArgs
{
    /// <summary>Rows.</summary>
    public int Rows;

    /// <summary>Columns (vocabulary size; Mirostat's N).</summary>
    public int Cols;

    /// <summary>1 for Mirostat, 0 for Top-H.</summary>
    public int Mirostat;

    /// <summary>Top-H's n (per launch).</summary>
    public int TopN;

    /// <summary>1 for Top-H's normalised rule (<see cref="TopHMode.Normalized"/>).</summary>
    public int Normalized;

    /// <summary>log2(e)/T for a scalar temperature (log2(e) without one).</summary>
    public float Scale;

    /// <summary>1 when temperatures come per row from a buffer.</summary>
    public int PerRowTemperature;

    /// <summary>1 when keys come per row from a buffer.</summary>
    public int PerRowKeys;

    /// <summary>1 when a status is written per row.</summary>
    public int WriteStatus;

    /// <summary>1 when the kept count is written per row.</summary>
    public int WriteKept;

    /// <summary>The launch key (row r uses stream Stream + r) when keys are not per row.</summary>
    public RngKey Key;

    /// <summary>The launch offset.</summary>
    public ulong Offset;

    /// <summary>How many columns a row ranks: min(n, cols) for Top-H, min(m + 1, cols) for Mirostat.</summary>
    public readonly int Ranked => System.Math.Min(Mirostat != 0 ? AdaptiveRules.MaxRanked : TopN, Cols);

    /// <summary>The row's one uniform (position 0), for the draw.</summary>
    public readonly double Uniform(RngKey key) => Variates.Uniform(Rng.Block(key, 0, Offset).Low64);
}
