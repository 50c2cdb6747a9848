// This file is linked into the generator (generators/Kernels.Generators): keep it free of dependencies.
namespace Kernels;

/// <summary>What a softmax-family kernel writes.</summary>
public enum SoftmaxOutput
{
    /// <summary>Probabilities [rows, cols].</summary>
    Probabilities = 0,

    /// <summary>Log-probabilities [rows, cols].</summary>
    LogProbabilities = 1,

    /// <summary>The log of the normaliser, one value per row [rows].</summary>
    LogSumExp = 2,
}

/// <summary>The positive map applied before normalising.</summary>
public enum SoftmaxActivation
{
    /// <summary>exp(z): the ordinary softmax.</summary>
    Softmax = 0,

    /// <summary>StableMax s(z) = z + 1 for z ≥ 0, 1 / (1 − z) for z &lt; 0 ("Grokking at the Edge of Numerical Stability").</summary>
    StableMax = 1,
}

/// <summary>How a kernel takes its temperature T (the logits are multiplied by 1/T).</summary>
public enum TemperatureMode
{
    /// <summary>No temperature parameter (T = 1).</summary>
    None = 0,

    /// <summary>One scalar for the whole launch.</summary>
    Scalar = 1,

    /// <summary>One value per row, from a buffer (per-request temperatures).</summary>
    PerRow = 2,
}
