using System.Runtime.InteropServices;

namespace Kernels;

/// <summary>The scalar arguments of one chain-verification launch, passed by value to both kernels.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ChainArgs
{
    /// <summary>Rows (requests), B.</summary>
    public int Batch;

    /// <summary>Drafted tokens per row, L.</summary>
    public int Length;

    /// <summary>Vocabulary size, V.</summary>
    public int Cols;

    /// <summary>1 when keys come per row from a buffer.</summary>
    public int PerRowKeys;

    /// <summary>1 when the uniforms come from a buffer [B, L + 1] (tests: the same decisions as a reference).</summary>
    public int ExplicitUniforms;

    /// <summary>The launch key (row b uses stream Stream + b) when keys are not per row.</summary>
    public RngKey Key;

    /// <summary>The launch offset.</summary>
    public ulong Offset;
}

/// <summary>The scalar arguments of one expected-acceptance launch.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct AcceptanceArgs
{
    /// <summary>Rows (requests), B.</summary>
    public int Batch;

    /// <summary>Drafted positions per row, L.</summary>
    public int Length;

    /// <summary>Vocabulary size, V.</summary>
    public int Cols;
}
