using System;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Kernels.Runtime;

namespace Kernels.Benchmarks;

/// <summary>
/// Row softmax over fp32 logits: the TensorPrimitives baseline (rows in parallel) against the generated <c>cpu</c>
/// kernels. Every method's output is checked against a float64 reference in <see cref="Setup"/> before timing.
/// </summary>
[BenchmarkCategory("softmax")]
// Three processes per case: on this VM a process's mean moved by up to 50% between runs (where its buffers landed),
// far more than between the iterations of one process; three launches average that out.
[LaunchCount(3)]
public class SoftmaxBenchmarks
{
    /// <summary>Logits are ~N(0, Scale²).</summary>
    public const double Scale = 3.0;

    /// <summary>The fixed seed of the logits.</summary>
    public const int Seed = 1234;

    private int _rows;
    private int _cols;
    private float[] _input = [];
    private float[] _output = [];
    private KernelRuntime? _runtime;
    private KernelBuffer<float>? _inputBuffer;
    private KernelBuffer<float>? _outputBuffer;

    /// <summary>rows x cols: a vocabulary-sized decode batch and a long-context attention block.</summary>
    [Params("64x128000", "4096x1024")]
    public string Shape { get; set; } = "64x128000";

    /// <summary>Bytes a kernel must move at least: the input read once and the output written once.</summary>
    public static long BytesMoved(string shape)
    {
        var (rows, cols) = Reference.ParseShape(shape);
        return (long)rows * cols * sizeof(float) * 2;
    }

    /// <summary>Allocates the data, creates the <c>cpu</c> runtime and verifies every method.</summary>
    [GlobalSetup]
    public void Setup()
    {
        (_rows, _cols) = Reference.ParseShape(Shape);
        long n = (long)_rows * _cols;
        _input = Reference.Logits(n, Seed, Scale);
        _output = new float[n];
        _runtime = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        _inputBuffer = _runtime.Upload<float>(_input);
        _outputBuffer = _runtime.Allocate<float>(n);
        Verify();
    }

    /// <summary>Frees the buffers and the runtime.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _inputBuffer?.Dispose();
        _outputBuffer?.Dispose();
        _runtime?.Dispose();
    }

    /// <summary>System.Numerics.Tensors' SoftMax on each row, rows spread over cores with Parallel.For.</summary>
    [Benchmark(Baseline = true)]
    public void TensorPrimitives() =>
        Parallel.For(0, _rows, row =>
            System.Numerics.Tensors.TensorPrimitives.SoftMax(_input.AsSpan(row * _cols, _cols), _output.AsSpan(row * _cols, _cols)));

    /// <summary>The library's Softmax on the <c>cpu</c> backend, temperature 1.</summary>
    [Benchmark]
    public void KernelsCpu() => Softmax.Launch(_runtime!, _inputBuffer!, _outputBuffer!, _rows, _cols, 1f);

    /// <summary>Softmax of 30·tanh(x/30), the transform fused by the generator.</summary>
    [Benchmark]
    public void KernelsCpuFusedTransform() => SoftCappedSoftmax.Launch(_runtime!, _inputBuffer!, _outputBuffer!, _rows, _cols, 1f);

    /// <summary>The library's LogSoftmax on the <c>cpu</c> backend, temperature 1.</summary>
    [Benchmark]
    public void KernelsLogSoftmax() => LogSoftmax.Launch(_runtime!, _inputBuffer!, _outputBuffer!, _rows, _cols, 1f);

    private void Verify()
    {
        var probabilities = Reference.Softmax(_input, _rows, _cols, log: false);
        var logProbabilities = Reference.Softmax(_input, _rows, _cols, log: true);
        var capped = Reference.Softmax(_input, _rows, _cols, log: false, SoftCappedSoftmax.SoftCapReference);

        Array.Fill(_output, float.NaN);
        TensorPrimitives();
        Report(nameof(TensorPrimitives), Reference.Check(nameof(TensorPrimitives), _output, probabilities, log: false, 1e-4));
        Report(nameof(KernelsCpu), CheckKernel(KernelsCpu, nameof(KernelsCpu), probabilities, log: false));
        Report(nameof(KernelsCpuFusedTransform), CheckKernel(KernelsCpuFusedTransform, nameof(KernelsCpuFusedTransform), capped, log: false));
        Report(nameof(KernelsLogSoftmax), CheckKernel(KernelsLogSoftmax, nameof(KernelsLogSoftmax), logProbabilities, log: true));
    }

    private double CheckKernel(Action run, string name, double[] expected, bool log)
    {
        Array.Fill(_output, float.NaN);
        _outputBuffer!.CopyFrom(_output); // poison, so that a kernel that writes nothing cannot pass
        run();
        _outputBuffer.CopyTo(_output);
        return Reference.Check(name, _output, expected, log, log ? 1e-5 : 1e-4);
    }

    private void Report(string name, double error) =>
        Console.WriteLine($"// verified {name} {Shape}: max error vs float64 {error:E2}");
}
