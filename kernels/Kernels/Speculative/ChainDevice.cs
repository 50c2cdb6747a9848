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

        // Accept tests, identical in every thread (no early exit: PoCL 3.1 wants plain control flow around barriers).
        int stop = length;
        for (int k = 0; k < length; k++)
        {
            if (!invalid && stop == length)
            {
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
        }

        // The final draw, run by every row (its rows are in bounds whatever stop is) so that every barrier is reached
        // unconditionally: residual at a rejection (p if its mass is 0), p at the bonus position.
        long pRow = ((long)b * (length + 1) + stop) * cols;
        long qRow = (tokenStart + stop) * cols;
        bool residual = stop < length;
        double final = args.ExplicitUniforms != 0 ? uniforms[uniformStart + length] : Variates.Uniform(Rng.Block(key, (uint)length, args.Offset).Low64);
        int segment = (cols + size - 1) / size;
        int begin = tid * segment;
        double ownResidual = 0.0, ownP = 0.0;
        int bad = 0;
        for (int j = 0; j < segment; j++)
        {
            int col = begin + j;
            if (col < cols)
            {
                float p = target[pRow + col];
                float q = residual ? draft[qRow + col] : 0f;
                if (!SpeculativeMath.Valid(p) || !SpeculativeMath.Valid(q))
                    bad = 1;
                ownResidual += SpeculativeMath.Residual(p, q);
                ownP += p;
            }
        }
        bad = GroupReduce.MaxInt(bad);
        bool useResidual = residual && GroupReduce.SumDouble(ownResidual) > 0.0;
        double own = useResidual ? ownResidual : ownP;
        var scan = GroupReduce.InclusiveScanDouble(own);
        double goal = final * scan.Total;
        int owner = GroupReduce.MinInt(own > 0.0 && scan.Inclusive > goal ? tid : int.MaxValue);
        int lastOwner = GroupReduce.MaxInt(own > 0.0 ? tid : -1);
        invalid = invalid || bad != 0 || !(scan.Total > 0.0);

        // No barrier from here on (PoCL 3.1 hangs on a data-dependent scan followed by one): every thread writes its
        // share of the emitted row, and the thread holding u·Σ scans its segment and writes the extra token itself.
        if (tid == 0)
            accepted[b] = invalid ? SpeculativeMath.Invalid : stop;
        long emittedStart = (long)b * (length + 1);
        for (int first = 0; first <= length; first += size)
        {
            int i = first + tid;
            if (i <= length && (invalid || i != stop))
                emitted[emittedStart + i] = invalid || i > stop ? SpeculativeMath.Invalid : draftTokens[tokenStart + i];
        }
        // Rounding can leave u·Σ at or above the last running sum: then the last thread with mass takes its last column with mass.
        if (!invalid && (owner == int.MaxValue ? tid == lastOwner : tid == owner))
        {
            int token = SpeculativeMath.Invalid;
            double running = scan.Exclusive;
            for (int j = 0; j < segment; j++)
            {
                int col = begin + j;
                if (col < cols)
                {
                    float r = target[pRow + col];
                    if (useResidual)
                        r = SpeculativeMath.Residual(r, draft[qRow + col]);
                    running += r;
                    if (r > 0f)
                    {
                        token = col;
                        if (owner != int.MaxValue && running > goal)
                            break;
                    }
                }
            }
            emitted[emittedStart + stop] = token;
        }
    }
}
