using System;
using System.Linq;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Kernels.Runtime;

namespace Kernels.Benchmarks;

/// <summary>
/// Decode attention on the <c>cpu</c> backend, fp32, one query per head against a KV cache of L keys
/// (H = 32 heads, d = 128, L = 32768: 1 GiB of K and V): the library's kernel against, in the same run, one vectorised
/// read of K and V on every core (the baseline: the memory bandwidth a decode step can reach) and a per-head
/// TensorPrimitives pipeline (Dot per key, SoftMax, MultiplyAdd per key). <see cref="Setup"/> checks both attention
/// methods against float64 attention on sampled heads before timing. Bytes = K and V read once.
/// </summary>
[BenchmarkCategory("attention")]
public class DecodeAttentionBenchmarks
{
    /// <summary>"H{heads} d{dim} L{keys}".</summary>
    [Params("H32 d128 L32768")]
    public string Shape { get; set; } = "H32 d128 L32768";

    private KernelRuntime? _runtime;
    private int _heads, _dim, _keys;
    private float[] _q = [], _k = [], _v = [], _o = [], _lse = [];
    private int[] _lengths = [];

    /// <summary>K and V read once (Q and O are 0.01% of it).</summary>
    public static long BytesMoved(string shape)
    {
        var (h, d, l) = Parse(shape);
        return 2L * h * l * d * sizeof(float);
    }

    /// <summary>Allocates the cache, creates the <c>cpu</c> runtime and verifies the attention methods.</summary>
    [GlobalSetup]
    public void Setup()
    {
        (_heads, _dim, _keys) = Parse(Shape);
        long cache = (long)_heads * _keys * _dim;
        _q = Reference.Logits((long)_heads * _dim, SoftmaxBenchmarks.Seed, 1.0);
        _k = Reference.Logits(cache, SoftmaxBenchmarks.Seed + 1, 1.0);
        _v = Reference.Logits(cache, SoftmaxBenchmarks.Seed + 2, 1.0);
        _o = new float[_heads * _dim];
        _lse = new float[_heads];
        _lengths = new[] { _keys };
        _runtime = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        Verify(nameof(Decode), Decode);
        Verify(nameof(TensorPrimitivesPerHead), TensorPrimitivesPerHead);
    }

    /// <summary>Frees the runtime.</summary>
    [GlobalCleanup]
    public void Cleanup() => _runtime?.Dispose();

    /// <summary>Every element of K and V read once, sixteen lanes at a time, heads spread over the cores as in the kernel.</summary>
    [Benchmark(Baseline = true)]
    public float ReadKeysAndValues()
    {
        var sums = new float[_heads];
        Parallel.For(0, _heads, h =>
        {
            unsafe
            {
                long n = (long)_keys * _dim, start = h * n;
                fixed (float* k = &_k[start], v = &_v[start])
                {
                    var a = Vector512<float>.Zero;
                    var b = Vector512<float>.Zero;
                    for (long i = 0; i < n; i += 16)
                    {
                        a += Vector512.Load(k + i);
                        b += Vector512.Load(v + i);
                    }
                    sums[h] = Vector512.Sum(a + b);
                }
            }
        });
        return sums.Sum();
    }

    /// <summary>The library's decode kernel (<see cref="DecodeAttention128"/>).</summary>
    [Benchmark]
    public void Decode() =>
        DecodeAttention128.Run(_runtime!, _q, _k, _v, _o, _lse, new DecodeShape(1, _heads, _heads, _keys, _dim), _lengths);

    /// <summary>Per head (heads in parallel): TensorPrimitives.Dot per key, SoftMax over the scores, MultiplyAdd per value row.</summary>
    [Benchmark]
    public void TensorPrimitivesPerHead()
    {
        float scale = 1f / MathF.Sqrt(_dim);
        Parallel.For(0, _heads, h =>
        {
            var scores = new float[_keys];
            var q = _q.AsSpan(h * _dim, _dim);
            var o = _o.AsSpan(h * _dim, _dim);
            long head = (long)h * _keys * _dim;
            for (int j = 0; j < _keys; j++)
                scores[j] = TensorPrimitives.Dot(q, _k.AsSpan((int)(head + (long)j * _dim), _dim)) * scale;
            TensorPrimitives.SoftMax(scores, scores);
            o.Clear();
            for (int j = 0; j < _keys; j++)
                TensorPrimitives.MultiplyAdd(_v.AsSpan((int)(head + (long)j * _dim), _dim), scores[j], o, o);
        });
    }

    private void Verify(string name, Action run)
    {
        Array.Fill(_o, float.NaN);
        run();
        double worst = 0;
        foreach (int h in new[] { 0, _heads / 2, _heads - 1 })
        {
            long head = (long)h * _keys * _dim;
            var scores = new double[_keys];
            double max = double.NegativeInfinity;
            for (int j = 0; j < _keys; j++)
            {
                double s = 0;
                for (int c = 0; c < _dim; c++)
                    s += (double)_q[h * _dim + c] * _k[head + (long)j * _dim + c];
                scores[j] = s / Math.Sqrt(_dim);
                max = Math.Max(max, scores[j]);
            }
            var o = new double[_dim];
            double sum = 0;
            for (int j = 0; j < _keys; j++)
            {
                double w = Math.Exp(scores[j] - max);
                sum += w;
                for (int c = 0; c < _dim; c++)
                    o[c] += w * _v[head + (long)j * _dim + c];
            }
            for (int c = 0; c < _dim; c++)
                worst = Math.Max(worst, Math.Abs(_o[h * _dim + c] - o[c] / sum));
        }
        if (!(worst < 1e-4))
            throw new InvalidOperationException($"{name}: max error {worst:E2} against float64 attention");
        Console.WriteLine($"// verified {name} {Shape}: max error vs float64 {worst:E2}");
    }

