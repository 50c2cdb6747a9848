using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Kernels.Runtime;

namespace Kernels.Benchmarks;

/// <summary>
/// Top-k selection and truncated decode sampling on the <c>cpu</c> backend, fp32 logits, against plain C# in the same
/// run: a sort-based sampling pipeline (sort the row, cut top-k and top-p, sample: the baseline) and a
/// <see cref="PriorityQueue{TElement, TPriority}"/> top-k. Rows run in parallel in every method. <see cref="Setup"/>
/// checks the kernels against them before anything is timed: identical top-k values and indices, and every sampled
/// token inside the kept set the sort computes, and the renormalised top-p probabilities nonzero exactly on the kept set.
/// Bytes = the logits read once (and for the truncation output, [rows, cols] written once).
/// </summary>
[BenchmarkCategory("truncation")]
public class TruncationBenchmarks
{
    /// <summary>k of the top-k methods.</summary>
    public const int K = 50;

    /// <summary>p of the top-p methods.</summary>
    public const float P = 0.9f;

    /// <summary>Temperature of the joint top-k + top-p methods.</summary>
    public const float Temperature = 0.8f;

    /// <summary>min-p of the min-p method (at temperature 1).</summary>
    public const float MinP = 0.1f;

    /// <summary>"ROWSxCOLS": a decode batch of 64 and a single request, vocabulary 128000.</summary>
    [Params("1x128000", "64x128000")]
    public string Shape { get; set; } = "1x128000";

    /// <summary>The logits read once; the truncation output also written once.</summary>
    public static long BytesMoved(string shape, string method)
    {
        var (rows, cols) = Reference.ParseShape(shape);
        return (long)rows * cols * sizeof(float) * (method == nameof(KernelsTopPRenormalize) ? 2 : 1);
    }

    private int _rows, _cols;
    private float[] _logits = [];
    private KernelBuffer<float>? _probabilities;
    private double[] _uniforms = [];
    private int[] _tokens = [];
    private KernelRuntime? _runtime;
    private KernelBuffer<float>? _logitBuffer, _values, _temperatures, _ones, _topP, _minP, _noMinP, _noTopP, _alpha, _tau, _mu;
    private KernelBuffer<int>? _indices, _tokenBuffer, _topK, _noTopK;
    private KernelBuffer<RngKey>? _keys;

    /// <summary>Allocates the data, creates the <c>cpu</c> runtime and verifies every method.</summary>
    [GlobalSetup]
    public void Setup()
    {
        (_rows, _cols) = Reference.ParseShape(Shape);
        _logits = Reference.Logits((long)_rows * _cols, SoftmaxBenchmarks.Seed, SoftmaxBenchmarks.Scale);
        var key = new RngKey(0x5EED);
        _uniforms = Enumerable.Range(0, _rows).Select(r => Variates.Uniform(Rng.Block(Rng.RowKey(key, r), 0, 0).Low64)).ToArray();
        _tokens = new int[_rows];
        _runtime = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        _logitBuffer = _runtime.Upload<float>(_logits);
        _values = _runtime.Allocate<float>(_rows * K);
        _indices = _runtime.Allocate<int>(_rows * K);
        _tokenBuffer = _runtime.Allocate<int>(_rows);
        _temperatures = _runtime.Upload<float>(Enumerable.Repeat(Temperature, _rows).ToArray());
        _ones = _runtime.Upload<float>(Enumerable.Repeat(1f, _rows).ToArray());
        _topK = _runtime.Upload<int>(Enumerable.Repeat(K, _rows).ToArray());
        _noTopK = _runtime.Upload<int>(new int[_rows]);
        _topP = _runtime.Upload<float>(Enumerable.Repeat(P, _rows).ToArray());
        _noTopP = _ones;
        _minP = _runtime.Upload<float>(Enumerable.Repeat(MinP, _rows).ToArray());
        _noMinP = _runtime.Upload<float>(new float[_rows]);
        _alpha = _runtime.Upload<float>(Enumerable.Repeat(0.4f, _rows).ToArray());
        _tau = _runtime.Upload<float>(Enumerable.Repeat(3f, _rows).ToArray());
        _mu = _runtime.Upload<float>(Enumerable.Repeat(6f, _rows).ToArray());
        _probabilities = _runtime.Allocate<float>((long)_rows * _cols);
        _keys = _runtime.Upload<RngKey>(Enumerable.Range(0, _rows).Select(r => Rng.RowKey(key, r)).ToArray());
        Verify();
    }

