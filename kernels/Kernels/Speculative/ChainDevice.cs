using ILGPU;

namespace Kernels;

/// <summary>
/// The ILGPU side of chain verification: one thread per row (rows are independent), which verifies its row serially —
/// the L accept tests, then the final draw as an exact inverse-CDF with a double running sum over the residual row (or p). The
/// operations and their order are the CPU kernel's, so both take the same decisions except at near-ties of the running
/// sum. Needs double support.
/// </summary>
/// <remarks>
/// Serial on purpose, for now: every group-parallel form of the final draw tried (segment sums, group scans, then the
/// owner's scan of its segment — the categorical sampler's shape) made PoCL 3.1 spend minutes or more compiling the
/// kernel (deep recursion in its barrier handling), so the OpenCL backend could not run it. On a GPU this costs about
/// 2V serial reads per row; a group-parallel draw for CUDA is future work.
/// </remarks>
public static class ChainDevice
{
    /// <summary>Verifies row <c>Grid.GlobalIndex.X</c>. Launch with at least one thread per row.</summary>
    public static void Row(ArrayView<float> target, ArrayView<float> draft, ArrayView<int> draftTokens, ArrayView<RngKey> keys,
        ArrayView<double> uniforms, ArrayView<int> accepted, ArrayView<int> emitted, ChainArgs args)
    {
        int b = Grid.GlobalIndex.X;
        if (b >= args.Batch)
            return;
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

        // The final draw: residual at a rejection (p if its mass is 0), p at the bonus position.
        int token = SpeculativeMath.Invalid;
        if (!invalid)
        {
            long pRow = ((long)b * (length + 1) + stop) * cols;
            long qRow = (tokenStart + stop) * cols;
            bool residual = stop < length;
            double totalResidual = 0.0, totalP = 0.0;
            for (int col = 0; col < cols; col++)
            {
                float p = target[pRow + col];
                float q = residual ? draft[qRow + col] : 0f;
                if (!SpeculativeMath.Valid(p) || !SpeculativeMath.Valid(q))
                    invalid = true;
                totalResidual += SpeculativeMath.Residual(p, q);
                totalP += p;
            }
            bool useResidual = residual && totalResidual > 0.0;
            double total = useResidual ? totalResidual : totalP;
            invalid = invalid || !(total > 0.0);
            if (!invalid)
            {
                double u = args.ExplicitUniforms != 0 ? uniforms[uniformStart + length] : Variates.Uniform(Rng.Block(key, (uint)length, args.Offset).Low64);
                double goal = u * total;
                double running = 0.0;
                for (int col = 0; col < cols; col++)
                {
                    float r = target[pRow + col];
                    if (useResidual)
                        r = SpeculativeMath.Residual(r, draft[qRow + col]);
                    running += r;
                    if (r > 0f)
                    {
                        token = col; // rounding can leave u·Σ at or above the last running sum: the last column with mass
                        if (running > goal)
                            break;
                    }
                }
            }
        }

        accepted[b] = invalid ? SpeculativeMath.Invalid : stop;
        long emittedStart = (long)b * (length + 1);
        for (int i = 0; i <= length; i++)
            emitted[emittedStart + i] = invalid || i > stop ? SpeculativeMath.Invalid : i < stop ? draftTokens[tokenStart + i] : token;
    }
}
