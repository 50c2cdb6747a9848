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

    /// <summary>
    /// Rows sharing one entry of the per-row parameter buffers (temperatures, top-k, top-p, min-p, transform parameters):
    /// row r reads entry r / <see cref="RowsPerParameter"/>; 0 or 1, one entry per row. Speculative verification stages
    /// the L + 1 target (L draft) rows of a request with that request's parameters.
    /// </summary>
    public int RowsPerParameter;

    /// <summary>The entry of the per-row parameter buffers that row <paramref name="row"/> reads.</summary>
    public readonly int ParameterRow(int row) => RowsPerParameter > 1 ? row / RowsPerParameter : row;

    /// <summary>The launch key (row r uses stream Stream + r) when keys are not per row.</summary>
    public RngKey Key;

    /// <summary>The launch offset.</summary>
    public ulong Offset;
}