    /// <summary>Frees the buffers and the runtime (which owns them).</summary>
    [GlobalCleanup]
    public void Cleanup() => _runtime?.Dispose();

    /// <summary>
    /// The baseline: per row, sort the column indices by logit descending (Array.Sort on a copy), keep the first k,
    /// softmax them at temperature T, cut at cumulative mass p, sample by inverse CDF: what a sort-based pipeline does.
    /// </summary>
    [Benchmark(Baseline = true)]
    public void SortTopKTopPSample() =>
        Parallel.For(0, _rows, row => _tokens[row] = SortSample(_logits.AsSpan(row * _cols, _cols), K, P, Temperature, _uniforms[row]));

    /// <summary>Top-k values and indices with a bounded <see cref="PriorityQueue{TElement, TPriority}"/> per row.</summary>
    [Benchmark]
    public int PriorityQueueTopK()
    {
        Parallel.For(0, _rows, row =>
        {
            var queue = new PriorityQueue<int, float>(K + 1);
            var x = _logits.AsSpan(row * _cols, _cols);
            for (int i = 0; i < x.Length; i++)
            {
                if (queue.Count < K)
                    queue.Enqueue(i, x[i]);
                else if (x[i] > x[queue.Peek()])
                    queue.EnqueueDequeue(i, x[i]);
            }
            _tokens[row] = queue.Peek();
        });
        return _tokens[0];
    }

    /// <summary>The library's <see cref="TopK"/>: k = 50 values and indices per row, sorted.</summary>
    [Benchmark]
    public void KernelsTopK() => TopK.Launch(_runtime!, _logitBuffer!, _values!, _indices!, _rows, _cols, K);

    /// <summary><see cref="DecodeSample"/> with top-k 50, top-p 0.9 and temperature 0.8 per row.</summary>
    [Benchmark]
    public ulong KernelsTopKTopPSample() =>
        DecodeSample.Launch(_runtime!, _logitBuffer!, _tokenBuffer!, _rows, _cols, _temperatures!, _topK!, _topP!, _noMinP!, _keys!, 0);

    /// <summary><see cref="DecodeSample"/> with min-p 0.1 at temperature 1 (no top-k, no top-p).</summary>
    [Benchmark]
    public ulong KernelsMinPSample() =>
        DecodeSample.Launch(_runtime!, _logitBuffer!, _tokenBuffer!, _rows, _cols, _ones!, _noTopK!, _noTopP!, _minP!, _keys!, 0);

    /// <summary>
    /// <see cref="TruncatedProbabilities"/>: the renormalised top-p 0.9 distribution at temperature 0.8 over the whole row
    /// (no top-k: the exact cutoff among many columns), written out.
    /// </summary>
    [Benchmark]
    public void KernelsTopPRenormalize() =>
        TruncatedProbabilities.Launch(_runtime!, _logitBuffer!, _probabilities!, _rows, _cols, _temperatures!, _noTopK!, _topP!, _noMinP!);

    /// <summary><see cref="TopHSample"/> with α = 0.4, n = 100 and temperature 1 per row.</summary>
    [Benchmark]
    public ulong KernelsTopHSample() =>
        TopHSample.Launch(_runtime!, _logitBuffer!, _tokenBuffer!, _rows, _cols, _ones!, _alpha!, _keys!, 0);

    /// <summary><see cref="MirostatSample"/> with τ = 3, μ = 6 and η = 0 (μ stays put, so every launch does the same work).</summary>
    [Benchmark]
    public ulong KernelsMirostatSample() =>
        MirostatSample.Launch(_runtime!, _logitBuffer!, _tokenBuffer!, _rows, _cols, _ones!, _tau!, _noMinP!, _mu!, _keys!, 0);

