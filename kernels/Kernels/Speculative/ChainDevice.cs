using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The ILGPU side of chain verification: one group per row. Every thread runs the L accept tests itself (two floats
/// each, the same reads and decisions, so the outcome is group-uniform without a barrier); the final draw is then a
/// <see cref="ChainMachine"/> driven through <see cref="SegmentDraw"/> steps — the residual's (or p's) group total, then
/// the inverse-CDF draw in which each thread sums its contiguous segment, one group scan locates the segment holding u·Σ
/// and its owner rescans it. The decisions are the CPU kernel's except at near-ties of the running sum (the sums are
/// taken in another order). Needs double support.
/// </summary>
/// <remarks>
/// One loop driven by the uniform machine state, with <see cref="SegmentDraw.Step"/> its only barrier site: the shape
/// that PoCL 3.1's work-group compiler handles (earlier group-parallel forms with several inlined reductions made it
/// recurse for minutes).
/// </remarks>
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
        var measure = new FinalRow
        {
            Target = target,
            Draft = draft,
            PRow = ((long)b * (length + 1) + stop) * cols,
            QRow = (tokenStart + stop) * cols,
        };
        var machine = ChainMachine.Start(invalid, stop < length);
        double uFinal = args.ExplicitUniforms != 0 ? uniforms[uniformStart + length] : Variates.Uniform(Rng.Block(key, (uint)length, args.Offset).Low64);
        int segment = (cols + Group.DimX - 1) / Group.DimX;
        int begin = tid * segment;
        while (!machine.Done)
        {
            bool drawing = machine.Drawing;
            measure.Residual = machine.UsesResidual ? 1 : 0;
            var step = SegmentDraw.Step(measure, begin, segment, cols, drawing, drawing ? uFinal * machine.Mass : 0.0);
            machine.Advance(step.Total, step.Column);
        }

        invalid = machine.Invalid;
        if (tid == 0)
            accepted[b] = invalid ? SpeculativeMath.Invalid : stop;
        long emittedStart = (long)b * (length + 1);
        // A group-uniform trip count with the bound inside (PoCL 3.1 and thread-dependent loops in kernels with barriers).
        for (int first = 0; first <= length; first += Group.DimX)
        {
            int i = first + tid;
            if (i <= length)
                emitted[emittedStart + i] = invalid || i > stop ? SpeculativeMath.Invalid : i < stop ? draftTokens[tokenStart + i] : machine.Token;
        }
    }

    /// <summary>A column's weight in the final draw: max(0, p − q) or p; NaN for a value that is NaN, negative or infinite.</summary>
    private struct FinalRow : ISegmentMeasure
    {
        public ArrayView<float> Target, Draft;
        public long PRow, QRow;
        public int Residual;

        public readonly double Measure(int col)
        {
            float p = Target[PRow + col];
            float q = Residual != 0 ? Draft[QRow + col] : 0f;
            return SpeculativeMath.Valid(p) && SpeculativeMath.Valid(q) ? SpeculativeMath.Residual(p, q) : double.NaN;
        }
    }
}

/// <summary>
/// The uniform state of a chain row's final draw on ILGPU: the residual's total (falling back to p's when it is 0), then
/// the draw. Every thread holds the same state and takes the same steps.
/// </summary>
public struct ChainMachine
{
    private const int Sum = 0, Draw = 1, Finished = 2;

    private int _stage;
    private int _residual;

    /// <summary>The total the draw scales its uniform by.</summary>
    public double Mass;

    /// <summary>The drawn token (−1 until drawn).</summary>
    public int Token;

    /// <summary>Whether the row is invalid (a bad value read, or no mass).</summary>
    public bool Invalid;

    /// <summary>Starts a row: nothing to do when it is already invalid; else sum the residual (after a rejection) or p.</summary>
    public static ChainMachine Start(bool invalid, bool residual) => new()
    {
        _stage = invalid ? Finished : Sum,
        _residual = residual ? 1 : 0,
        Token = SpeculativeMath.Invalid,
        Invalid = invalid,
    };

    /// <summary>Whether the row is finished.</summary>
    public readonly bool Done => _stage == Finished;

    /// <summary>Whether this step draws.</summary>
    public readonly bool Drawing => _stage == Draw;

    /// <summary>Whether this step weighs columns by the residual max(0, p − q) (else by p).</summary>
    public readonly bool UsesResidual => _residual != 0;

    /// <summary>Takes a step's group total (or drawn column).</summary>
    public void Advance(double total, int column)
    {
        if (_stage == Draw)
        {
            Token = column;
            _stage = Finished;
        }
        else if (double.IsNaN(total) || double.IsInfinity(total))
        {
            Invalid = true; // a NaN, negative or infinite value (explicit IsNaN: PoCL folds ordered compares with NaN)
            _stage = Finished;
        }
        else if (!(total > 0.0) && _residual != 0)
        {
            _residual = 0; // the residual's mass rounded to 0: draw from p
        }
        else if (!(total > 0.0))
        {
            Invalid = true;
            _stage = Finished;
        }
        else
        {
            Mass = total;
            _stage = Draw;
        }
    }
}
