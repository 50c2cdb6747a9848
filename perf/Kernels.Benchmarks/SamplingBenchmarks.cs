using System;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Kernels.Runtime;

namespace Kernels.Benchmarks;

/// <summary>
/// Categorical sampling, one token per row of 64 x 128000 fp32 logits at temperature 0.8 on the <c>cpu</c> backend,
/// against a plain C# softmax-then-inverse-CDF sampler (rows in parallel) as the baseline. All methods draw with the
/// same uniforms (the library's Philox stream), so <see cref="Setup"/> checks that they return the same tokens (and
/// the float64 reference's) before anything is timed.
/// </summary>
[BenchmarkCategory("sampling")]
public class SamplingBenchmarks
{
    /// <summary>Rows (a decode batch).</summary>
    public const int Rows = 64;

    /// <summary>Vocabulary size.</summary>
    public const int Cols = 128000;

    /// <summary>The sampling temperature.</summary>
    public const float Temperature = 0.8f;

    private static readonly RngKey Key = new(0x5EED, 0);
    private const ulong Offset = 7;

    private float[] _logits = [];
    private int[] _tokens = new int[Rows];
    private double[] _uniforms = new double[Rows];
    private KernelRuntime? _runtime;
    private KernelBuffer<float>? _logitBuffer;
    private KernelBuffer<int>? _tokenBuffer;
    private KernelBuffer<float>? _logProbBuffer;
    private KernelBuffer<float>? _temperatureBuffer;
    private KernelBuffer<RngKey>? _keyBuffer;

