using System;
using System.Globalization;
using System.Reflection;

namespace Kernels.Benchmarks;

/// <summary>
/// The bytes a benchmark method must move, from its class's static <c>BytesMoved(string shape, string method)</c> when
/// the methods of a class move different amounts, else <c>BytesMoved(string shape)</c>; null when the class has neither.
/// </summary>
public static class BytesMoved
{
    /// <summary>The bytes <paramref name="method"/> of <paramref name="type"/> moves for <paramref name="shape"/>.</summary>
    public static long? Of(Type type, string shape, string method)
    {
        const BindingFlags flags = BindingFlags.Public | BindingFlags.Static;
        object? value = type.GetMethod(nameof(BytesMoved), flags, [typeof(string), typeof(string)]) is { } perMethod
            ? perMethod.Invoke(null, [shape, method])
            : type.GetMethod(nameof(BytesMoved), flags, [typeof(string)])?.Invoke(null, [shape]);
        return value is long or int ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : null;
    }
}
