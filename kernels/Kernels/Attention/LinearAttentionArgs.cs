using System.Runtime.InteropServices;

namespace Kernels;

/// <summary>The positive feature map φ of a <see cref="LinearAttention"/>.</summary>
public enum LinearFeatureMap
{
    /// <summary>φ(x)ᵢ = elu(xᵢ) + 1 (x + 1 for x &gt; 0, eˣ otherwise): as many features as the head dimension.</summary>
    EluPlusOne = 0,

    /// <summary>
    /// Positive random features (FAVOR+): φ(x)ⱼ = exp(ωⱼ·x̃ − ‖x̃‖²/2) with x̃ = x·d^(-1/4) and ωⱼ ~ N(0, I) drawn from a
    /// key, so that E[φ(q)·φ(k)] = exp(q·k/√d), the softmax kernel. (Performer's factor m^(-1/2) cancels in the ratio and
    /// is left out.)
    /// </summary>
    PositiveRandom = 1,
}

/// <summary>The scalar arguments of one linear-attention launch, passed by value to both kernels.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct LinearAttentionArgs
{
    /// <summary>Heads (batch × heads), one state each.</summary>
    public int Heads;

    /// <summary>Tokens in this launch.</summary>
    public int Tokens;

    /// <summary>Query/key dimension d.</summary>
    public int HeadDim;

    /// <summary>Value dimension.</summary>
    public int ValueDim;

    /// <summary>Features m.</summary>
    public int Features;

    /// <summary>A <see cref="LinearFeatureMap"/> value.</summary>
    public int Map;

    /// <summary>1 when the launch adds its keys and values to the state.</summary>
    public int Update;

    /// <summary>1 when the launch reads queries and writes outputs (after each token's update when both are set: causal).</summary>
    public int Query;

    /// <summary>d^(-1/4), the input scale of <see cref="LinearFeatureMap.PositiveRandom"/>.</summary>
    public float InputScale;
}
