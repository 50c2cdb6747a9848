using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Truncation;

/// <summary>Top-k selection on every backend present: exactly the reference's values and indices, ties included.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class TopKTests(Backend backend) : BackendTest(backend)
{
    private static readonly (int Rows, int Cols, int K)[] Shapes =
    {
        (1, 1, 1), (3, 7, 7), (5, 64, 1), (4, 1029, 50), (2, 5000, 1024), (17, 333, 33), (1, 128000, 50),
    };

    [TestCaseSource(nameof(Shapes))]
    public void SelectionEqualsTheSortedReference((int Rows, int Cols, int K) shape)
    {
        var (rows, cols, k) = shape;
        if (IsEmulated && (long)rows * cols > 20000)
            Assert.Ignore("large shapes run on cpu; the emulators run the others");
        var x = TestData.Logits(rows * cols, seed: cols + k, scale: 3.0);
        for (int i = 5; i < x.Length; i += 41)
            x[i] = float.NegativeInfinity;
        for (int i = 7; i < x.Length; i += 53)
            x[i] = x[i - 2]; // exact ties at other indices
        AssertMatches(x, rows, cols, k);
    }

    [Test]
    public void TiesInfinitiesAndAscendingRows()
    {
        const int cols = 300;
        var rows = new[]
        {
            Enumerable.Repeat(1.5f, cols).ToArray(),                                  // all equal: the first k columns
            Enumerable.Range(0, cols).Select(i => (float)i).ToArray(),                // ascending: the worst case of the running threshold
            Enumerable.Range(0, cols).Select(i => (float)(cols - i)).ToArray(),       // descending
            Enumerable.Range(0, cols).Select(i => i % 3 == 0 ? 0f : float.NegativeInfinity).ToArray(), // fewer finite than k
            Enumerable.Range(0, cols).Select(i => i % 50 == 7 ? float.PositiveInfinity : -0f).ToArray(), // +inf and −0
            Enumerable.Range(0, cols).Select(i => i % 3 == 2 ? -1f : i % 2 == 0 ? -0f : 0f).ToArray(),  // −0 and +0 mixed: one value
            Enumerable.Range(0, cols).Select(i => (float)((i * 7919) % 10)).ToArray(), // many ties
        };
        AssertMatches(rows.SelectMany(r => r).ToArray(), rows.Length, cols, 120);
    }

    [Test]
    public void ARowWithNaNGetsNaNValuesAndNoIndices()
    {
        const int cols = 40, k = 5;
        var x = TestData.Logits(2 * cols, seed: 3);
        x[cols + 17] = float.NaN;
        var values = new float[2 * k];
        var indices = new int[2 * k];
        TopK.Run(Runtime, x, values, indices, 2, cols, k);
        Assert.That(indices.Take(k), Is.All.InRange(0, cols - 1));
        Assert.That(values.Skip(k), Is.All.NaN);
        Assert.That(indices.Skip(k), Is.All.EqualTo(-1));
    }

    [Test]
    public void InvalidArgumentsThrowBeforeLaunching()
    {
        var x = new float[30];
        var values = new float[30];
        var indices = Enumerable.Repeat(9, 30).ToArray();
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => TopK.Run(Runtime, x, values, indices, 3, 10, 0))!.ParamName, Is.EqualTo("k"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => TopK.Run(Runtime, x, values, indices, 3, 10, 11))!.ParamName, Is.EqualTo("k"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => TopK.Run(Runtime, new float[3000], new float[3075], new int[3075], 1, 3000, 1025))!.ParamName, Is.EqualTo("k"));
        Assert.That(Assert.Throws<ArgumentException>(() => TopK.Run(Runtime, x, new float[5], indices, 3, 10, 2))!.ParamName, Is.EqualTo("values"));
        Assert.That(Assert.Throws<ArgumentException>(() => TopK.Run(Runtime, x, values, new int[5], 3, 10, 2))!.ParamName, Is.EqualTo("indices"));
        Assert.That(Assert.Throws<ArgumentException>(() => TopK.Run(Runtime, new float[29], values, indices, 3, 10, 2))!.ParamName, Is.EqualTo("logits"));
        Assert.That(indices, Is.All.EqualTo(9), "nothing was written");
    }

    private void AssertMatches(float[] x, int rows, int cols, int k)
    {
        using var logits = Runtime.Upload<float>(x);
        using var values = Runtime.Allocate<float>(rows * k);
        using var indices = Runtime.Allocate<int>(rows * k);
        TopK.Launch(Runtime, logits, values, indices, rows, cols, k);
        var v = values.ToArray();
        var c = indices.ToArray();
        for (int r = 0; r < rows; r++)
        {
            // The reference: sort by (value descending, column ascending), −0 counted and returned as +0.
            var expected = Enumerable.Range(0, cols).OrderByDescending(i => x[r * cols + i]).ThenBy(i => i).Take(k).ToArray();
            Assert.That(c.Skip(r * k).Take(k), Is.EqualTo(expected), $"row {r} indices");
            // Bits, so that −0 returned for +0 fails (Is.EqualTo holds −0 equal to +0).
            Assert.That(v.Skip(r * k).Take(k).Select(BitConverter.SingleToInt32Bits),
                Is.EqualTo(expected.Select(i => BitConverter.SingleToInt32Bits(x[r * cols + i] + 0f))), $"row {r} values");
        }
    }
}
