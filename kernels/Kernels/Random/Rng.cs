using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// The library's counter layout over <see cref="Philox4x32"/>, and the choice of variate construction per backend.
/// Every function here is usable inside ILGPU kernels and in CPU code, with identical integer results.
/// </summary>
public static class Rng
{
    /// <summary>
    /// The random block at <paramref name="position"/> of <paramref name="key"/> at launch offset
    /// <paramref name="offset"/>: Philox4x32-10 with counter (position, stream, lo32(offset), hi32(offset)) and key
    /// (lo32(seed), hi32(seed)).
    /// </summary>
    public static RngBlock Block(RngKey key, uint position, ulong offset) =>
        Philox4x32.Generate(
            new RngBlock(position, key.Stream, (uint)offset, (uint)(offset >> 32)),
            (uint)key.Seed, (uint)(key.Seed >> 32));

    /// <summary>
    /// The key of row <paramref name="row"/>: its own key when the launch has per-row keys, else the launch key with
    /// stream <c>Stream + row</c>.
    /// </summary>
    public static RngKey RowKey(RngKey launchKey, int row) => launchKey.WithStreamOffset((uint)row);

    /// <summary>
    /// The variate construction a runtime's kernels use: <see cref="VariatePrecision.Float64"/> on <c>cpu</c> and on
    /// ILGPU devices with double support (CUDA, the emulator, and OpenCL devices with ILGPU's <c>Float64</c> capability,
    /// i.e. <c>cl_khr_fp64</c>), else <see cref="VariatePrecision.Float32"/> (the complement-and-log1p construction, Gumbel cap 44.4).
    /// </summary>
    public static VariatePrecision PrecisionOf(KernelRuntime runtime)
    {
        Guard.Runtime(runtime, nameof(runtime));
        return SupportsFloat64(runtime) ? VariatePrecision.Float64 : VariatePrecision.Float32;
    }

    /// <summary>
    /// Throws <see cref="System.NotSupportedException"/> before a launch when <paramref name="runtime"/> lacks double
    /// support: "<paramref name="what"/> need(s) double support, which … lacks", then <paramref name="instead"/>.
    /// </summary>
    public static void RequireFloat64(KernelRuntime runtime, string what, string instead = "")
    {
        if (!SupportsFloat64(runtime))
            throw new System.NotSupportedException($"{what} double support, which {runtime} lacks.{instead}");
    }

    /// <summary>Whether the runtime's kernels can use doubles (always on <c>cpu</c>).</summary>
    public static bool SupportsFloat64(KernelRuntime runtime) =>
        runtime.Accelerator?.Capabilities is not ILGPU.Runtime.OpenCL.CLCapabilityContext openCl || openCl.Float64;
}

/// <summary>How exponential and Gumbel variates are computed.</summary>
public enum VariatePrecision
{
    /// <summary>
    /// In double from a 52-bit open-interval uniform: E = −ln u, G = −ln E, rounded to float at the end. Gumbel cap
    /// −ln(−ln(1 − 2^-53)) = 36.74. Needs double support on the device.
    /// </summary>
    Float64 = 0,

    /// <summary>
    /// In float from 64 random bits, safe without doubles: the complement v = 1 − u is built near 0 with 24 significant
    /// bits (so v reaches 2^-64), E = −log1p(−v) for v &lt; ¼ and −ln(u) from the complementary bits otherwise, G = −ln E,
    /// all with the library's own float log (bit-identical on every backend). Gumbel cap −ln(2^-64) = 44.36.
    /// </summary>
    Float32 = 1,
}
