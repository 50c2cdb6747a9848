namespace Kernels.Device;

/// <summary>Two floats reduced together across a group (a value and a companion: a max and a flag, a mantissa and an exponent).</summary>
public struct FloatPair
{
    /// <summary>First value.</summary>
    public float A;

    /// <summary>Second value.</summary>
    public float B;

    /// <summary>Creates the pair.</summary>
    public FloatPair(float a, float b)
    {
        A = a;
        B = b;
    }
}

/// <summary>An associative, commutative combination of two pairs.</summary>
public interface IPairReduction
{
    /// <summary>Combines <paramref name="x"/> and <paramref name="y"/>.</summary>
    FloatPair Combine(FloatPair x, FloatPair y);
}
