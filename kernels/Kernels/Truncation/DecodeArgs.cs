using System.Runtime.InteropServices;

namespace Kernels;

/// <summary>The scalar arguments of one decode-sampler launch, passed by value to both kernels.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct DecodeArgs
{
    /// <summary>Rows.</summary>
    public int Rows;

    /// <summary>Columns (vocabulary size).</summary>
    public int Cols;

    /// <summary>log2(e)/T for a scalar temperature (log2(e) without one).</summary>
    public float Scale;

    /// <summary>1 when temperatures come per row from a buffer.</summary>
    public int PerRowTemperature;

    /// <summary>1 when keys come per row from a buffer.</summary>
    public int PerRowKeys;

    /// <summary>1 when the transform takes a per-element context and a per-row parameter from buffers.</summary>
    public int Context;

    /// <summary>1 when row r adds an offset from a buffer to the launch offset.</summary>
    public int PerRowOffsets;

    /// <summary>1 when the declaration has a top-k stage (k per row from a buffer).</summary>
    public int TopK;

    /// <summary>1 when the declaration has a top-p stage (p per row from a buffer).</summary>
    public int TopP;

    /// <summary>1 when the declaration has a min-p stage (min-p per row from a buffer).</summary>
    public int MinP;

    /// <summary>1 when the rows are probabilities (non-negative, any scale) instead of logits.</summary>
    public int Probabilities;

    /// <summary>1 when a status is written per row.</summary>
    public int WriteStatus;

    /// <summary>The scalar temperature T (1 without one): a masked truncation writes Transform(x)/T.</summary>
    public float Temperature;

    /// <summary>Truncation only: 1 to write masked values (<see cref="TruncationOutput.Masked"/>) instead of renormalised probabilities.</summary>
    public int Masked;

    /// <summary>Pivot-rejection rounds before the exact cutoff (<see cref="TruncationRules.MaxRounds"/>; tests lower it).</summary>
    public int Rounds;

    /// <summary>The launch key (row r uses stream Stream + r) when keys are not per row.</summary>
    public RngKey Key;

    /// <summary>The launch offset.</summary>
    public ulong Offset;
}
