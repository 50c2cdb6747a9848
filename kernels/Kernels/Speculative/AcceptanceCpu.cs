using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kernels.Cpu;

namespace Kernels;

/// <summary>
/// The CPU side of the expected-acceptance diagnostic: one read of p and q per (row, position), eight lanes at a time,
/// min in float, sums in float over blocks of 64 columns and in double across blocks; NaN when either distribution holds a NaN, negative or infinite value.
/// </summary>
public static unsafe class AcceptanceCpu
{
    private const int Lanes = 8;

    /// <summary>Computes β for every (row, position).</summary>
    public static void Pairs(nint target, nint draft, nint acceptance, AcceptanceArgs args) =>
        RowScheduler.For(args.Batch * args.Length, 2 * args.Cols, new Job(target, draft, acceptance, args));

    private readonly struct Job(nint target, nint draft, nint acceptance, AcceptanceArgs args) : IRowJob
    {
        public void Run(int start, int end)
        {
            for (int pair = start; pair < end; pair++)
            {
                int b = pair / args.Length, k = pair % args.Length;
                ((float*)acceptance)[pair] = Pair(
                    (float*)target + ((long)b * (args.Length + 1) + k) * args.Cols, (float*)draft + (long)pair * args.Cols, args.Cols);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Pair(float* p, float* q, int cols)
    {
        var infinity = Vector256.Create(float.PositiveInfinity);
        var bad = Vector256<float>.Zero;
        var acc = Vector256<double>.Zero;
        int j = 0;
        // Blocks of 64 columns summed in float (eight partial sums of eight terms each), then added in double.
        for (; j <= cols - 8 * Lanes; j += 8 * Lanes)
        {
            var block = Vector256<float>.Zero;
            for (int i = 0; i < 8 * Lanes; i += Lanes)
            {
                var pv = Vector256.Load(p + j + i);
                var qv = Vector256.Load(q + j + i);
                bad |= ~(Vector256.GreaterThanOrEqual(pv, Vector256<float>.Zero) & Vector256.LessThan(pv, infinity));
                bad |= ~(Vector256.GreaterThanOrEqual(qv, Vector256<float>.Zero) & Vector256.LessThan(qv, infinity));
                block += Vector256.Min(pv, qv);
            }
            var (lo, hi) = Vector256.Widen(block);
            acc += lo + hi;
        }
        for (; j <= cols - Lanes; j += Lanes)
        {
            var pv = Vector256.Load(p + j);
            var qv = Vector256.Load(q + j);
            bad |= ~(Vector256.GreaterThanOrEqual(pv, Vector256<float>.Zero) & Vector256.LessThan(pv, infinity));
            bad |= ~(Vector256.GreaterThanOrEqual(qv, Vector256<float>.Zero) & Vector256.LessThan(qv, infinity));
            var (lo, hi) = Vector256.Widen(Vector256.Min(pv, qv));
            acc += lo + hi;
        }
        double sum = Vector256.Sum(acc);
        bool scalarBad = false;
        for (; j < cols; j++)
        {
            scalarBad |= !SpeculativeMath.Valid(p[j]) || !SpeculativeMath.Valid(q[j]);
            sum += p[j] < q[j] ? p[j] : q[j];
        }
        return scalarBad || bad != Vector256<float>.Zero ? float.NaN : (float)sum;
    }
}