    private static int SortSample(ReadOnlySpan<float> x, int k, float p, float temperature, double u)
    {
        var keys = new float[x.Length];
        var index = new int[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            keys[i] = -x[i];
            index[i] = i;
        }
        Array.Sort(keys, index);
        double max = -keys[0], sum = 0;
        var e = new double[k];
        for (int i = 0; i < k; i++)
            sum += e[i] = Math.Exp((-keys[i] - max) / temperature);
        double cut = p * sum, running = 0;
        int kept = 0;
        while (kept < k && running < cut)
            running += e[kept++];
        double target = u * running, c = 0;
        for (int i = 0; i < kept; i++)
        {
            c += e[i];
            if (c > target)
                return index[i];
        }
        return index[kept - 1];
    }

    private void Verify()
    {
        // Top-k: exactly the sort's first k (ties to the lowest index).
        KernelsTopK();
        var values = _values!.ToArray();
        var indices = _indices!.ToArray();
        for (int r = 0; r < _rows; r++)
        {
            var row = _logits.AsSpan(r * _cols, _cols).ToArray();
            var expected = Enumerable.Range(0, _cols).OrderByDescending(i => row[i]).ThenBy(i => i).Take(K).ToArray();
            if (!indices.Skip(r * K).Take(K).SequenceEqual(expected) || !values.Skip(r * K).Take(K).SequenceEqual(expected.Select(i => row[i])))
                throw new InvalidOperationException($"{nameof(KernelsTopK)} differs from the sorted reference on row {r}.");
        }
        Console.WriteLine($"// verified {nameof(KernelsTopK)}: equal to the sorted reference on {_rows} rows");
        PriorityQueueTopK();

        // Samplers: every token inside the kept set of the sort (which the baseline samples from).
        SortTopKTopPSample();
        CheckKept(nameof(KernelsTopKTopPSample), () => { KernelsTopKTopPSample(); return _tokenBuffer!.ToArray(); }, Temperature, K, P, 0f);
        CheckKept(nameof(SortTopKTopPSample), () => (int[])_tokens.Clone(), Temperature, K, P, 0f);
        KernelsTopPRenormalize();
        var probabilities = _probabilities!.ToArray();
        for (int r = 0; r < _rows; r++)
        {
            var row = _logits.AsSpan(r * _cols, _cols);
            var kept = Reference.KeptSet(row, Reference.Order(row), Temperature, 0, P, 0f);
            for (int c = 0; c < _cols; c++)
            {
                if ((probabilities[(long)r * _cols + c] > 0f) != kept.Contains(c))
                    throw new InvalidOperationException($"{nameof(KernelsTopPRenormalize)}: column {c} of row {r} disagrees with the kept set.");
            }
        }
        CheckKept(nameof(KernelsMinPSample), () => { KernelsMinPSample(); return _tokenBuffer!.ToArray(); }, 1f, 0, 1f, MinP);
        // Top-H keeps a prefix of the top 100; Mirostat's k is not checked here (AdaptiveTests compare it with a reference).
        CheckKept(nameof(KernelsTopHSample), () => { KernelsTopHSample(); return _tokenBuffer!.ToArray(); }, 1f, AdaptiveRules.DefaultTopN, 1f, 0f);
        KernelsMirostatSample();
    }

    private void CheckKept(string name, Func<int[]> run, float temperature, int k, float p, float minP)
    {
        var tokens = run();
        for (int r = 0; r < _rows; r++)
        {
            var row = _logits.AsSpan(r * _cols, _cols);
            var kept = Reference.KeptSet(row, Reference.Order(row), temperature, k, p, minP);
            if (!kept.Contains(tokens[r]))
                throw new InvalidOperationException($"{name}: token {tokens[r]} of row {r} is outside the kept set.");
        }
        Console.WriteLine($"// verified {name}: {_rows} tokens inside the kept set");
    }
}
