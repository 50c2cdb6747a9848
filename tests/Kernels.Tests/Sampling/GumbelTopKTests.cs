using System;
using System.Collections.Generic;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using Kernels.Tests.Statistics;
using NUnit.Framework;

namespace Kernels.Tests.Sampling;

/// <summary>Gumbel-top-k on every backend present: decisions with injected noise, exact laws, identity, bad input.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class GumbelTopKTests(Backend backend) : BackendTest(backend)
{
    [TestCase(1, 1, 1)]
    [TestCase(3, 7, 3)]
    [TestCase(4, 300, 8)]
    [TestCase(2, 1029, 1029)]
    public void InjectedNoiseGivesTheReferenceOrder(int rows, int cols, int k)
    {
        const float temperature = 0.7f;
        var x = SamplerReference.Logits(rows, cols, seed: cols + k);
        var random = new System.Random(k);
        var noise = Enumerable.Range(0, rows * cols).Select(_ => (float)-Math.Log(-Math.Log(random.NextDouble() * 0.999 + 0.0005))).ToArray();
        noise[0] = noise.Length > 1 ? noise[1] : noise[0]; // a tie of keys when x[0] == x[1] is unlikely; ties of noise are fine
        var (indices, scores) = Launch(x, rows, cols, k, temperature, noise);
        float invT = SoftmaxMath.InverseTemperature(temperature);
        for (int r = 0; r < rows; r++)
        {
            var expected = Enumerable.Range(0, cols)
                .Where(c => x[r * cols + c] != float.NegativeInfinity)
                .Select(c => (Key: x[r * cols + c] * invT + noise[r * cols + c], Index: c))
                .OrderByDescending(p => p.Key).ThenBy(p => p.Index).Take(k).ToArray();
            for (int j = 0; j < k; j++)
            {
                int i = r * k + j;
                if (j < expected.Length)
                {
                    Assert.That(indices[i], Is.EqualTo(expected[j].Index), $"row {r} rank {j}");
                    Assert.That(scores[i], Is.EqualTo(expected[j].Key), $"row {r} rank {j} key");
                }
                else
                {
                    Assert.That(indices[i], Is.EqualTo(-1), "fewer finite columns than k");
                    Assert.That(scores[i], Is.EqualTo(float.NegativeInfinity));
                }
            }
        }
    }

    [Test]
    public void OrderedTuplesFollowTheExactLawWithoutReplacement()
    {
        // V = 4, k = 2: all 12 ordered pairs against P(i, j) = p_i p_j / (1 − p_i).
        var row = new[] { 1.0f, 0.2f, -0.5f, -1.5f };
        const float temperature = 0.9f;
        int rows = IsEmulated ? 1500 : 60000;
        var p = ExactLaw.Softmax(row, temperature);
        var law = ExactLaw.OrderedWithoutReplacement(p, 2);
        var tuples = law.Keys.ToList();
        var x = SamplerReference.Repeat(row, rows);
        var indices = new int[rows * 2];
        var scores = new float[rows * 2];
        GumbelTopK.Run(Runtime, x, indices, scores, rows, 4, 2, temperature, new RngKey(11), 5);
        var counts = new long[tuples.Count];
        for (int r = 0; r < rows; r++)
        {
            int t = tuples.IndexOf(ExactLaw.Key(new[] { indices[2 * r], indices[2 * r + 1] }));
            Assert.That(t, Is.GreaterThanOrEqualTo(0), $"row {r}: ({indices[2 * r]}, {indices[2 * r + 1]}) is not an ordered pair of distinct indices");
            Assert.That(scores[2 * r], Is.GreaterThanOrEqualTo(scores[2 * r + 1]));
            counts[t]++;
        }
        ChiSquare.AssertFits(counts, tuples.Select(t => law[t]).ToArray(), $"ordered pairs on {Backend.ToName()}");
    }

    [Test]
    public void MarginalInclusionMatchesTheExactLaw()
    {
        // V = 6, k = 3: P(index i among the three drawn), by chi-square over the 6 inclusion counts (3 per draw).
        var row = new[] { 2.0f, 1.2f, 0.3f, 0.0f, -1.0f, float.NegativeInfinity };
        int rows = IsEmulated ? 1000 : 40000;
        var p = ExactLaw.Softmax(row);
        var inclusion = ExactLaw.Inclusion(p, 3);
        var x = SamplerReference.Repeat(row, rows);
        var indices = new int[rows * 3];
        var scores = new float[rows * 3];
        GumbelTopK.Run(Runtime, x, indices, scores, rows, 6, 3, 1f, new RngKey(12), 0);
        for (int r = 0; r < rows; r++)
            Assert.That(indices.Skip(3 * r).Take(3).Distinct().Count(), Is.EqualTo(3), "distinct");
        var counts = ChiSquare.Histogram(indices, 6);
        Assert.That(counts[5], Is.EqualTo(0), "a −inf column is never drawn");
        ChiSquare.AssertFits(counts, inclusion, $"inclusion on {Backend.ToName()}");
    }

    [Test]
    public void SameKeysGiveTheSameIndicesAsTheCpuBackend()
    {
        int rows = IsEmulated ? 6 : 32, cols = IsEmulated ? 700 : 20000, k = 5;
        var x = SamplerReference.Logits(rows, cols, seed: 41);
        var key = new RngKey(0xABCDEF, 9);
        using var cpu = Backends.Create(Backend.Cpu);
        // The float32 construction is bit-identical everywhere: so are the keys and the indices.
        var (indices, scores) = Launch(x, rows, cols, k, 0.6f, null, key, VariatePrecision.Float32);
        var (cpuIndices, cpuScores) = Launch(cpu, x, rows, cols, k, 0.6f, null, key, VariatePrecision.Float32);
        Assert.That(indices, Is.EqualTo(cpuIndices));
        Assert.That(scores.Select(BitConverter.SingleToUInt32Bits), Is.EqualTo(cpuScores.Select(BitConverter.SingleToUInt32Bits)));
        // The backend's own construction: the same indices (float64 keys may differ by an ulp: near-ties only).
        var (own, ownScores) = Launch(x, rows, cols, k, 0.6f, null, key, null);
        var (cpuOwn, cpuOwnScores) = Launch(cpu, x, rows, cols, k, 0.6f, null, key, null);
        Assert.That(own, Is.EqualTo(cpuOwn));
        for (int i = 0; i < ownScores.Length; i++)
            Assert.That(ownScores[i], Is.EqualTo(cpuOwnScores[i]).Within(1e-6f * Math.Max(1f, Math.Abs(cpuOwnScores[i]))));
        // And the noise is GumbelNoise.At of the row's key: check the winner of row 0 on the host.
        var precision = Rng.PrecisionOf(cpu);
        var best = Enumerable.Range(0, cols).Where(c => x[c] != float.NegativeInfinity)
            .Select(c => (Key: x[c] * SoftmaxMath.InverseTemperature(0.6f) + GumbelNoise.At(Rng.RowKey(key, 0), c, 0, (int)precision), Index: c))
            .OrderByDescending(p => p.Key).ThenBy(p => p.Index).First();
        Assert.That(cpuOwn[0], Is.EqualTo(best.Index));
    }

    [Test]
    public void BadInputHasItsDocumentedOutcome()
    {
        const int rows = 4, cols = 9;
        var x = SamplerReference.Logits(rows, cols, seed: 3).Select(v => float.IsNegativeInfinity(v) ? 0f : v).ToArray();
        x[cols + 2] = float.NaN;                                    // row 1 invalid
        for (int c = 0; c < cols; c++) x[2 * cols + c] = float.NegativeInfinity; // row 2 empty
        for (int c = 2; c < cols; c++) x[3 * cols + c] = float.NegativeInfinity; // row 3: two finite columns
        var indices = new int[rows * 4];
        var scores = new float[rows * 4];
        GumbelTopK.Run(Runtime, x, indices, scores, rows, cols, 4, 1f, new RngKey(1), 0);
        Assert.That(indices.Take(4).Distinct().Count(), Is.EqualTo(4));
        Assert.That(indices.Take(4), Is.All.InRange(0, cols - 1));
        Assert.That(indices.Skip(4).Take(8), Is.All.EqualTo(-1));
        Assert.That(scores.Skip(4).Take(4), Is.All.NaN);
        Assert.That(scores.Skip(8).Take(4), Is.All.EqualTo(float.NegativeInfinity));
        Assert.That(indices.Skip(12).Take(2), Is.EquivalentTo(new[] { 0, 1 }));
        Assert.That(indices.Skip(14), Is.All.EqualTo(-1));

        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => GumbelTopK.Run(Runtime, x, indices, scores, rows, cols, 0, 1f, default, 0))!.ParamName, Is.EqualTo("k"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => GumbelTopK.Run(Runtime, x, new int[rows * 10], new float[rows * 10], rows, cols, 10, 1f, default, 0))!.ParamName, Is.EqualTo("k"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => GumbelTopK.Run(Runtime, x, indices, scores, rows, cols, 2, 0f, default, 0))!.ParamName, Is.EqualTo("temperature"));
        Assert.That(Assert.Throws<ArgumentException>(() => GumbelTopK.Run(Runtime, x, indices, new float[3], rows, cols, 2, 1f, default, 0))!.ParamName, Is.EqualTo("scores"));
    }

    private (int[] Indices, float[] Scores) Launch(float[] x, int rows, int cols, int k, float temperature, float[]? noise,
        RngKey key = default, VariatePrecision? precision = null) =>
        Launch(Runtime, x, rows, cols, k, temperature, noise, key, precision);

    private static (int[] Indices, float[] Scores) Launch(KernelRuntime runtime, float[] x, int rows, int cols, int k, float temperature,
        float[]? noise, RngKey key, VariatePrecision? precision)
    {
        using var logits = runtime.Upload<float>(x);
        using var indices = runtime.Allocate<int>(rows * k);
        using var scores = runtime.Allocate<float>(rows * k);
        using var noiseBuffer = noise is null ? null : runtime.Upload<float>(noise);
        GumbelTopK.Kernel.LaunchCore(runtime, logits, indices, scores, rows, cols, k, temperature, null, key, null, 0, noiseBuffer, precision);
        return (indices.ToArray(), scores.ToArray());
    }
}
