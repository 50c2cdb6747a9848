using System;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Kernels.Runtime;

namespace Kernels.Benchmarks;

/// <summary>
/// Y = X · Wᵀ with W 4096 x 4096 fp32 on the <c>cpu</c> backend: the library's dense product (baseline) against its 2:4
/// product of the same weights, for decode (X one row: GEMV, memory-bound) and prefill (X 512 rows: GEMM,
/// compute-bound). <see cref="Setup"/> checks both against a float64 product of the masked weights before timing.
/// Columns: GB/s (weights + X + Y bytes per mean time), that rate as a share of the all-thread read bandwidth measured at
/// the start of the run (a product reads its weights and writes little) and dense-equivalent GFLOP/s (2·batch·out·in
/// per mean time).
/// </summary>
/// <remarks>
/// The L3 cache here (260 MB) holds a 64 MB W, so timing one W over and over would time L3, not memory. Each method
/// instead rotates through distinct copies of its weights, at least <see cref="RotatedBytes"/> in all (more than twice
/// the L3), so that every launch reads its W from DRAM, as a decoder reading layer after layer does.
/// </remarks>
[BenchmarkCategory("sparse")]
[Config(typeof(ColumnsConfig))]
[IterationCount(30)] // the GEMM's 10-iteration means varied by 20–25% (StdDev) on this shared VM: 3x the samples
public class SparseMatMulBenchmarks
{
    /// <summary>Output and input features.</summary>
    public const int Features = 4096;

    private KernelRuntime? _runtime;
    /// <summary>Bytes of distinct weight copies each method rotates through: more than twice this machine's 260 MB L3.</summary>
    public const long RotatedBytes = 640L << 20;

    private NmSparseBuffers[] _dense = [];
    private NmSparseBuffers[] _sparse = [];
    private int _denseNext;
    private int _sparseNext;
    private KernelBuffer<float>? _x;
    private KernelBuffer<float>? _y;

    /// <summary>Rows of X: 1 (decode GEMV) or 512 (prefill GEMM).</summary>
    [Params(1, 512)]
    public int Batch { get; set; } = 1;

    /// <summary>Bytes a method must move at least: its weights (values and metadata), X and Y.</summary>
    public static long BytesMoved(string method, int batch) => WeightBytes(method) + (long)batch * Features * sizeof(float) * 2;

    /// <summary>Bytes of one copy of a method's weights: fp32 values, plus 2 bits of metadata per kept value for 2:4.</summary>
    public static long WeightBytes(string method) => method == nameof(Dense)
        ? (long)Features * Features * sizeof(float)
        : (long)Features * Features / 2 * sizeof(float) + (long)Features * Features / 2 * 2 / 8;

    private static int Copies(string method) => (int)((RotatedBytes + WeightBytes(method) - 1) / WeightBytes(method));

