using System;
using System.Linq;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Kernels.Runtime;

namespace Kernels.Benchmarks;

/// <summary>
/// Decode attention on the <c>cpu</c> backend, fp32, one query per head against a KV cache of L keys
/// (H = 32 heads, d = 128, L = 32768: 1 GiB of K and V): the library's kernel against, in the same run, a read of K and
/// V on every core (the baseline: the memory bandwidth a decode step can reach) and a per-head TensorPrimitives pipeline
/// (Dot per key, SoftMax, MultiplyAdd per key). K and V live in 64-byte aligned native memory, as in a
/// <see cref="KernelBuffer{T}"/>, and every method reads the same memory. <see cref="Setup"/> checks both attention
/// methods against float64 attention on sampled heads before timing. Bytes = K and V read once.
/// </summary>
/// <remarks>
/// The baseline is the fastest simple read found on this machine: both streams of a head read together, sixteen lanes
/// a load, with a software prefetch 2 KB ahead (one core alone does not keep enough lines in flight without it;
/// <see cref="ReadKeysAndValuesPlain"/>, the same loop without prefetch, is kept in the run to show the difference).
/// Reading K then V per head, or in 128 KB chunks, or unrolled with four accumulators, was no faster in probes.
/// </remarks>
[BenchmarkCategory("attention")]
public unsafe class DecodeAttentionBenchmarks
{
    /// <summary>"H{heads} d{dim} L{keys}".</summary>
    [Params("H32 d128 L32768")]
    public string Shape { get; set; } = "H32 d128 L32768";

    private const int PrefetchBytes = 2048;
    private KernelRuntime? _runtime;
    private int _heads, _dim, _keys;
    private long _cache;
    private float* _k, _v;
    private float[] _q = [], _o = [], _lse = [];
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
        _cache = (long)_heads * _keys * _dim;
        _q = Reference.Logits((long)_heads * _dim, SoftmaxBenchmarks.Seed, 1.0);
        _k = Aligned(Reference.Logits(_cache, SoftmaxBenchmarks.Seed + 1, 1.0));
        _v = Aligned(Reference.Logits(_cache, SoftmaxBenchmarks.Seed + 2, 1.0));
        _o = new float[_heads * _dim];
        _lse = new float[_heads];
        _lengths = new[] { _keys };
        _runtime = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        Verify(nameof(Decode), Decode);
        Verify(nameof(TensorPrimitivesPerHead), TensorPrimitivesPerHead);
    }

    /// <summary>Frees the cache and the runtime.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _runtime?.Dispose();
        NativeMemory.AlignedFree(_k);
        NativeMemory.AlignedFree(_v);
        _k = _v = null;
    }

    /// <summary>Every element of K and V read once, sixteen lanes at a time with a prefetch ahead, heads spread over the cores.</summary>
    [Benchmark(Baseline = true)]
    public float ReadKeysAndValues() => Read(prefetch: true);

    /// <summary>The library's decode kernel (<see cref="DecodeAttention128"/>) on the same memory.</summary>
    [Benchmark]
    public void Decode() =>
        DecodeAttention128.Run(_runtime!, _q, Keys(0, _cache), Values(0, _cache), _o, _lse,
            new DecodeShape(1, _heads, _heads, _keys, _dim), _lengths);

    /// <summary><see cref="ReadKeysAndValues"/> without the software prefetch.</summary>
    [Benchmark]
    public float ReadKeysAndValuesPlain() => Read(prefetch: false);

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
                scores[j] = TensorPrimitives.Dot(q, Keys(head + (long)j * _dim, _dim)) * scale;
            TensorPrimitives.SoftMax(scores, scores);
            o.Clear();
            for (int j = 0; j < _keys; j++)
                TensorPrimitives.MultiplyAdd(Values(head + (long)j * _dim, _dim), scores[j], o, o);
        });
    }

    private float Read(bool prefetch)
    {
        var sums = new float[_heads];
        Parallel.For(0, _heads, h =>
        {
            long n = (long)_keys * _dim, start = h * n;
            float* k = _k + start, v = _v + start;
            var a = Vector512<float>.Zero;
            var b = Vector512<float>.Zero;
            if (prefetch && Sse.IsSupported)
            {
                for (long i = 0; i < n; i += 16)
                {
                    Sse.Prefetch0((byte*)(k + i) + PrefetchBytes);
                    Sse.Prefetch0((byte*)(v + i) + PrefetchBytes);
                    a += Vector512.Load(k + i);
                    b += Vector512.Load(v + i);
                }
            }
            else
            {
                for (long i = 0; i < n; i += 16)
                {
                    a += Vector512.Load(k + i);
                    b += Vector512.Load(v + i);
                }
            }
            sums[h] = Vector512.Sum(a + b);
        });
        return sums.Sum();
    }

    private ReadOnlySpan<float> Keys(long offset, long count) => new(_k + offset, checked((int)count));

    private ReadOnlySpan<float> Values(long offset, long count) => new(_v + offset, checked((int)count));

    private static float* Aligned(float[] data)
    {
        var memory = (float*)NativeMemory.AlignedAlloc((nuint)data.LongLength * sizeof(float), 64);
        data.AsSpan().CopyTo(new Span<float>(memory, data.Length));
        return memory;
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
