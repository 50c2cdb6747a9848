using ILGPU;

namespace Kernels;

/// <summary>
/// The ILGPU side of multi-draft (RSD, K-SEQ) and tree verification: one thread per row, which runs
/// <see cref="DraftRules"/> with serial passes over V (double running sums). Needs double support.
/// </summary>
/// <remarks>
/// One thread per row like <see cref="ChainDevice"/>: no barriers, so PoCL 3.1 compiles it at once; a row costs
/// (1 + rejections)·V reads for RSD and about 50·V for K-SEQ's bisection. A group-parallel form is future work.
/// </remarks>
public static class DraftDevice
{
    /// <summary>Multi-draft verification of row <c>Grid.GlobalIndex.X</c>: slot [B] (−1 none accepted or invalid) and token [B] (−1 invalid).</summary>
    public static void MultiDraftRow(ArrayView<float> target, ArrayView<float> draft, ArrayView<int> draftTokens, ArrayView<RngKey> keys,
        ArrayView<double> uniforms, ArrayView<int> slots, ArrayView<int> tokens, DraftArgs args)
    {
        int b = Grid.GlobalIndex.X;
        if (b >= args.Batch)
            return;
        // Draft i is node i + 1: Token(n) reads draftTokens[b·k + n − 1]. Parents are implicit (draftTokens stands in for
        // the view, never read: a default view in a struct does not compile on PoCL).
        var row = new Row(target, draft, draftTokens, draftTokens, keys, uniforms, args, b, (long)b * (args.Nodes - 1) - 1, (long)b * args.Cols);
        var step = DraftRules.MultiDraftRow(row, args.Nodes, args.Method);
        slots[b] = step.Token < 0 || step.Child < 0 ? -1 : step.Child - 1;
        tokens[b] = step.Token;
    }

    /// <summary>Tree verification of row <c>Grid.GlobalIndex.X</c>: accepted depth [B], path [B, N] and emitted tokens [B, N].</summary>
    public static void TreeRow(ArrayView<float> target, ArrayView<float> draft, ArrayView<int> parents, ArrayView<int> nodeTokens,
        ArrayView<RngKey> keys, ArrayView<double> uniforms, ArrayView<int> accepted, ArrayView<int> path, ArrayView<int> emitted, DraftArgs args)
    {
        int b = Grid.GlobalIndex.X;
        if (b >= args.Batch)
            return;
        int nodes = args.Nodes;
        long start = (long)b * nodes;
        var row = new Row(target, draft, nodeTokens, parents, keys, uniforms, args, b, start, start * args.Cols);
        var outcome = DraftRules.TreeRow(row, nodes);
        accepted[b] = outcome.Depth;
        // The path is the chain of ancestors of the last accepted node, written from the deepest up.
        int node = outcome.Last;
        for (int i = nodes - 1; i >= 0; i--)
        {
            bool onPath = i < outcome.Depth;
            path[start + i] = onPath ? node : -1;
            emitted[start + i] = onPath ? nodeTokens[start + node] : i == outcome.Depth ? outcome.Token : -1;
            if (onPath)
                node = parents[start + node];
        }
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

        public RowSums Scan(int node, bool withDraft)
        {
            var sums = new RowSums { Valid = true };
            long start = _rowStart + (long)node * _cols;
            for (int col = 0; col < _cols; col++)
            {
                float p = _target[start + col];
                float q = withDraft ? _draft[start + col] : 0f;
                sums.Valid = sums.Valid && SpeculativeMath.Valid(p) && SpeculativeMath.Valid(q);
                sums.P += p;
                sums.Q += q;
            }
            return sums;
        }

        public double Total(int node, Residual weights)
        {
            long start = _rowStart + (long)node * _cols;
            bool readsDraft = weights.ReadsDraft;
            double total = 0.0;
            for (int col = 0; col < _cols; col++)
                total += weights.Weight(_target[start + col], readsDraft ? _draft[start + col] : 0f);
            return total;
        }

        public int Draw(int node, Residual weights, double u)
        {
            double total = Total(node, weights);
            if (!(total > 0.0))
                return -1;
            long start = _rowStart + (long)node * _cols;
            bool readsDraft = weights.ReadsDraft;
            double goal = u * total, running = 0.0;
            int token = -1;
            for (int col = 0; col < _cols; col++)
            {
                if (!(running > goal))
                {
                    double w = weights.Weight(_target[start + col], readsDraft ? _draft[start + col] : 0f);
                    running += w;
                    if (w > 0.0)
                        token = col; // the last column with weight, until the running sum passes u·Σ
                }
            }
            return token;
        }
    }
}
