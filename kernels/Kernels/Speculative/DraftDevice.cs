using ILGPU;
using Kernels.Device;

namespace Kernels;

/// <summary>
/// The ILGPU side of multi-draft (RSD, K-SEQ) and tree verification: one group per row, running the row's
/// <see cref="DraftMachine"/> with every pass a <see cref="SegmentDraw"/> step (each thread sums its contiguous segment
/// of the node's row, one group scan; a draw's owner rescans its segment). Needs double support.
/// </summary>
/// <remarks>
/// One loop driven by the uniform machine state with <see cref="SegmentDraw.Step"/> its only barrier site: the shape
/// PoCL 3.1's work-group compiler handles. A row costs two passes over V per visited node plus one per RSD rejection, and
/// about a dozen for K-SEQ (ρ).
/// </remarks>
public static class DraftDevice
{
    /// <summary>Multi-draft verification of row <c>Grid.IdxX</c>: slot [B] (−1 none accepted or invalid) and token [B] (−1 invalid). One group per row.</summary>
    public static void MultiDraftRow(ArrayView<float> target, ArrayView<float> draft, ArrayView<int> draftTokens, ArrayView<RngKey> keys,
        ArrayView<double> uniforms, ArrayView<int> slots, ArrayView<int> tokens, DraftArgs args)
    {
        int b = Grid.IdxX;
        if (b >= args.Batch)
            return;
        // Draft i is node i + 1: Token(n) reads draftTokens[b·k + n − 1]. Parents are implicit (draftTokens stands in for
        // the view, never read: a default view in a struct does not compile on PoCL).
        var row = new Row(target, draft, draftTokens, draftTokens, keys, uniforms, args, b, (long)b * (args.Nodes - 1) - 1, (long)b * args.Cols);
        var machine = Run(row, args);
        if (Group.IdxX == 0)
        {
            slots[b] = machine.Token < 0 || machine.Last < 0 ? -1 : machine.Last - 1;
            tokens[b] = machine.Token;
        }
    }

    /// <summary>Tree verification of row <c>Grid.IdxX</c>: accepted depth [B], path [B, N] and emitted tokens [B, N]. One group per row.</summary>
    public static void TreeRow(ArrayView<float> target, ArrayView<float> draft, ArrayView<int> parents, ArrayView<int> nodeTokens,
        ArrayView<RngKey> keys, ArrayView<double> uniforms, ArrayView<int> accepted, ArrayView<int> path, ArrayView<int> emitted, DraftArgs args)
    {
        int b = Grid.IdxX;
        if (b >= args.Batch)
            return;
        int nodes = args.Nodes;
        long start = (long)b * nodes;
        var row = new Row(target, draft, nodeTokens, parents, keys, uniforms, args, b, start, start * args.Cols);
        var machine = Run(row, args);
        if (Group.IdxX == 0)
        {
            accepted[b] = machine.Depth;
            // The path is the chain of ancestors of the last accepted node, written from the deepest up.
            int node = machine.Last;
            for (int i = nodes - 1; i >= 0; i--)
            {
                bool onPath = i < machine.Depth;
                path[start + i] = onPath ? node : -1;
                emitted[start + i] = onPath ? nodeTokens[start + node] : i == machine.Depth ? machine.Token : -1;
                if (onPath)
                    node = parents[start + node];
            }
        }
    }

    private static DraftMachine Run(Row row, DraftArgs args)
    {
        var machine = DraftMachine.Start(row, args.Nodes, args.Method);
        int cols = args.Cols;
        int segment = (cols + Group.DimX - 1) / Group.DimX;
        int begin = Group.IdxX * segment;
        while (!machine.Done)
        {
            bool drawing = machine.Drawing;
            var measure = new Pass { Row = row, Node = machine.Node, Weights = machine.Weights };
            var step = SegmentDraw.Step(measure, begin, segment, cols, drawing, drawing ? machine.DrawTarget : 0.0);
            machine.Advance(row, step.Total, step.Column);
        }
        return machine;
    }

    /// <summary>A column's weight in a pass over a node's row.</summary>
    private struct Pass : ISegmentMeasure
    {
        public Row Row;
        public int Node;
        public Residual Weights;

        public readonly double Measure(int col) => Weights.Weight(Row.P(Node, col), Weights.ReadsDraft ? Row.Q(Node, col) : 0f);
    }

    /// <summary>One row's view of the buffers: node n's p row starts at <c>rowStart + n·V</c>.</summary>
    private readonly struct Row : IDraftRow
    {
        private readonly ArrayView<float> _target, _draft;
        private readonly ArrayView<int> _tokens, _parents;
        private readonly ArrayView<double> _uniforms;
        private readonly RngKey _key;
        private readonly ulong _offset;
        private readonly long _tokenStart, _rowStart, _uniformStart;
        private readonly int _cols, _explicit, _virtual;

        public Row(ArrayView<float> target, ArrayView<float> draft, ArrayView<int> tokens, ArrayView<int> parents, ArrayView<RngKey> keys,
            ArrayView<double> uniforms, DraftArgs args, int b, long tokenStart, long rowStart)
        {
            _target = target;
            _draft = draft;
            _tokens = tokens;
            _parents = parents;
            _uniforms = uniforms;
            _explicit = args.ExplicitUniforms;
            _key = args.PerRowKeys != 0 && args.ExplicitUniforms == 0 ? keys[b] : Rng.RowKey(args.Key, b);
            _offset = args.Offset;
            _tokenStart = tokenStart;
            _rowStart = rowStart;
            _uniformStart = (long)b * args.Nodes;
            _cols = args.Cols;
            _virtual = args.Method == DraftRules.Tree ? 0 : 1;
        }

        public int Cols => _cols;

        public int Token(int node) => _tokens[_tokenStart + node];

        public int Parent(int node) => _virtual != 0 ? (node == 0 ? -1 : 0) : _parents[_tokenStart + node];

        public double Uniform(int counter) =>
            _explicit != 0 ? _uniforms[_uniformStart + counter] : Variates.Uniform(Rng.Block(_key, (uint)counter, _offset).Low64);

        public float P(int node, int col) => _target[_rowStart + (long)node * _cols + col];

        public float Q(int node, int col) => _draft[_rowStart + (long)node * _cols + col];
    }
}
