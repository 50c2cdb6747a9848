using System.Runtime.InteropServices;

namespace Kernels;

/// <summary>
/// The scalar arguments of one multi-draft or tree verification launch, passed by value to both kernels. A multi-draft
/// row is verified as a virtual tree: node 0 (the position, with the p and q rows) and its k children, the drafts.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct DraftArgs
{
    /// <summary>Rows (requests or positions), B.</summary>
    public int Batch;

    /// <summary>Tree nodes per row, N (a multi-draft launch: k + 1, the position and its k drafts).</summary>
    public int Nodes;

    /// <summary>Vocabulary size, V.</summary>
    public int Cols;

    /// <summary>The algorithm: <see cref="DraftRules.RecursiveRejection"/>, <see cref="DraftRules.KSeq"/> or <see cref="DraftRules.Tree"/>.</summary>
    public int Method;

    /// <summary>1 when keys come per row from a buffer.</summary>
    public int PerRowKeys;

    /// <summary>1 when the uniforms come from a buffer [B, N] (tests: the same decisions as a reference).</summary>
    public int ExplicitUniforms;

    /// <summary>The launch key (row b uses stream Stream + b) when keys are not per row.</summary>
    public RngKey Key;

    /// <summary>The launch offset.</summary>
    public ulong Offset;
}
