using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Sparse;

/// <summary>Sparse and dense products on every backend present against a float64 product of the masked weights.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class SparseMatMulTests(Backend backend) : BackendTest(backend)
{
    private static SparseMatMulKernel KernelFor(int n, int m) => (n, m) switch
    {
        (2, 4) => SparseMatMul24.Kernel,
        (1, 2) => SparseMatMul12.Kernel,
        (1, 4) => SparseMatMul14.Kernel,
        (2, 8) => SparseMatMul28.Kernel,
        (4, 8) => SparseMatMul48.Kernel,
        (1, 1) => DenseMatMul.Kernel,
        (2, 6) => SparseFused.TwoOfSix.Kernel,
        (5, 32) => SparseFused.FiveOfThirtyTwo.Kernel,
        _ => throw new ArgumentException($"no library kernel for {n}:{m}"),
    };

    // Odd shapes: K not a multiple of the 16-lane chunk, the 32-column permute span or the 256-column device tile;
    // batch 1, 3, 17 (4 x 4 blocks plus leftovers); out not a multiple of 4 or of the 32-row block.
    [TestCase(2, 4, 1, 37, 4100)]
    [TestCase(2, 4, 3, 70, 300)]
    [TestCase(2, 4, 17, 33, 4 * 67)]
    [TestCase(1, 2, 3, 41, 2 * 61)]
    [TestCase(1, 4, 17, 9, 4 * 33)]
    [TestCase(2, 8, 1, 35, 8 * 41)]
    [TestCase(4, 8, 3, 19, 8 * 37)]
    [TestCase(1, 1, 1, 37, 301)]
    [TestCase(1, 1, 17, 35, 129)]
    [TestCase(2, 4, 8, 64, 512)]
    [TestCase(2, 4, 3, 37, 4 * 64)] // whole chunks, decode-sized batch: columns decoded inside the product
    [TestCase(1, 2, 1, 19, 2 * 32)]
    [TestCase(2, 4, 70, 37, 4 * 33)] // prefill sizes: X transposed in blocks of 64 rows, a partial last block
    [TestCase(1, 4, 33, 6, 4 * 70)]
    [TestCase(2, 8, 64, 9, 8 * 21)]
    [TestCase(1, 1, 70, 9, 133)]
    [TestCase(2, 4, 33, 5, 4 * 70)] // prefill over several K panels of 128 columns, the last one partial
    [TestCase(1, 1, 33, 5, 300)]
    [TestCase(2, 4, 129, 67, 4 * 100)] // three X blocks, two weight blocks (the second of 3 rows), four K panels
    [TestCase(2, 4, 5, 130, 4 * 40)] // several 64-row weight blocks, the last one partial
    [TestCase(1, 1, 4, 131, 4 * 40)]
    [TestCase(2, 4, 40, 7, 4 * 80)] // prefill, whole chunks: 1:2 and 2:4 offsets decoded straight from the metadata; 2 x 128 tiles, a lone last weight row
    [TestCase(1, 2, 33, 6, 2 * 96)]
    [TestCase(2, 4, 130, 3, 4 * 37)] // two 128-row X blocks (the second of 2 rows), K panels of 64 columns with a partial last
    [TestCase(2, 4, 33, 131, 4 * 20)] // two 128-row weight blocks of the sparse prefill (the second of 3 rows)
    [TestCase(2, 6, 5, 19, 6 * 50)] // user patterns: M not a power of two (device tile of 252 columns), 5-bit indices
    [TestCase(2, 6, 40, 19, 6 * 50)]
    [TestCase(5, 32, 3, 11, 32 * 9)]
    public void ProductEqualsTheFloat64ProductOfTheMaskedWeights(int n, int m, int batch, int outs, int ins)
    {
        if (IsEmulated && (long)batch * outs * ins > 300_000)
            ins = Math.Max(m, ins / 8 / m * m);
        var w = TestData.Logits(outs * ins, seed: n * 31 + m + ins, scale: 1.0);
        var x = TestData.Logits(batch * ins, seed: batch + ins, scale: 1.0);
        var bias = TestData.Logits(outs, seed: 9, scale: 1.0);
        var sparse = NmSparseMatrix.Compress(w, outs, ins, new NmPattern(n, m));
        var masked = new float[w.Length];
        sparse.Decompress(masked);
        foreach (bool withBias in new[] { false, true })
        {
            var y = new float[batch * outs];
            KernelFor(n, m).Run(Runtime, x, sparse, y, batch, withBias ? bias : default);
            var expected = SparseReference.Product(x, masked, batch, outs, ins, withBias ? bias : null);
            var scale = SparseReference.AbsProduct(x, masked, batch, outs, ins);
            for (int i = 0; i < y.Length; i++)
                Assert.That(y[i], Is.EqualTo(expected[i]).Within(1e-5 * scale[i] + 1e-6), $"output {i / outs},{i % outs} bias {withBias}");
        }
    }

    [Test]
    [NonParallelizable] // switches the CPU kernel to its scalar path
    public void ScalarPathWithoutAvx512MatchesTheReference()
    {
        if (Backend != Backend.Cpu)
            Assert.Ignore("the scalar path is the cpu backend's");
        try
        {
            SparseMatMulCpu.ScalarOnly = true;
            foreach (var (n, m, batch) in new[] { (2, 4, 1), (1, 4, 5), (1, 1, 3), (4, 8, 40) })
                ProductEqualsTheFloat64ProductOfTheMaskedWeights(n, m, batch, 21, m * 19);
        }
        finally
        {
            SparseMatMulCpu.ScalarOnly = false;
        }
    }

    [Test]
    public void LaunchOnBuffersMatchesRunAndIsRepeatable()
    {
        int batch = 5, outs = 23, ins = 4 * 40;
        var sparse = NmSparseMatrix.Compress(TestData.Logits(outs * ins, seed: 4, scale: 1.0), outs, ins, new NmPattern(2, 4));
        var x = TestData.Logits(batch * ins, seed: 5, scale: 1.0);
        var viaRun = new float[batch * outs];
        SparseMatMul24.Run(Runtime, x, sparse, viaRun, batch);
        using var weights = new NmSparseBuffers(Runtime, sparse);
        using var xb = Runtime.Upload<float>(x);
        using var yb = Runtime.Allocate<float>(batch * outs);
        for (int i = 0; i < 2; i++)
        {
            SparseMatMul24.Launch(Runtime, xb, weights, yb, batch);
            Assert.That(yb.ToArray(), Is.EqualTo(viaRun));
        }
    }

    [Test]
    public void EpilogueIsFusedAfterTheBias()
    {
        int batch = 3, outs = 13, ins = 8 * 9;
        var w = TestData.Logits(outs * ins, seed: 6, scale: 1.0);
        var x = TestData.Logits(batch * ins, seed: 7, scale: 1.0);
        var bias = TestData.Logits(outs, seed: 8, scale: 1.0);
        var sparse = NmSparseMatrix.Compress(w, outs, ins, new NmPattern(4, 8));
        var masked = new float[w.Length];
        sparse.Decompress(masked);
        var y = new float[batch * outs];
        SparseFused.LeakyPerColumn.Run(Runtime, x, sparse, y, batch, bias);
        var expected = SparseReference.Product(x, masked, batch, outs, ins, bias);
        var scale = SparseReference.AbsProduct(x, masked, batch, outs, ins);
        for (int i = 0; i < y.Length; i++)
        {
            double e = SparseFused.LeakyPerColumn.Leaky((float)expected[i], i % outs);
            Assert.That(y[i], Is.EqualTo(e).Within(1e-5 * scale[i] + 1e-6), $"output {i}");
        }
    }

    [Test]
    public void BadArgumentsThrowBeforeLaunch()
    {
        var sparse = NmSparseMatrix.Compress(TestData.Logits(8 * 16, seed: 1), 8, 16, new NmPattern(2, 4));
        var x = new float[2 * 16];
        var y = new float[2 * 8];
        Assert.That(Assert.Throws<ArgumentException>(() => SparseMatMul14.Run(Runtime, x, sparse, y, 2))!.ParamName, Is.EqualTo("weights"));
        Assert.That(Assert.Throws<ArgumentException>(() => SparseMatMul24.Run(Runtime, x.AsSpan(1), sparse, y, 2))!.ParamName, Is.EqualTo("x"));
        Assert.That(Assert.Throws<ArgumentException>(() => SparseMatMul24.Run(Runtime, x, sparse, y.AsSpan(1), 2))!.ParamName, Is.EqualTo("y"));
        Assert.That(Assert.Throws<ArgumentException>(() => SparseMatMul24.Run(Runtime, x, sparse, y, 2, new float[7]))!.ParamName, Is.EqualTo("bias"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => SparseMatMul24.Run(Runtime, x, sparse, y, -1))!.ParamName, Is.EqualTo("batch"));
        Assert.Throws<ArgumentNullException>(() => SparseMatMul24.Run(Runtime, x, null!, y, 2));
        using var weights = new NmSparseBuffers(Runtime, sparse);
        using var xb = Runtime.Upload<float>(x);
        Assert.That(Assert.Throws<ArgumentException>(() => SparseMatMul24.Launch(Runtime, xb, weights, xb, 1))!.ParamName, Is.EqualTo("y"));
        using var other = Backends.Create(Backend.Cpu);
        using var foreign = new NmSparseBuffers(other, sparse);
        using var yb = Runtime.Allocate<float>(16);
        Assert.That(Assert.Throws<ArgumentException>(() => SparseMatMul24.Launch(Runtime, xb, foreign, yb, 2))!.ParamName, Is.EqualTo("weights"));
    }
}

/// <summary>A consumer's own declarations: a fused epilogue that uses the output column, and unusual patterns.</summary>
public static partial class SparseFused
{
    [SparseMatMulKernel(2, 6)]
    public static partial class TwoOfSix;

    [SparseMatMulKernel(5, 32)]
    public static partial class FiveOfThirtyTwo;

    [SparseMatMulKernel(4, 8, Epilogue = nameof(Leaky))]
    public static partial class LeakyPerColumn
    {
        public static float Leaky(float y, int column) => y > 0f ? y : y * (0.01f * (column + 1));
    }
}
