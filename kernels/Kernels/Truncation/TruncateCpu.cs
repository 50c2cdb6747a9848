using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kernels.Cpu;

namespace Kernels;

/// <summary>
/// The CPU side of the truncation kernel: the decode sampler's one read and staging of S (<see cref="DecodeCpu"/>),
/// then the exact top-p cutoff (<see cref="StagedDraw.KeptSet"/>) and one write of the row. Same kept set as
/// <see cref="DecodeDevice.Truncate"/>.
/// </summary>
public static unsafe class TruncateCpu
{
    private const int Lanes = 8;

    /// <summary>Writes every row's truncated distribution with transform <typeparamref name="T"/>.</summary>
    public static void Rows<T>(nint logits, nint temperatures, nint keys, nint topK, nint topP, nint minP, nint context, nint parameters,
        nint output, nint status, DecodeArgs args)
        where T : struct, ILogitTransform =>
        RowScheduler.For(args.Rows, args.Cols, new Job<T>(logits, temperatures, topK, topP, minP, context, parameters, output, status, args));

    private readonly struct Job<T>(nint logits, nint temperatures, nint topK, nint topP, nint minP, nint context, nint parameters, nint output,
        nint status, DecodeArgs args) : IRowJob
        where T : struct, ILogitTransform
    {
        public void Run(int start, int end)
        {
            if (args.Context != 0)
                Run<RowPass.WithContext>(start, end);
            else
                Run<RowPass.Plain>(start, end);
        }

        private void Run<TIn>(int start, int end) where TIn : struct, RowPass.IInput
        {
            var scratch = RowScratch.For(args.Cols);
            for (int row = start; row < end; row++)
            {
                long at = (long)row * args.Cols;
                var outcome = Row<T, TIn>(row, DecodeCpu.Input<TIn>(row, logits, context, parameters, args), (float*)output + at, args, scratch.Rows,
                    scratch.TopK, (float*)temperatures, (int*)topK, (float*)topP, (float*)minP);
                if (args.WriteStatus != 0)
                    ((int*)status)[row] = (int)outcome;
            }
        }
    }

    /// <summary>Writes row <paramref name="row"/>'s truncated distribution into <paramref name="y"/>; returns its outcome.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static SampleStatus Row<T, TIn>(int row, TIn x, float* y, DecodeArgs args, RowScratch.Buffers b, TopKCollector collector,
        float* temperatures, int* topK, float* topP, float* minPs)
        where T : struct, ILogitTransform
        where TIn : struct, RowPass.IInput
    {
        int cols = args.Cols;
        bool masked = args.Masked != 0, probabilities = args.Probabilities != 0;
        var outcome = DecodeCpu.Prepare<T, TIn>(row, x, args, b, collector, temperatures, topK, topP, minPs, out var setup);
        float outside = TruncationValues.Outside(outcome, masked, probabilities);
        if (outcome != SampleStatus.Sampled)
        {
            new Span<float>(y, cols).Fill(outside);
            return outcome;
        }
        var write = new Writer<TIn>
        {
            X = x,
            Y = y,
            Masked = masked,
            Probabilities = probabilities,
            Temperature = args.PerRowTemperature != 0 ? temperatures[args.ParameterRow(row)] : args.Temperature,
        };
        int n = DecodeCpu.StageCandidates(cols, setup, b, collector, out bool gathered);
        if (gathered)
        {
            new Span<float>(y, cols).Fill(outside);
            var columns = new GatheredColumns(b.CandidateCols);
            write.Mass = Kept(b.CandidateW, b.CandidateE, columns, n, setup.P, out write.HasPivot, out write.PivotW, out write.PivotCol);
            for (int i = 0; i < n; i++)
            {
                if (write.Keeps(b.CandidateW[i], b.CandidateE[i], b.CandidateCols[i]))
                    y[b.CandidateCols[i]] = write.Value<T>(b.CandidateE[i], b.CandidateCols[i]);
            }
            return outcome;
        }
        write.Mass = Kept(b.W, b.E, new DenseColumns(), n, setup.P, out write.HasPivot, out write.PivotW, out write.PivotCol);
        write.Dense<T>(b.W, b.E, cols, outside);
        return outcome;
    }

    // The kept set of S (a pivot when top-p truncates) and its mass.
    private static double Kept<TCols>(float* w, float* e, TCols cols, int padded, float p, out bool hasPivot, out float pivotW, out int pivotCol)
        where TCols : struct, IColumns
    {
        double total = StagedDraw.MassBefore(w, e, cols, padded, false, 0f, 0);
        hasPivot = p < 1f;
        pivotW = 0f;
        pivotCol = 0;
        return hasPivot ? StagedDraw.KeptSet(w, e, cols, padded, p * total, out pivotW, out pivotCol) : total;
    }

    private struct Writer<TIn> where TIn : struct, RowPass.IInput
    {
        public TIn X;
        public float* Y;
        public bool Masked, Probabilities, HasPivot;
        public float Temperature, PivotW;
        public int PivotCol;
        public double Mass;

        public readonly bool Keeps(float w, float e, int col) => e > 0f && (!HasPivot || Device.KeyIndex.Before(w, col, PivotW, PivotCol));

        // A kept column's value (as DecodeDevice.Truncate computes it).
        public readonly float Value<T>(float e, int col) where T : struct, ILogitTransform =>
            Masked ? TruncationValues.Masked(X.Transformed<T>(col), Temperature, Probabilities) : e * (float)(1.0 / Mass);

        // The whole staged row: probabilities eight lanes at a time, masked values column by column where kept.
        public readonly void Dense<T>(float* w, float* e, int cols, float outside) where T : struct, ILogitTransform
        {
            if (Masked)
            {
                for (int i = 0; i < cols; i++)
                    Y[i] = Keeps(w[i], e[i], i) ? Value<T>(e[i], i) : outside;
                return;
            }
            var inverse = Vector256.Create((float)(1.0 / Mass));
            var pw = Vector256.Create(PivotW);
            var pc = Vector256.Create(PivotCol);
            int last = cols & ~(Lanes - 1), c = 0;
            for (; c < last; c += Lanes)
            {
                var kept = Vector256.Load(e + c);
                if (HasPivot)
                    kept &= StagedDraw.BeforeMask(Vector256.Load(w + c), Vector256.Create(c) + Vector256<int>.Indices, pw, pc);
                Vector256.Store(kept * inverse, Y + c);
            }
            for (; c < cols; c++)
                Y[c] = Keeps(w[c], e[c], c) ? e[c] * inverse.GetElement(0) : outside;
        }
    }
}