    /// <summary>Builds 2:4 weights by magnitude from N(0, 1) weights and verifies both methods.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var w = Reference.Logits((long)Features * Features, SoftmaxBenchmarks.Seed, 1.0);
        var x = Reference.Logits((long)Batch * Features, SoftmaxBenchmarks.Seed + 1, 1.0);
        var sparse = NmSparseMatrix.Compress(w, Features, Features, new NmPattern(2, 4));
        var masked = new float[w.Length];
        sparse.Decompress(masked);
        _runtime = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        var dense = NmSparseMatrix.Compress(masked, Features, Features, new NmPattern(1, 1));
        _dense = new NmSparseBuffers[Copies(nameof(Dense))];
        for (int i = 0; i < _dense.Length; i++)
            _dense[i] = new NmSparseBuffers(_runtime, dense);
        _sparse = new NmSparseBuffers[Copies(nameof(Sparse24))];
        for (int i = 0; i < _sparse.Length; i++)
            _sparse[i] = new NmSparseBuffers(_runtime, sparse);
        _x = _runtime.Upload<float>(x);
        _y = _runtime.Allocate<float>((long)Batch * Features);
        // The same masked weights for both, so that both must give the same product (every copy is checked).
        foreach (var _ in _dense)
            Verify(nameof(Dense), Dense, x, masked);
        foreach (var _ in _sparse)
            Verify(nameof(Sparse24), Sparse24, x, masked);
        foreach (string method in new[] { nameof(Dense), nameof(Sparse24) })
            Console.WriteLine($"// {method} batch {Batch}: rotates {Copies(method)} copies of W ({Copies(method) * WeightBytes(method) / 1e6:F0} MB, L3 260 MB); " +
                $"{BytesMoved(method, Batch) / 1e6:F1} MB moved per launch");
    }

    /// <summary>Frees the buffers and the runtime.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var buffers in _dense)
            buffers.Dispose();
        foreach (var buffers in _sparse)
            buffers.Dispose();
        _x?.Dispose();
        _y?.Dispose();
        _runtime?.Dispose();
    }

    /// <summary>The library's dense product (<see cref="DenseMatMul"/>, N = M = 1).</summary>
    [Benchmark(Baseline = true)]
    public void Dense() => DenseMatMul.Launch(_runtime!, _x!, _dense[_denseNext++ % _dense.Length], _y!, Batch);

    /// <summary>The library's 2:4 product (<see cref="SparseMatMul24"/>).</summary>
    [Benchmark]
    public void Sparse24() => SparseMatMul24.Launch(_runtime!, _x!, _sparse[_sparseNext++ % _sparse.Length], _y!, Batch);

    private void Verify(string name, Action run, float[] x, float[] masked)
    {
        _y!.CopyFrom(new float[Batch * Features].AsSpan()); // poison with zeros: a method that writes nothing fails below
        run();
        var y = _y.ToArray();
        double worst = 0;
        // Spot-check rows and columns spread over the output (a full float64 product of 512 rows takes minutes).
        for (int r = 0; r < Batch; r += Math.Max(1, Batch / 7))
        {
            for (int o = 0; o < Features; o += 61)
            {
                double s = 0, scale = 0;
                for (int k = 0; k < Features; k++)
                {
                    double p = (double)x[(long)r * Features + k] * masked[(long)o * Features + k];
                    s += p;
                    scale += Math.Abs(p);
                }
                worst = Math.Max(worst, Math.Abs(y[(long)r * Features + o] - s) / scale);
            }
        }
        if (!(worst < 1e-5))
            throw new InvalidOperationException($"{name} batch {Batch}: relative error {worst:E2} against the float64 product");
        if (name == nameof(Dense) ? _denseNext == 1 : _sparseNext == 1)
            Console.WriteLine($"// verified {name} batch {Batch}: max error vs float64 {worst:E2} of Σ|x·w|");
    }

    /// <summary>Adds the GB/s and dense-equivalent GFLOP/s columns to this class's summary.</summary>
    public sealed class ColumnsConfig : ManualConfig
    {
        /// <summary>Creates the config.</summary>
        public ColumnsConfig() => AddColumn(new RateColumn(RateColumn.Kind.Bytes), new RateColumn(RateColumn.Kind.ReadShare), new RateColumn(RateColumn.Kind.Flops));
    }

    /// <summary>GB/s, GB/s as a share of the measured read bandwidth, or dense-equivalent GFLOP/s over the mean time.</summary>
    public sealed class RateColumn(RateColumn.Kind kind) : IColumn
    {
        /// <summary>What the column shows.</summary>
        public enum Kind
        {
            /// <summary>Bytes moved per mean time.</summary>
            Bytes,
            /// <summary>That rate over the all-thread read bandwidth measured at the start of the run.</summary>
            ReadShare,
            /// <summary>Dense-equivalent GFLOP/s.</summary>
            Flops,
        }

        /// <inheritdoc/>
        public string Id => "Sparse." + kind;
        /// <inheritdoc/>
        public string ColumnName => kind switch { Kind.Bytes => "GB/s moved", Kind.ReadShare => "% of read BW", _ => "dense-eq GFLOP/s" };
        /// <inheritdoc/>
        public bool AlwaysShow => true;
        /// <inheritdoc/>
        public ColumnCategory Category => ColumnCategory.Custom;
        /// <inheritdoc/>
        public int PriorityInCategory => 2 + (int)kind;
        /// <inheritdoc/>
        public bool IsNumeric => true;
        /// <inheritdoc/>
        public UnitType UnitType => UnitType.Dimensionless;
        /// <inheritdoc/>
        public string Legend => kind switch
        {
            Kind.Bytes => "weights (values + metadata) + X + Y bytes per mean time, 10^9 bytes/s; W rotated through copies that do not fit the L3",
            Kind.ReadShare => $"GB/s moved over the all-thread read bandwidth measured at the start of this run ({MemoryBandwidth.Current.ReadAllThreads:F1} GB/s)",
            _ => "2·batch·4096·4096 per mean time (the dense product's flops, also for the sparse method)",
        };
        /// <inheritdoc/>
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);
        /// <inheritdoc/>
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
            if (meanNs is not > 0 || benchmarkCase.Parameters["Batch"] is not int batch)
                return "NA";
            double gbps = BytesMoved(benchmarkCase.Descriptor.WorkloadMethod.Name, batch) / meanNs.Value;
            return kind switch
            {
                Kind.Bytes => gbps.ToString("F1", CultureInfo.InvariantCulture),
                Kind.ReadShare => (100 * gbps / MemoryBandwidth.Current.ReadAllThreads).ToString("F0", CultureInfo.InvariantCulture) + "%",
                _ => (2.0 * batch * Features * Features / meanNs.Value).ToString("F1", CultureInfo.InvariantCulture),
            };
        }
        /// <inheritdoc/>
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        /// <inheritdoc/>
        public bool IsAvailable(Summary summary) => true;
    }
}