    private static (int Heads, int Dim, int Keys) Parse(string shape)
    {
        var parts = shape.Split(' ');
        return (int.Parse(parts[0][1..]), int.Parse(parts[1][1..]), int.Parse(parts[2][1..]));
    }
}

/// <summary>
/// One decode step over sinks + window (S = 4, W = 4096, StreamingLLM) against decode over the full cache, on the
/// <c>cpu</c> backend, for contexts of 8k to 128k tokens: 32 query heads over 8 key/value heads (GQA 4), d = 128, fp32.
/// A step appends the token's keys and values to the <see cref="SinkWindowCache"/> (RoPE applied), rotates the query and
/// runs decode attention over the kept 4100 slots: its time must stay flat in the context. The full-cache step reads
/// every key: linear in the context. The cache is filled with the whole context in <see cref="Setup"/>.
/// </summary>
[BenchmarkCategory("attention")]
public class SinkWindowBenchmarks
{
    private const int Heads = 32, KvHeads = 8, Dim = 128, Sinks = 4, Window = 4096;

    /// <summary>Tokens seen before the step.</summary>
    [Params(8192, 32768, 131072)]
    public int Context { get; set; } = 8192;

    private KernelRuntime? _runtime;
    private SinkWindowCache? _cache;
    private const double Theta = 500000;
    private float[] _q = [], _token = [], _o = [], _lse = [], _fullK = [], _fullV = [];
    private int[] _positions = [];
    private KernelBuffer<float>? _qBuffer, _oBuffer, _lseBuffer;
    private KernelBuffer<int>? _positionBuffer;

    /// <summary>Fills the sinks + window cache with the context and allocates the full cache.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _runtime = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        _cache = new SinkWindowCache(_runtime, 1, KvHeads, Dim, Sinks, Window, new RopeOptions(Theta));
        const int chunk = 1024;
        var keys = Reference.Logits((long)KvHeads * chunk * Dim, SoftmaxBenchmarks.Seed, 1.0);
        var values = Reference.Logits((long)KvHeads * chunk * Dim, SoftmaxBenchmarks.Seed + 1, 1.0);
        // Only the last Window tokens and the sinks survive: append the first chunk (the sinks), skip ahead by
        // appending chunks of the same data until the context is reached.
        for (int t = 0; t < Context; t += chunk)
            _cache.Append(keys, values, Math.Min(chunk, Context - t));
        _q = Reference.Logits((long)Heads * Dim, SoftmaxBenchmarks.Seed + 2, 1.0);
        _token = Reference.Logits((long)KvHeads * Dim, SoftmaxBenchmarks.Seed + 3, 1.0);
        _o = new float[Heads * Dim];
        _lse = new float[Heads];
        _positions = new int[Heads];
        _fullK = Reference.Logits((long)KvHeads * Context * Dim, SoftmaxBenchmarks.Seed + 4, 1.0);
        _fullV = Reference.Logits((long)KvHeads * Context * Dim, SoftmaxBenchmarks.Seed + 5, 1.0);
        _qBuffer = _runtime.Allocate<float>(_q.Length);
        _oBuffer = _runtime.Allocate<float>(_o.Length);
        _lseBuffer = _runtime.Allocate<float>(Heads);
        _positionBuffer = _runtime.Allocate<int>(Heads);
        SinkWindowStep();
        if (_cache.Length != Sinks + Window || _cache.Evicted != Context + 1 - Sinks - Window || !_oBuffer.ToArray().All(float.IsFinite))
            throw new InvalidOperationException("the sinks + window step did not keep S + W tokens or wrote a non-finite output");
        Console.WriteLine($"// verified SinkWindowStep context {Context}: {_cache.Length} slots kept, {_cache.Evicted} evicted");
    }

    /// <summary>Frees the cache and the runtime.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var buffer in new IDisposable?[] { _qBuffer, _oBuffer, _lseBuffer, _positionBuffer, _cache })
            buffer?.Dispose();
        _runtime?.Dispose();
    }

    /// <summary>Decode over every key of the context (the contrast: linear in the context).</summary>
    [Benchmark(Baseline = true)]
    public void FullCacheStep() =>
        DecodeAttention128.Run(_runtime!, _q, _fullK, _fullV, _o, _lse, new DecodeShape(1, Heads, KvHeads, Context, Dim), new[] { Context });

    /// <summary>Append one token (RoPE, eviction, sink re-rotation), rotate the query, decode over the 4100 kept slots.</summary>
    [Benchmark]
    public void SinkWindowStep()
    {
        var cache = _cache!;
        cache.Append(_token, _token);
        _qBuffer!.CopyFrom(_q);
        Array.Fill(_positions, (int)cache.QueryPosition);
        _positionBuffer!.CopyFrom(_positions);
        Rope.Launch(_runtime!, _qBuffer, _positionBuffer, Heads, Dim, Theta);
        DecodeAttention128.Launch(_runtime!, _qBuffer, cache.Keys, cache.Values, _oBuffer!, _lseBuffer!,
            new DecodeShape(1, Heads, KvHeads, cache.Capacity, Dim), cache.Lengths);
    }
}
