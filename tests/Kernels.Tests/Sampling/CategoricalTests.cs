using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using Kernels.Tests.Statistics;
using NUnit.Framework;

namespace Kernels.Tests.Sampling;

/// <summary>The categorical samplers on every backend present: decisions, laws, cross-backend identity, bad input.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class CategoricalTests(Backend backend) : BackendTest(backend)
{
    private static readonly (int Rows, int Cols)[] Shapes = { (1, 1), (3, 7), (5, 64), (4, 1029), (2, 5000) };

    [TestCaseSource(nameof(Shapes))]
    public void InjectedUniformsGiveTheReferenceDecisions((int Rows, int Cols) shape)
    {
        var (rows, cols) = shape;
        const int samples = 3;
        const float temperature = 0.8f;
        var x = SamplerReference.Logits(rows, cols, seed: rows * 13 + cols);
        var u = SamplerReference.Uniforms(rows * samples, seed: cols);
        var (tokens, logProbs) = LaunchWithUniforms(CategoricalSamplePerRequestKernel, x, rows, cols, temperature, u, samples);
        int decided = 0;
        for (int r = 0; r < rows; r++)
        {
            for (int s = 0; s < samples; s++)
            {
                int i = r * samples + s;
                var expected = SamplerReference.InverseCdf(x.AsSpan(r * cols, cols), temperature, u[i]);
                Assert.That(tokens[i], Is.InRange(0, cols - 1), $"row {r} draw {s}");
                Assert.That(x[r * cols + tokens[i]], Is.Not.EqualTo(float.NegativeInfinity), "a −inf column is never drawn");
                if (expected.Margin > 1e-6)
                {
                    Assert.That(tokens[i], Is.EqualTo(expected.Token), $"row {r} draw {s}, u = {u[i]:R}");
                    decided++;
                }
                var tokenLogProb = Math.Log(ExactLaw.Softmax(x.AsSpan(r * cols, cols).ToArray(), temperature)[tokens[i]]);
                Assert.That(logProbs[i], Is.EqualTo(tokenLogProb).Within(2e-6 * Math.Max(1, Math.Abs(tokenLogProb))), $"log-prob row {r} draw {s}");
            }
        }
        Assert.That(decided, Is.GreaterThanOrEqualTo(rows * samples / 2), "most draws are no near-tie (the extreme uniforms can be, against tiny first or last probabilities)");
    }

    [Test]
    public void SameKeysGiveTheSameTokensAsTheCpuBackend()
    {
        int rows = IsEmulated ? 24 : 96, cols = IsEmulated ? 3001 : 32003;
        const int samples = 4;
        var x = SamplerReference.Logits(rows, cols, seed: 77, scale: 2.0);
        var temperatures = Enumerable.Range(0, rows).Select(r => 0.5f + 0.05f * (r % 20)).ToArray();
        var keys = Enumerable.Range(0, rows).Select(r => new RngKey(0xC0FFEEUL + (ulong)(r % 5), (uint)r * 7)).ToArray();
        var (tokens, logProbs) = RunPerRequest(Runtime, x, rows, cols, temperatures, keys, 12345, samples);
        using var cpu = Backends.Create(Backend.Cpu);
        var (expected, expectedLogProbs) = RunPerRequest(cpu, x, rows, cols, temperatures, keys, 12345, samples);
        Assert.That(tokens, Is.EqualTo(expected), "same keys and offset, same tokens");
        for (int i = 0; i < tokens.Length; i++)
            Assert.That(logProbs[i], Is.EqualTo(expectedLogProbs[i]).Within(1e-6 * Math.Max(1, Math.Abs(expectedLogProbs[i]))));
        // And the tokens are the reference's for the uniforms the keys give.
        for (int r = 0; r < rows; r++)
        {
            for (int s = 0; s < samples; s++)
            {
                var draw = SamplerReference.InverseCdf(x.AsSpan(r * cols, cols), temperatures[r], SamplerReference.Uniform(keys[r], s, 12345));
                if (draw.Margin > 1e-6)
                    Assert.That(tokens[r * samples + s], Is.EqualTo(draw.Token), $"row {r} draw {s}");
            }
        }
    }

    [Test]
    public void LaunchAndRunAgreeAndTheOffsetAdvances()
    {
        const int rows = 8, cols = 300;
        var x = SamplerReference.Logits(rows, cols, seed: 5);
        var key = new RngKey(99, 3);
        using var logits = Runtime.Upload<float>(x);
        using var tokens = Runtime.Allocate<int>(rows);
        ulong next = CategoricalSample.Launch(Runtime, logits, tokens, rows, cols, 1.5f, key, 40);
        Assert.That(next, Is.EqualTo(41UL));
        var launched = tokens.ToArray();
        var run = new int[rows];
        Assert.That(CategoricalSample.Run(Runtime, x, run, rows, cols, 1.5f, key, 40), Is.EqualTo(41UL));
        Assert.That(run, Is.EqualTo(launched));
        // Row r uses stream key.Stream + r: the reference decisions.
        for (int r = 0; r < rows; r++)
        {
            var draw = SamplerReference.InverseCdf(x.AsSpan(r * cols, cols), 1.5, SamplerReference.Uniform(Rng.RowKey(key, r), 0, 40));
            if (draw.Margin > 1e-6)
                Assert.That(launched[r], Is.EqualTo(draw.Token));
        }
        // Other offsets give other draws (64 rows x 2 offsets of a flat law: equal by chance with probability ~1e-90).
        var flat = new float[64 * 1000];
        var a = new int[64];
        var b = new int[64];
        CategoricalSample.Run(Runtime, flat, a, 64, 1000, 1f, key, 0);
        CategoricalSample.Run(Runtime, flat, b, 64, 1000, 1f, key, 1);
        Assert.That(a, Is.Not.EqualTo(b));
    }

    [Test]
    public void PerRequestKeysMakeARowIndependentOfItsPlaceInTheBatch()
    {
        const int rows = 6, cols = 500;
        var x = SamplerReference.Logits(rows, cols, seed: 31, scale: 1.0);
        var temperatures = Enumerable.Range(0, rows).Select(r => 1f + r * 0.1f).ToArray();
        var keys = Enumerable.Range(0, rows).Select(r => new RngKey((ulong)(1000 + r), 0)).ToArray();
        var (tokens, _) = RunPerRequest(Runtime, x, rows, cols, temperatures, keys, 0, 2);
        var order = new[] { 5, 3, 1, 0, 2, 4 };
        var permuted = order.SelectMany(r => x.Skip(r * cols).Take(cols)).ToArray();
        var (shuffled, _) = RunPerRequest(Runtime, permuted, rows, cols, order.Select(r => temperatures[r]).ToArray(), order.Select(r => keys[r]).ToArray(), 0, 2);
        for (int i = 0; i < rows; i++)
            Assert.That(shuffled.Skip(2 * i).Take(2), Is.EqualTo(tokens.Skip(2 * order[i]).Take(2)), $"request {order[i]}");
    }

    [Test]
    public void DrawsFollowSoftmaxOfTheTemperedLogits()
    {
        // cpu: 400k draws over 40 tokens; emulators: 4096 (smaller, same law).
        int rows = IsEmulated ? 32 : 2000, samples = IsEmulated ? 128 : 200;
        var row = TestData.Logits(40, seed: 3, scale: 1.5);
        row[7] = float.NegativeInfinity;
        const float temperature = 0.8f;
        var p = ExactLaw.Softmax(row, temperature);
        var x = SamplerReference.Repeat(row, rows);
        var tokens = new int[rows * samples];
        CategoricalSample.Run(Runtime, x, tokens, rows, row.Length, temperature, new RngKey(4242), 0, samples);
        var counts = ChiSquare.Histogram(tokens, row.Length);
        Assert.That(counts[7], Is.EqualTo(0));
        if (!IsEmulated)
        {
            var q = (double[])p.Clone();
            int top = Array.IndexOf(p, p.Max());
            q[top] -= 0.01;
            q[Array.IndexOf(p, p.Where(v => v > 0).Min())] += 0.01;
            Assert.That(ChiSquare.Power(p, q, tokens.Length), Is.GreaterThan(0.999), "power against moving 1% of the mass");
        }
        ChiSquare.AssertFits(counts, p, $"categorical on {Backend.ToName()}");
    }

    [Test]
    public void BadInputHasItsDocumentedOutcome()
    {
        const int rows = 5, cols = 33;
        var x = SamplerReference.Logits(rows, cols, seed: 2);
        x[cols + 4] = float.NaN;                                   // row 1: NaN → invalid
        for (int c = 0; c < cols; c++) x[2 * cols + c] = float.NegativeInfinity; // row 2: nothing to draw
        x[3 * cols + 9] = float.PositiveInfinity;                  // row 3: +inf → invalid
        var temperatures = new[] { 1f, 1f, 1f, 1f, 0f };           // row 4: invalid temperature
        var keys = Enumerable.Range(0, rows).Select(r => new RngKey(7, (uint)r)).ToArray();
        var (tokens, logProbs) = RunPerRequest(Runtime, x, rows, cols, temperatures, keys, 0, 2);
        Assert.That(tokens.Take(2), Is.All.InRange(0, cols - 1), "row 0 is fine");
        Assert.That(tokens.Skip(2), Is.All.EqualTo(-1));
        Assert.That(logProbs.Skip(2).Take(2), Is.All.NaN, "NaN row");
        Assert.That(logProbs.Skip(4).Take(2), Is.All.EqualTo(float.NegativeInfinity), "all −inf row");
        Assert.That(logProbs.Skip(6), Is.All.NaN, "+inf row and invalid temperature");

        var output = new int[rows];
        var thrown = Assert.Throws<ArgumentOutOfRangeException>(() => CategoricalSample.Run(Runtime, x, output, rows, cols, 0f, default, 0));
        Assert.That(thrown!.ParamName, Is.EqualTo("temperature"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => CategoricalSample.Run(Runtime, x, output, rows, cols, -1f, default, 0))!.ParamName, Is.EqualTo("temperature"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => CategoricalSample.Run(Runtime, x, output, rows, cols, float.NaN, default, 0))!.ParamName, Is.EqualTo("temperature"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => CategoricalSample.Run(Runtime, x, output, rows, cols, 1f, default, 0, samples: 0))!.ParamName, Is.EqualTo("samples"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => CategoricalSample.Run(Runtime, x, output, rows, 0, 1f, default, 0))!.ParamName, Is.EqualTo("cols"));
        Assert.That(Assert.Throws<ArgumentException>(() => CategoricalSample.Run(Runtime, x, new int[rows - 1], rows, cols, 1f, default, 0))!.ParamName, Is.EqualTo("tokens"));
    }

    [Test]
    public void ExtremeLogitsNeverGiveATokenOutOfRange()
    {
        const int rows = 12, cols = 257;
        var random = new System.Random(8);
        var x = new float[rows * cols];
        for (int i = 0; i < x.Length; i++)
            x[i] = (i % 7) switch
            {
                0 => float.NegativeInfinity,
                1 => float.MaxValue,
                2 => -float.MaxValue,
                3 => float.Epsilon,
                4 => (float)(random.NextDouble() * 1e30),
                5 => (float)(random.NextDouble() * 200 - 100),
                _ => -1e-40f,
            };
        for (int r = 0; r < rows; r++) x[r * cols + r] = 3e38f;
        var tokens = new int[rows * 8];
        CategoricalSample.Run(Runtime, x, tokens, rows, cols, 0.01f, new RngKey(3), 0, 8);
        for (int i = 0; i < tokens.Length; i++)
        {
            int r = i / 8;
            // x·log2(e)/0.01 overflows to +inf for the largest logits: those rows are invalid (−1); the others draw a
            // column that is not −inf.
            if (tokens[i] != -1)
            {
                Assert.That(tokens[i], Is.InRange(0, cols - 1));
                Assert.That(x[r * cols + tokens[i]], Is.Not.EqualTo(float.NegativeInfinity));
            }
        }
        // With a moderate temperature nothing overflows: the huge logits win.
        CategoricalSample.Run(Runtime, x, tokens, rows, cols, 1e30f, new RngKey(3), 0, 8);
        Assert.That(tokens, Is.All.InRange(0, cols - 1));
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private static CategoricalSampler CategoricalSamplePerRequestKernel => CategoricalSamplePerRequest.Kernel;

    private (int[] Tokens, float[] LogProbs) LaunchWithUniforms(CategoricalSampler kernel, float[] x, int rows, int cols, float temperature, double[] u, int samples)
    {
        using var logits = Runtime.Upload<float>(x);
        using var tokens = Runtime.Allocate<int>(rows * samples);
        using var logProbs = Runtime.Allocate<float>(rows * samples);
        using var temperatures = Runtime.Upload<float>(Enumerable.Repeat(temperature, rows).ToArray());
        using var uniforms = Runtime.Upload<double>(u);
        kernel.LaunchWithUniforms(Runtime, logits, tokens, rows, cols, 1f, temperatures, logProbs, samples, uniforms);
        return (tokens.ToArray(), logProbs.ToArray());
    }

    private static (int[] Tokens, float[] LogProbs) RunPerRequest(KernelRuntime runtime, float[] x, int rows, int cols, float[] temperatures, RngKey[] keys, ulong offset, int samples)
    {
        var tokens = new int[rows * samples];
        var logProbs = new float[rows * samples];
        ulong next = CategoricalSamplePerRequest.Run(runtime, x, tokens, rows, cols, temperatures, keys, offset, logProbs, samples);
        Assert.That(next, Is.EqualTo(offset + 1));
        return (tokens, logProbs);
    }
}
