namespace Kernels;

/// <summary>The values a truncation kernel writes, shared by both sides so that they write the same thing.</summary>
public static class TruncationValues
{
    /// <summary>
    /// The value of a column outside the kept set, given the row's outcome: NaN for an invalid row (bad parameter or
    /// data); otherwise 0 for probabilities and masked probabilities, −inf for masked logits (an empty row included).
    /// </summary>
    public static float Outside(SampleStatus outcome, bool masked, bool probabilities)
    {
        if (outcome == SampleStatus.InvalidParameter || outcome == SampleStatus.InvalidData)
            return float.NaN;
        return masked && !probabilities ? float.NegativeInfinity : 0f;
    }

    /// <summary>A kept column's masked value: the transformed probability, or the transformed logit over T.</summary>
    public static float Masked(float transformed, float temperature, bool probabilities) =>
        probabilities ? transformed : transformed / temperature;
}
