using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kernels.Cpu;

namespace Kernels;

/// <summary>
/// The CPU side of multi-draft (RSD, K-SEQ) and tree verification: rows spread over cores, each running its
/// <see cref="DraftMachine"/> with passes over V eight floats at a time (weights and sums in double, four lanes); a draw
/// sums blocks of 64 columns, walks the block sums to the block holding the goal u·Σ and rescans its columns.
/// </summary>
public static unsafe class DraftCpu
{
    private const int Lanes = 8;
    private const int BlockSize = 64;

    [ThreadStatic] private static double[]? t_blocks;

    /// <summary>Verifies every multi-draft row.</summary>
    public static void MultiDraftRows(nint target, nint draft, nint draftTokens, nint keys, nint uniforms, nint slots, nint tokens, DraftArgs args) =>
        // RSD reads a row pair a few times; K-SEQ's root search about a dozen: schedule by that.
        RowScheduler.For(args.Batch, (args.Method == DraftRules.KSeq ? 24 : 4) * args.Cols,
            new MultiJob(target, draft, draftTokens, keys, uniforms, slots, tokens, args));

    /// <summary>Verifies every tree row.</summary>
    public static void TreeRows(nint target, nint draft, nint parents, nint nodeTokens, nint keys, nint uniforms, nint accepted, nint path, nint emitted, DraftArgs args) =>
        RowScheduler.For(args.Batch, 2 * args.Cols, new TreeJob(target, draft, parents, nodeTokens, keys, uniforms, accepted, path, emitted, args));

    private static double[] Blocks(int cols)
    {
        int blocks = (cols + BlockSize - 1) / BlockSize;
        return t_blocks is { } s && s.Length >= blocks ? s : (t_blocks = new double[blocks]);
    }

    private readonly struct MultiJob(nint target, nint draft, nint draftTokens, nint keys, nint uniforms, nint slots, nint tokens, DraftArgs args) : IRowJob
    {
        public void Run(int start, int end)
        {
            fixed (double* blockSums = Blocks(args.Cols))
            {
                for (int b = start; b < end; b++)
                {
                    // Draft i is node i + 1: Token(n) reads draftTokens[b·k + n − 1].
                    var row = new Row((float*)target, (float*)draft, (int*)draftTokens + (long)b * (args.Nodes - 1) - 1, null,
                        (RngKey*)keys, (double*)uniforms, blockSums, args, b, (long)b * args.Cols);
                    var machine = Verify(row, args);
                    ((int*)slots)[b] = machine.Token < 0 || machine.Last < 0 ? -1 : machine.Last - 1;
                    ((int*)tokens)[b] = machine.Token;
                }
            }
        }
    }

    private readonly struct TreeJob(nint target, nint draft, nint parents, nint nodeTokens, nint keys, nint uniforms, nint accepted, nint path, nint emitted, DraftArgs args) : IRowJob
    {
        public void Run(int start, int end)
        {
            int nodes = args.Nodes;
            fixed (double* blockSums = Blocks(args.Cols))
            {
                for (int b = start; b < end; b++)
                {
                    long first = (long)b * nodes;
                    int* tokens = (int*)nodeTokens + first;
                    int* parent = (int*)parents + first;
                    var row = new Row((float*)target, (float*)draft, tokens, parent, (RngKey*)keys, (double*)uniforms, blockSums, args, b, first * args.Cols);
                    var outcome = Verify(row, args);
                    ((int*)accepted)[b] = outcome.Depth;
                    int* pathRow = (int*)path + first;
                    int* emittedRow = (int*)emitted + first;
                    int node = outcome.Last;
                    for (int i = nodes - 1; i >= 0; i--)
                    {
                        bool onPath = i < outcome.Depth;
                        pathRow[i] = onPath ? node : -1;
                        emittedRow[i] = onPath ? tokens[node] : i == outcome.Depth ? outcome.Token : -1;
                        if (onPath)
                            node = parent[node];
                    }
                }
            }
        }
    }