    /// <summary>Allocates the data, creates the <c>cpu</c> runtime and verifies every method.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _logits = Reference.Logits((long)Rows * Cols, SoftmaxBenchmarks.Seed, SoftmaxBenchmarks.Scale);
        for (int r = 0; r < Rows; r++)
            _uniforms[r] = Variates.Uniform(Rng.Block(Rng.RowKey(Key, r), 0, Offset).Low64);
        _runtime = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        _logitBuffer = _runtime.Upload<float>(_logits);
        _tokenBuffer = _runtime.Allocate<int>(Rows);
        _logProbBuffer = _runtime.Allocate<float>(Rows);
        var temperatures = new float[Rows];
        Array.Fill(temperatures, Temperature);
        _temperatureBuffer = _runtime.Upload<float>(temperatures);
        var keys = new RngKey[Rows];
        for (int r = 0; r < Rows; r++)
            keys[r] = Rng.RowKey(Key, r);
        _keyBuffer = _runtime.Upload<RngKey>(keys);
        Verify();
    }

    /// <summary>Frees the buffers and the runtime.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _logitBuffer?.Dispose();
        _tokenBuffer?.Dispose();
        _logProbBuffer?.Dispose();
        _temperatureBuffer?.Dispose();
        _keyBuffer?.Dispose();
        _runtime?.Dispose();
    }

    /// <summary>
    /// Plain C#: per row (rows in parallel) the max, p = exp((x − max)/T) with MathF.Exp, the sum in double, then the
    /// first index whose cumulative probability exceeds u.
    /// </summary>
    [Benchmark(Baseline = true)]
    public void SoftmaxThenInverseCdf() =>
        Parallel.For(0, Rows, () => new float[Cols], (row, _, p) =>
        {
            _tokens[row] = PlainSample(_logits.AsSpan(row * Cols, Cols), p, 1f / Temperature, _uniforms[row]);
            return p;
        }, _ => { });

    /// <summary>
    /// For context: TensorPrimitives.SoftMax of x/T per row (vectorised; it does not subtract the max, fine at these
    /// logits) into a buffer, then the same double-precision inverse-CDF search (its own sum, then the scan).
    /// </summary>
    [Benchmark]
    public void TensorPrimitivesSoftmaxThenInverseCdf() =>
        Parallel.For(0, Rows, () => new float[Cols], (row, _, p) =>
        {
            System.Numerics.Tensors.TensorPrimitives.Multiply(_logits.AsSpan(row * Cols, Cols), 1f / Temperature, p);
            System.Numerics.Tensors.TensorPrimitives.SoftMax(p, p);
            double sum = 0;
            for (int i = 0; i < Cols; i++)
                sum += p[i]; // the float normalisation is off by ~1e-6: search u·Σp, not u
            double target = _uniforms[row] * sum, running = 0;
            int token = Cols - 1;
            for (int i = 0; i < Cols; i++)
            {
                running += p[i];
                if (running > target)
                {
                    token = i;
                    break;
                }
            }
            _tokens[row] = token;
            return p;
        }, _ => { });

    /// <summary>The library's <see cref="CategoricalSample"/> (scalar temperature, one launch key) on <c>cpu</c>.</summary>
    [Benchmark]
    public ulong KernelsCpu() =>
        CategoricalSample.Launch(_runtime!, _logitBuffer!, _tokenBuffer!, Rows, Cols, Temperature, Key, Offset);

    /// <summary><see cref="CategoricalSamplePerRequest"/>: per-row temperatures and keys, log-probabilities written.</summary>
    [Benchmark]
    public ulong KernelsCpuPerRequest() =>
        CategoricalSamplePerRequest.Launch(_runtime!, _logitBuffer!, _tokenBuffer!, Rows, Cols, _temperatureBuffer!, _keyBuffer!, Offset, _logProbBuffer!);

    private static int PlainSample(ReadOnlySpan<float> x, float[] p, float invT, double u)
    {
        float max = float.NegativeInfinity;
        for (int i = 0; i < x.Length; i++)
            max = Math.Max(max, x[i]);
        double sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            p[i] = MathF.Exp((x[i] - max) * invT);
            sum += p[i];
        }
        double target = u * sum, running = 0;
        for (int i = 0; i < x.Length; i++)
        {
            running += p[i];
            if (running > target)
                return i;
        }
        return x.Length - 1;
    }

    private void Verify()
    {
        var expected = new int[Rows];
        int nearTies = 0;
        for (int r = 0; r < Rows; r++)
        {
            (expected[r], double margin) = ReferenceDraw(_logits.AsSpan(r * Cols, Cols), _uniforms[r]);
            if (margin < 1e-6) nearTies++;
        }
        Check(nameof(SoftmaxThenInverseCdf), () => { SoftmaxThenInverseCdf(); return (int[])_tokens.Clone(); }, expected, nearTies);
        Check(nameof(TensorPrimitivesSoftmaxThenInverseCdf), () => { TensorPrimitivesSoftmaxThenInverseCdf(); return (int[])_tokens.Clone(); }, expected, nearTies);
        Check(nameof(KernelsCpu), () => { KernelsCpu(); return _tokenBuffer!.ToArray(); }, expected, nearTies);
        Check(nameof(KernelsCpuPerRequest), () => { KernelsCpuPerRequest(); return _tokenBuffer!.ToArray(); }, expected, nearTies);
    }

    private static void Check(string name, Func<int[]> run, int[] expected, int nearTies)
    {
        var tokens = run();
        int same = 0;
        for (int r = 0; r < Rows; r++)
            if (tokens[r] == expected[r]) same++;
        Console.WriteLine($"// verified {name}: {same}/{Rows} tokens equal the float64 reference's ({nearTies} near-ties)");
        if (same < Rows - nearTies)
            throw new InvalidOperationException($"{name} disagrees with the float64 reference on {Rows - same} rows.");
    }

    /// <summary>Inverse-CDF in double, and the distance of u from the nearest decision boundary.</summary>
    private static (int Token, double Margin) ReferenceDraw(ReadOnlySpan<float> x, double u)
    {
        double max = double.NegativeInfinity;
        foreach (float v in x) max = Math.Max(max, v / (double)Temperature);
        double sum = 0;
        foreach (float v in x) sum += Math.Exp(v / (double)Temperature - max);
        double c = 0, margin = double.PositiveInfinity;
        int token = -1;
        for (int i = 0; i < x.Length; i++)
        {
            c += Math.Exp(x[i] / (double)Temperature - max) / sum;
            if (i < x.Length - 1) margin = Math.Min(margin, Math.Abs(c - u));
            if (token < 0 && c > u) token = i;
        }
        return (token < 0 ? x.Length - 1 : token, margin);
    }
}
