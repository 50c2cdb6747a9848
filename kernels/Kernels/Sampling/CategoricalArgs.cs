using System.Runtime.InteropServices;

namespace Kernels;

/// <summary>The scalar arguments of one categorical-sampler launch, passed by value to both kernels.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct CategoricalArgs
{
    /// <summary>Rows.</summary>
    public int Rows;

    /// <summary>Columns (vocabulary size).</summary>
    public int Cols;

    /// <summary>Draws per row.</summary>
    public int Samples;

    /// <summary>log2(e)/T for a scalar temperature (log2(e) without one).</summary>
    public float Scale;

    /// <summary>1 when temperatures come per row from a buffer.</summary>
    public int PerRowTemperature;

    /// <summary>1 when keys come per row from a buffer.</summary>
    public int PerRowKeys;

    /// <summary>1 when log-probabilities are written.</summary>
    public int WriteLogProbs;

    /// <summary>1 when the uniforms come from a buffer [rows, samples] (tests: the same decisions as a reference).</summary>
    public int ExplicitUniforms;

    /// <summary>The launch key (row r uses stream Stream + r) when keys are not per row.</summary>
    public RngKey Key;

    /// <summary>The launch offset.</summary>
    public ulong Offset;
}
