using System;
using NUnit.Framework;

namespace Kernels.Tests.Infrastructure;

/// <summary>Element-wise comparison against a float64 reference, with a message that locates the first failure.</summary>
public static class Compare
{
    /// <summary>
    /// |actual − expected| ≤ relative·|expected| + absolute, per element; NaN must match NaN and ±inf must match exactly.
    /// </summary>
    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double relative, double absolute, string what, int cols = 0)
    {
        Assert.That(actual.Length, Is.GreaterThanOrEqualTo(expected.Length), what + ": output length");
        for (int i = 0; i < expected.Length; i++)
        {
            double a = actual[i], e = expected[i];
            bool ok = double.IsNaN(e) ? double.IsNaN(a)
                : double.IsInfinity(e) ? a == e
                : !double.IsNaN(a) && Math.Abs(a - e) <= relative * Math.Abs(e) + absolute;
            if (!ok)
            {
                string where = cols > 0 ? $"row {i / cols}, col {i % cols}" : $"index {i}";
                Assert.Fail($"{what}: at {where} got {a:R}, expected {e:R} (tolerance {relative:E1} rel + {absolute:E1} abs)");
            }
        }
    }
}
