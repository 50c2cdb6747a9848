namespace Kernels;

/// <summary>Element rules shared by the sampling kernels, so that the ILGPU and CPU sides compute the same bits.</summary>
public static class SamplingMath
{
    /// <summary>log2(e).</summary>
    public const double Log2E = 1.4426950408889634;

    /// <summary>ln(2).</summary>
    public const double Ln2 = 0.6931471805599453;

    /// <summary>Token (or index) written for a row with nothing to draw or an invalid row.</summary>
    public const int NoToken = -1;

    /// <summary>
    /// log2(e)/T rounded once from double (correctly rounded on every backend), or NaN (which invalidates the row)
    /// unless T is finite and positive and the result finite. Needs double support on the device.
    /// </summary>
    public static float Log2Scale(float temperature)
    {
        // A temperature so small that log2(e)/T overflows is as invalid as 0: NaN, not an infinite scale.
        float scale = temperature > 0f && temperature < float.PositiveInfinity ? (float)(Log2E / temperature) : float.NaN;
        return scale < float.PositiveInfinity ? scale : float.NaN;
    }

    // 1/T and the NaN/+inf row rule are SoftmaxMath.InverseTemperature and SoftmaxMath.Poisons: one rule for every family.
}