    private static DraftMachine Verify(Row row, DraftArgs args)
    {
        var machine = DraftMachine.Start(row, args.Nodes, args.Method);
        while (!machine.Done)
        {
            if (machine.Drawing)
                machine.Advance(row, 0.0, row.Draw(machine.Node, machine.Weights, machine.DrawTarget));
            else
                machine.Advance(row, row.Total(machine.Node, machine.Weights), -1);
        }
        return machine;
    }

    /// <summary>One row's view of the buffers (node n's p row at <c>rowStart + n·V</c>), with vectorised passes.</summary>
    private readonly struct Row : IDraftRow
    {
        private readonly float* _target, _draft;
        private readonly int* _tokens, _parents;
        private readonly double* _uniforms, _blockSums;
        private readonly RngKey _key;
        private readonly ulong _offset;
        private readonly int _cols;
        private readonly bool _explicit;

        public Row(float* target, float* draft, int* tokens, int* parents, RngKey* keys, double* uniforms, double* blockSums, DraftArgs args, int b, long rowStart)
        {
            _target = target + rowStart;
            _draft = draft + rowStart;
            _tokens = tokens;
            _parents = parents;
            _explicit = args.ExplicitUniforms != 0;
            _uniforms = uniforms + (long)b * args.Nodes;
            _blockSums = blockSums;
            _key = args.PerRowKeys != 0 && !_explicit ? keys[b] : Rng.RowKey(args.Key, b);
            _offset = args.Offset;
            _cols = args.Cols;
        }

        public int Cols => _cols;

        public int Token(int node) => _tokens[node];

        public int Parent(int node) => _parents == null ? (node == 0 ? -1 : 0) : _parents[node];

        public double Uniform(int counter) =>
            _explicit ? _uniforms[counter] : Variates.Uniform(Rng.Block(_key, (uint)counter, _offset).Low64);

        public float P(int node, int col) => _target[(long)node * _cols + col];

        public float Q(int node, int col) => _draft[(long)node * _cols + col];

        public double Total(int node, Residual weights) => Sum(_target + (long)node * _cols, _draft + (long)node * _cols, 0, _cols, weights);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static double Sum(float* p, float* q, int begin, int end, Residual weights)
        {
            bool readsDraft = weights.ReadsDraft;
            var acc = Vector256<double>.Zero;
            int j = begin;
            for (; j <= end - Lanes; j += Lanes)
            {
                var (pLo, pHi) = Vector256.Widen(Vector256.Load(p + j));
                var (qLo, qHi) = readsDraft ? Vector256.Widen(Vector256.Load(q + j)) : (Vector256<double>.Zero, Vector256<double>.Zero);
                acc += weights.Weight(pLo, qLo) + weights.Weight(pHi, qHi);
            }
            double sum = Vector256.Sum(acc);
            for (; j < end; j++)
                sum += weights.Weight(p[j], readsDraft ? q[j] : 0f);
            return sum;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Draw(int node, Residual weights, double goal)
        {
            float* p = _target + (long)node * _cols;
            float* q = _draft + (long)node * _cols;
            bool readsDraft = weights.ReadsDraft;
            int blocks = (_cols + BlockSize - 1) / BlockSize;
            double total = 0.0;
            for (int block = 0; block < blocks; block++)
            {
                double s = Sum(p, q, block * BlockSize, Math.Min((block + 1) * BlockSize, _cols), weights);
                _blockSums[block] = s;
                total += s;
            }
            if (!(total > 0.0))
                return -1;
            double running = 0.0;
            int found = 0;
            while (found < blocks && !(running + _blockSums[found] > goal))
                running += _blockSums[found++];
            int last = -1;
            if (found == blocks)
            {
                // The goal at or above the total (rounding): the last column with weight.
                for (int i = _cols - 1; last < 0; i--)
                {
                    if (weights.Weight(p[i], readsDraft ? q[i] : 0f) > 0.0)
                        last = i;
                }
                return last;
            }
            int end = Math.Min((found + 1) * BlockSize, _cols);
            for (int i = found * BlockSize; i < end; i++)
            {
                double w = weights.Weight(p[i], readsDraft ? q[i] : 0f);
                if (w > 0.0)
                {
                    running += w;
                    last = i;
                    if (running > goal)
                        return i;
                }
            }
            return last; // rounding within the block: its last column with weight
        }
    }
}
