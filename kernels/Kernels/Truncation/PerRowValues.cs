using System;

namespace Kernels;

/// <summary>
/// Checks of per-row parameters passed in host spans: there they are arguments and throw (in device buffers they are
/// data and give a per-row status instead).
/// </summary>
internal static class PerRowValues
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the span and the row of the first invalid value.</summary>
    public static void Check(ReadOnlySpan<float> values, Func<float, bool> valid, string domain, string name)
    {
        for (int r = 0; r < values.Length; r++)
        {
            if (!valid(values[r]))
                throw new ArgumentOutOfRangeException(name, values[r], $"{name}[{r}] must be {domain}.");
        }
    }

    /// <summary>Whether a per-row temperature is usable: log2(e)/T finite (T finite, positive, at least 1e-38).</summary>
    public static bool ValidTemperature(float t) => !float.IsNaN(SamplingMath.Log2Scale(t));

    /// <summary>The domain of <see cref="ValidTemperature"/>, for messages.</summary>
    public const string TemperatureDomain = "finite, positive and at least 1e-38";
}
