using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Reliability;

/// <summary>
/// HyperAttention's and linear attention's bad arguments (an exception naming the argument, before any launch, the output
/// untouched) and bad data (NaN rows: documented outcomes), on every backend; the emulator's bounds checks run on each.
/// </summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class AttentionApproximationReliabilityTests(Backend backend) : BackendTest(backend)
{
    private const float Sentinel = 42f;
    private const int D = 8, N = 24;

    [TestCase("hash bits negative", "options")]
    [TestCase("hash bits above 16", "options")]
    [TestCase("block size zero", "options")]
    [TestCase("sample size negative", "options")]
    [TestCase("min length negative", "options")]
    [TestCase("scale NaN", "options")]
    [TestCase("head dim zero", "headDim")]
    [TestCase("head dim above 256", "headDim")]
    public void BadHyperAttentionOptionsThrowAtConstruction(string name, string parameter)
    {
        var options = name switch
        {
            "hash bits negative" => new HyperAttentionOptions { HashBits = -1 },
            "hash bits above 16" => new HyperAttentionOptions { HashBits = 17 },
            "block size zero" => new HyperAttentionOptions { BlockSize = 0 },
            "sample size negative" => new HyperAttentionOptions { SampleSize = -1 },
            "min length negative" => new HyperAttentionOptions { MinSeqLen = -1 },
            "scale NaN" => new HyperAttentionOptions { Scale = float.NaN },
            _ => new HyperAttentionOptions(),
        };
        int d = name == "head dim zero" ? 0 : name == "head dim above 256" ? 257 : D;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new HyperAttention(d, options));
        Assert.That(e!.ParamName, Is.EqualTo(parameter));
    }

    [TestCase("head dim mismatch", typeof(ArgumentException), "shape")]
    [TestCase("causal with fewer queries than keys", typeof(ArgumentException), "shape")]
    [TestCase("heads not a multiple of kv heads", typeof(ArgumentException), "shape")]
    [TestCase("short q", typeof(ArgumentException), "q")]
    [TestCase("short k", typeof(ArgumentException), "k")]
    [TestCase("short v", typeof(ArgumentException), "v")]
    [TestCase("short lse", typeof(ArgumentException), "lse")]
    [TestCase("output is q", typeof(ArgumentException), "output")]
    [TestCase("lse is output", typeof(ArgumentException), "lse")]
    [TestCase("q from another runtime", typeof(ArgumentException), "q")]
    [TestCase("null v", typeof(ArgumentNullException), "v")]
    public void BadHyperAttentionLaunchThrowsBeforeLaunch(string name, Type exception, string parameter)
    {
        using var other = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        var attention = new HyperAttention(D, new HyperAttentionOptions { HashBits = 3, BlockSize = 8, SampleSize = 4, MinSeqLen = 0 });
        var shape = name switch
        {
            "head dim mismatch" => new AttentionShape(2, 2, N, N, D + 1),
            "causal with fewer queries than keys" => new AttentionShape(2, 2, N - 1, N, D),
            "heads not a multiple of kv heads" => new AttentionShape(3, 2, N, N, D),
            _ => new AttentionShape(2, 2, N, N, D),
        };
        int elements = 2 * N * D;
        var q = name == "q from another runtime" ? other.Allocate<float>(elements) : Runtime.Upload<float>(TestData.Logits(name == "short q" ? elements - 1 : elements, 1));
        using var k = Runtime.Upload<float>(TestData.Logits(name == "short k" ? elements - 1 : elements, 2));
        using var v = Runtime.Upload<float>(TestData.Logits(name == "short v" ? elements - 1 : elements, 3));
        using var output = Runtime.Upload<float>(Enumerable.Repeat(Sentinel, elements).ToArray());
        using var lse = Runtime.Upload<float>(Enumerable.Repeat(Sentinel, name == "short lse" ? 2 * N - 1 : 2 * N).ToArray());
        try
        {
            var e = Assert.Throws(exception, () => attention.Launch(Runtime, q, k, name == "null v" ? null! : v,
                name == "output is q" ? q : output, name == "lse is output" ? output : lse, shape,
                causal: name == "causal with fewer queries than keys"));
            Assert.That(((ArgumentException)e!).ParamName, Is.EqualTo(parameter));
            Assert.That(output.ToArray(), Is.All.EqualTo(Sentinel), "output untouched");
            Assert.That(lse.ToArray(), Is.All.EqualTo(Sentinel), "lse untouched");
        }
        finally
        {
            q.Dispose();
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void HyperAttentionNaNQueryRowGivesANaNRowOnly(bool causal)
    {
        var shape = new AttentionShape(2, 1, 40, 40, D);
        var q = TestData.Logits((int)shape.QueryElements, 4);
        var k = TestData.Logits((int)shape.KeyElements, 5);
        var v = TestData.Logits((int)shape.KeyElements, 6);
        q[(40 + 17) * D + 2] = float.NaN; // head 1, query 17
        var attention = new HyperAttention(D, new HyperAttentionOptions { HashBits = 3, BlockSize = 8, SampleSize = 6, MinSeqLen = 10 });
        var output = new float[shape.QueryElements];
        var lse = new float[shape.Rows];
        attention.Run(Runtime, q, k, v, output, lse, shape, causal);
        for (int row = 0; row < shape.Rows; row++)
        {
            bool bad = row == 57;
            Assert.That(float.IsNaN(lse[row]), Is.EqualTo(bad), $"LSE row {row}");
            Assert.That(output.Skip(row * D).Take(D).All(float.IsNaN), Is.EqualTo(bad), $"O row {row}");
            if (!bad)
                Assert.That(output.Skip(row * D).Take(D).All(float.IsFinite), $"O row {row} finite");
        }
    }

    [Test]
    public void HyperAttentionNaNKeyOrValueRowReachesTheRowsThatAttendToIt()
    {
        // One bucket (r = 0): the stable sort keeps the order, so block i holds keys and queries 8i…8i + 7.
        var shape = new AttentionShape(2, 1, 40, 40, D);
        var q = TestData.Logits((int)shape.QueryElements, 7);
        var k = TestData.Logits((int)shape.KeyElements, 8);
        var v = TestData.Logits((int)shape.KeyElements, 9);
        k[19 * D + 5] = float.NaN; // key 19: block 2
        v[27 * D + 3] = float.NaN; // value 27, component 3: block 3
        var output = new float[shape.QueryElements];
        var lse = new float[shape.Rows];
        var diagonal = new HyperAttention(D, new HyperAttentionOptions { HashBits = 0, BlockSize = 8, SampleSize = 0, MinSeqLen = 0 });
        diagonal.Run(Runtime, q, k, v, output, lse, shape, causal: false);
        for (int row = 0; row < shape.Rows; row++)
        {
            int block = row % 40 / 8;
            var o = output.Skip(row * D).Take(D).ToArray();
            Assert.That(float.IsNaN(lse[row]), Is.EqualTo(block == 2), $"LSE row {row}");
            for (int c = 0; c < D; c++)
                Assert.That(float.IsNaN(o[c]), Is.EqualTo(block == 2 || (block == 3 && c == 3)), $"O row {row} component {c}");
        }

        // With 400 residual samples per head key 19 is drawn (fixed key), so every row reads the NaN key.
        var sampled = new HyperAttention(D, new HyperAttentionOptions { HashBits = 0, BlockSize = 8, SampleSize = 400, MinSeqLen = 0 });
        sampled.Run(Runtime, q, k, v, output, lse, shape, causal: false);
        Assert.That(lse, Is.All.NaN, "a sampled NaN key reaches every row");
    }

    [Test]
    public void HyperAttentionWithoutKeysGivesEmptyRows()
    {
        // Non-causal, no keys, above and below MinSeqLen: O = 0 and LSE = −inf (the empty state), never NaN.
        foreach (int minSeqLen in new[] { 0, 100 })
        {
            var shape = new AttentionShape(2, 2, 5, 0, D);
            var attention = new HyperAttention(D, new HyperAttentionOptions { MinSeqLen = minSeqLen });
            var output = Enumerable.Repeat(Sentinel, (int)shape.QueryElements).ToArray();
            var lse = new float[shape.Rows];
            attention.Run(Runtime, TestData.Logits((int)shape.QueryElements, 1), Array.Empty<float>(), Array.Empty<float>(), output, lse, shape, causal: false);
            Assert.That(output, Is.All.EqualTo(0f));
            Assert.That(lse, Is.All.EqualTo(float.NegativeInfinity));
        }
    }

    [TestCase("feature map unknown", "featureMap")]
    [TestCase("head dim zero", "headDim")]
    [TestCase("head dim above 256", "headDim")]
    [TestCase("features above 256", "features")]
    [TestCase("elu features not d", "features")]
    public void BadLinearAttentionThrowsAtConstruction(string name, string parameter)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _ = name switch
        {
            "feature map unknown" => new LinearAttention((LinearFeatureMap)7, D),
            "head dim zero" => new LinearAttention(LinearFeatureMap.EluPlusOne, 0),
            "head dim above 256" => new LinearAttention(LinearFeatureMap.PositiveRandom, 257),
            "features above 256" => new LinearAttention(LinearFeatureMap.PositiveRandom, D, 257),
            _ => new LinearAttention(LinearFeatureMap.EluPlusOne, D, D + 1),
        });
        Assert.That(e!.ParamName, Is.EqualTo(parameter));
    }

    [TestCase("short q", typeof(ArgumentException), "q")]
    [TestCase("short k", typeof(ArgumentException), "k")]
    [TestCase("short v", typeof(ArgumentException), "v")]
    [TestCase("short o", typeof(ArgumentException), "o")]
    [TestCase("o is v", typeof(ArgumentException), "o")]
    [TestCase("heads zero", typeof(ArgumentOutOfRangeException), "heads")]
    [TestCase("tokens negative", typeof(ArgumentOutOfRangeException), "tokens")]
    [TestCase("value dim zero", typeof(ArgumentOutOfRangeException), "valueDim")]
    [TestCase("k from another runtime", typeof(ArgumentException), "k")]
    [TestCase("state update short v", typeof(ArgumentException), "v")]
    [TestCase("state query o is q", typeof(ArgumentException), "o")]
    public void BadLinearAttentionLaunchThrowsBeforeLaunch(string name, Type exception, string parameter)
    {
        const int heads = 2, dv = 5;
        using var other = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        var attention = new LinearAttention(LinearFeatureMap.PositiveRandom, D, 12, new RngKey(1));
        int keys = heads * N * D, values = heads * N * dv;
        using var q = Runtime.Upload<float>(TestData.Logits(name == "short q" ? keys - 1 : keys, 1));
        var k = name == "k from another runtime" ? other.Allocate<float>(keys) : Runtime.Upload<float>(TestData.Logits(name == "short k" ? keys - 1 : keys, 2));
        using var v = Runtime.Upload<float>(TestData.Logits(name is "short v" or "state update short v" ? values - 1 : values, 3));
        using var o = Runtime.Upload<float>(Enumerable.Repeat(Sentinel, name == "short o" ? values - 1 : values).ToArray());
        using var state = attention.CreateState(Runtime, heads, dv);
        try
        {
            TestDelegate call = name switch
            {
                "state update short v" => () => state.Update(k, v, N),
                "state query o is q" => () => state.Query(q, q, N),
                _ => () => attention.Launch(Runtime, q, k, v, name == "o is v" ? v : o, name == "heads zero" ? 0 : heads,
                    name == "tokens negative" ? -1 : N, name == "value dim zero" ? 0 : dv, causal: true),
            };
            var e = Assert.Throws(exception, call);
            Assert.That(((ArgumentException)e!).ParamName, Is.EqualTo(parameter));
            Assert.That(o.ToArray(), Is.All.EqualTo(Sentinel), "output untouched");
            Assert.That(state.Buffer.ToArray(), Is.All.EqualTo(0f), "state untouched");
            Assert.That(state.Tokens, Is.EqualTo(0));
        }
        finally
        {
            k.Dispose();
        }
    }

    [Test]
    public void LinearAttentionNaNOutcomes()
    {
        // NaN in query row i: output row i is NaN. NaN in key row j (causal): outputs j.. are NaN, earlier rows finite.
        const int heads = 1, dv = 4;
        var attention = new LinearAttention(LinearFeatureMap.EluPlusOne, D);
        var q = TestData.Logits(N * D, 7);
        var k = TestData.Logits(N * D, 8);
        var v = TestData.Logits(N * dv, 9);
        q[3 * D + 1] = float.NaN;
        k[15 * D + 4] = float.NaN;
        var o = new float[N * dv];
        attention.Run(Runtime, q, k, v, o, heads, N, dv, causal: true);
        for (int i = 0; i < N; i++)
        {
            var row = o.Skip(i * dv).Take(dv).ToArray();
            bool nan = i == 3 || i >= 15;
            Assert.That(nan ? row.All(float.IsNaN) : row.All(float.IsFinite), $"row {i}");
        }
    }
}
