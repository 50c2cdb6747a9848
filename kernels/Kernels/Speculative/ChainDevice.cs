using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The ILGPU side of chain verification: one group per row. Every thread runs the L accept tests (the same few reads,
/// so control flow stays group-uniform); the final draw — the residual norm(max(0, p − q)) at the first rejection, p at
/// the fallback or the bonus position — is an exact inverse-CDF: each thread sums its contiguous segment of the row in
/// double, one group scan gives the segments' starting sums, the segment holding u·Σ is found by a group minimum and its
/// thread scans it. Loops have group-uniform trip counts (PoCL 3.1). Needs double support.
/// </summary>
public static class ChainDevice
{
    /// <summary>Verifies row <c>Grid.IdxX</c>. Launch with one group per row.</summary>
    public static void Row(ArrayView<float> target, ArrayView<float> draft, ArrayView<int> draftTokens, ArrayView<RngKey> keys,
        ArrayView<double> uniforms, ArrayView<int> accepted, ArrayView<int> emitted, ChainArgs args)
    {
        int b = Grid.IdxX;
        if (b >= args.Batch)
            return;
        int tid = Group.IdxX;
        int size = Group.DimX;
        int length = args.Length;
        int cols = args.Cols;
        long tokenStart = (long)b * length;
        long uniformStart = (long)b * (length + 1);
        var key = args.PerRowKeys != 0 && args.ExplicitUniforms == 0 ? keys[b] : Rng.RowKey(args.Key, b);

        // Every drafted token must index the vocabulary, whether or not verification reaches it.
        bool invalid = false;
        for (int k = 0; k < length; k++)
        {
            int t = draftTokens[tokenStart + k];
            if (t < 0 || t >= cols)
                invalid = true;
        }

        // Accept tests, identical in every thread.
        int stop = length;
        for (int k = 0; k < length; k++)
        {
            if (invalid || stop < length)
                break;
            int t = draftTokens[tokenStart + k];
            float p = target[((long)b * (length + 1) + k) * cols + t];
            float q = draft[(tokenStart + k) * cols + t];
            if (!SpeculativeMath.Valid(p) || !SpeculativeMath.Valid(q))
            {
                invalid = true;
            }
            else
            {
                double u = args.ExplicitUniforms != 0 ? uniforms[uniformStart + k] : Variates.Uniform(Rng.Block(key, (uint)k, args.Offset).Low64);
                if (!SpeculativeMath.Accepts(u, p, q))
                    stop = k;
            }
        }

        // The final draw: residual at a rejection (p if its mass is 0), p at the bonus position.
        int token = SpeculativeMath.Invalid;
        if (!invalid)
        {
            long pRow = ((long)b * (length + 1) + stop) * cols;
            long qRow = (tokenStart + stop) * cols;
            double u = args.ExplicitUniforms != 0 ? uniforms[uniformStart + length] : Variates.Uniform(Rng.Block(key, (uint)length, args.Offset).Low64);
            token = Draw(target, draft, pRow, qRow, stop < length, cols, u, tid, size);
            if (token == DrawNoMass && stop < length)
                token = Draw(target, draft, pRow, qRow, false, cols, u, tid, size);
            invalid = token < 0;
        }

        if (tid == 0)
            accepted[b] = invalid ? SpeculativeMath.Invalid : stop;
        long emittedStart = (long)b * (length + 1);
        for (int first = 0; first <= length; first += size)
        {
            int i = first + tid;
            if (i <= length)
                emitted[emittedStart + i] = invalid || i > stop ? SpeculativeMath.Invalid : i < stop ? draftTokens[tokenStart + i] : token;
        }
    }

    /// <summary>Draw result: the row held a NaN, negative or infinite value.</summary>
    private const int DrawInvalid = -1;

    /// <summary>Draw result: the row's mass is 0.</summary>
    private const int DrawNoMass = -2;

    /// <summary>
    /// Inverse-CDF draw of norm(max(0, p − q)) (or of p when <paramref name="residual"/> is false) with uniform u; every
    /// thread returns the token, <see cref="DrawInvalid"/> or <see cref="DrawNoMass"/>.
    /// </summary>
    private static int Draw(ArrayView<float> target, ArrayView<float> draft, long pRow, long qRow, bool residual, int cols, double u, int tid, int size)
    {
        int segment = (cols + size - 1) / size;
        int begin = tid * segment;
        double own = 0.0;
        int bad = 0;
        int lastOwn = -1;
        for (int j = 0; j < segment; j++)
        {
            int col = begin + j;
            if (col < cols)
            {
                float p = target[pRow + col];
                float q = residual ? draft[qRow + col] : 0f;
                if (!SpeculativeMath.Valid(p) || !SpeculativeMath.Valid(q))
                    bad = 1;
                float r = SpeculativeMath.Residual(p, q);
                own += r;
                if (r > 0f)
                    lastOwn = col;
            }
        }
        bad = GroupReduce.MaxInt(bad);
        var scan = GroupReduce.InclusiveScanDouble(own);
        int lastPositive = GroupReduce.MaxInt(lastOwn);
        double total = scan.Total;
        double goal = u * total;
        int owner = GroupReduce.MinInt(own > 0.0 && scan.Inclusive > goal ? tid : int.MaxValue);

        // The owner scans its segment; rounding can leave u·Σ at or above the last running sum: the last column with mass.
        var chosen = SharedMemory.Allocate<int>(1);
        if (owner == int.MaxValue ? tid == 0 : tid == owner)
        {
            int token = lastPositive;
            if (owner != int.MaxValue)
            {
                token = lastOwn;
                double running = scan.Exclusive;
                for (int j = 0; j < segment; j++)
                {
                    int col = begin + j;
                    if (col < cols)
                    {
                        float r = SpeculativeMath.Residual(target[pRow + col], residual ? draft[qRow + col] : 0f);
                        running += r;
                        if (r > 0f && running > goal)
                        {
                            token = col;
                            break;
                        }
                    }
                }
            }
            chosen[0] = token;
        }
        Group.Barrier();
        int result = chosen[0];
        Group.Barrier();
        if (bad != 0)
            return DrawInvalid;
        return total > 0.0 ? result : DrawNoMass;
    }
}
