using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Reliability;

/// <summary>
/// The sampling family under bad arguments, load and long runs: exceptions name the argument before any launch and
/// leave the outputs untouched; eight threads give the serial run's tokens; 10^5 decode-sampler launches do not grow memory.
/// </summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class SamplerReliabilityTests(Backend backend) : BackendTest(backend)
{
    private const int Rows = 3, Cols = 97;
    private static readonly RngKey Key = new(42);

    public static IEnumerable<TestCaseData> BadCalls => new[]
    {
        Case("categorical: null logits", typeof(ArgumentNullException), "logits"),
        Case("categorical: short logits", typeof(ArgumentException), "logits"),
        Case("categorical: temperature zero", typeof(ArgumentOutOfRangeException), "temperature"),
        Case("categorical: temperature NaN", typeof(ArgumentOutOfRangeException), "temperature"),
        Case("categorical: short tokens", typeof(ArgumentException), "tokens"),
        Case("categorical: rows negative", typeof(ArgumentOutOfRangeException), "rows"),
        Case("top-k: k zero", typeof(ArgumentOutOfRangeException), "k"),
        Case("top-k: k above V", typeof(ArgumentOutOfRangeException), "k"),
        Case("top-k: temperature negative", typeof(ArgumentOutOfRangeException), "temperature"),
        Case("top-k: logits from another runtime", typeof(ArgumentException), "logits"),
        Case("gumbel-softmax: tau zero", typeof(ArgumentOutOfRangeException), "tau"),
        Case("gumbel-softmax: tau NaN", typeof(ArgumentOutOfRangeException), "tau"),
        Case("gumbel-softmax: null output", typeof(ArgumentNullException), "output"),
        Case("gumbel-softmax: short output", typeof(ArgumentException), "output"),
        Case("decode: null top-p", typeof(ArgumentNullException), "topP"),
        Case("decode: short top-k", typeof(ArgumentException), "topK"),
        Case("decode: min-p from another runtime", typeof(ArgumentException), "minP"),
        Case("decode: short keys", typeof(ArgumentException), "keys"),
        Case("decode: short status", typeof(ArgumentException), "status"),
        Case("decode: cols zero", typeof(ArgumentOutOfRangeException), "cols"),
        Case("decode: short offsets", typeof(ArgumentException), "offsets"),
        Case("truncation: output is the input", typeof(ArgumentException), "output"),
        Case("truncation: short output", typeof(ArgumentException), "output"),
        Case("truncation: null top-k", typeof(ArgumentNullException), "topK"),
        Case("truncation: temperatures from another runtime", typeof(ArgumentException), "temperatures"),
        Case("top-k selection: k above 1024", typeof(ArgumentOutOfRangeException), "k"),
        Case("top-k selection: short values", typeof(ArgumentException), "values"),
        Case("top-k selection: short indices", typeof(ArgumentException), "indices"),
        Case("top-h: null alpha", typeof(ArgumentNullException), "alpha"),
        Case("top-h: n zero", typeof(ArgumentOutOfRangeException), "topN"),
        Case("top-h: short kept", typeof(ArgumentException), "kept"),
        Case("mirostat: null tau", typeof(ArgumentNullException), "tau"),
        Case("mirostat: eta from another runtime", typeof(ArgumentException), "eta"),
        Case("mirostat: short mu", typeof(ArgumentException), "mu"),
    };

    private static TestCaseData Case(string name, Type exception, string parameter) =>
        new TestCaseData(name, exception, parameter).SetArgDisplayNames(name);

    [TestCaseSource(nameof(BadCalls))]
    public void BadArgumentsThrowBeforeLaunchNamingTheArgument(string name, Type exception, string parameter)
    {
        using var other = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        using var logits = Runtime.Upload<float>(TestData.Logits(Rows * Cols, 1));
        using var shortLogits = Runtime.Allocate<float>(Rows * Cols - 1);
        using var foreign = other.Allocate<float>(Rows * Cols);
        using var tokens = Runtime.Upload<int>(Enumerable.Repeat(-7, Rows * 4).ToArray());
        using var shortTokens = Runtime.Allocate<int>(Rows - 1);
        using var scores = Runtime.Upload<float>(Enumerable.Repeat(42f, Rows * 4).ToArray());
        using var perRow = Runtime.Upload<float>(Enumerable.Repeat(1f, Rows).ToArray());
        using var ks = Runtime.Upload<int>(new int[Rows]);
        using var shortKs = Runtime.Allocate<int>(Rows - 1);
        using var foreignRow = other.Allocate<float>(Rows);
        using var shortRow = Runtime.Allocate<float>(Rows - 1);
        using var keys = Runtime.Upload<RngKey>(new RngKey[Rows]);
        using var shortKeys = Runtime.Allocate<RngKey>(Rows - 1);
        using var shortOffsets = Runtime.Allocate<ulong>(Rows - 1);
        using var outputs = Runtime.Allocate<float>(Rows * Cols);
        using var wide = Runtime.Upload<float>(TestData.Logits(2000, 2));
        using var wideValues = Runtime.Allocate<float>(1025);
        using var wideIndices = Runtime.Allocate<int>(1025);
        Action call = name switch
        {
            "decode: null top-p" => () => DecodeSample.Launch(Runtime, logits, tokens, Rows, Cols, perRow, ks, null!, perRow, keys, 0),
            "decode: short top-k" => () => DecodeSample.Launch(Runtime, logits, tokens, Rows, Cols, perRow, shortKs, perRow, perRow, keys, 0),
            "decode: min-p from another runtime" => () => DecodeSample.Launch(Runtime, logits, tokens, Rows, Cols, perRow, ks, perRow, foreignRow, keys, 0),
            "decode: short keys" => () => DecodeSample.Launch(Runtime, logits, tokens, Rows, Cols, perRow, ks, perRow, perRow, shortKeys, 0),
            "decode: short status" => () => DecodeSample.Launch(Runtime, logits, tokens, Rows, Cols, perRow, ks, perRow, perRow, keys, 0, shortKs),
            "decode: cols zero" => () => DecodeSample.Launch(Runtime, logits, tokens, Rows, 0, perRow, ks, perRow, perRow, keys, 0),
            "decode: short offsets" => () => ServingDecodeSample.Launch(Runtime, logits, tokens, Rows, Cols, perRow, ks, perRow, perRow, keys, 0, shortOffsets),
            "truncation: output is the input" => () => TruncatedProbabilities.Launch(Runtime, logits, logits, Rows, Cols, perRow, ks, perRow, perRow),
            "truncation: short output" => () => MaskLogits.Launch(Runtime, logits, shortLogits, Rows, Cols, perRow, ks, perRow, perRow),
            "truncation: null top-k" => () => RenormalizeProbabilities.Launch(Runtime, logits, scores, 1, 4, null!, perRow, perRow),
            "truncation: temperatures from another runtime" => () => TruncatedProbabilities.Launch(Runtime, logits, outputs, Rows, Cols, foreignRow, ks, perRow, perRow),
            "top-h: null alpha" => () => TopHSample.Launch(Runtime, logits, tokens, Rows, Cols, perRow, null!, keys, 0),
            "top-h: n zero" => () => TopHSample.Launch(Runtime, logits, tokens, Rows, Cols, perRow, perRow, keys, 0, topN: 0),
            "top-h: short kept" => () => TopHSample.Launch(Runtime, logits, tokens, Rows, Cols, perRow, perRow, keys, 0, kept: shortKs),
            "mirostat: null tau" => () => MirostatSample.Launch(Runtime, logits, tokens, Rows, Cols, perRow, null!, perRow, perRow, keys, 0),
            "mirostat: eta from another runtime" => () => MirostatSample.Launch(Runtime, logits, tokens, Rows, Cols, perRow, perRow, foreignRow, perRow, keys, 0),
            "mirostat: short mu" => () => MirostatSample.Launch(Runtime, logits, tokens, Rows, Cols, perRow, perRow, perRow, shortRow, keys, 0),
            "top-k selection: k above 1024" => () => TopK.Launch(Runtime, wide, wideValues, wideIndices, 1, 2000, 1025),
            "top-k selection: short values" => () => TopK.Launch(Runtime, logits, scores, tokens, Rows, Cols, 5),
            "top-k selection: short indices" => () => TopK.Launch(Runtime, logits, wideValues, shortTokens, Rows, Cols, 1),
            "categorical: null logits" => () => CategoricalSample.Launch(Runtime, null!, tokens, Rows, Cols, 1f, Key, 0),
            "categorical: short logits" => () => CategoricalSample.Launch(Runtime, shortLogits, tokens, Rows, Cols, 1f, Key, 0),
            "categorical: temperature zero" => () => CategoricalSample.Launch(Runtime, logits, tokens, Rows, Cols, 0f, Key, 0),
            "categorical: temperature NaN" => () => CategoricalSample.Launch(Runtime, logits, tokens, Rows, Cols, float.NaN, Key, 0),
            "categorical: short tokens" => () => CategoricalSample.Launch(Runtime, logits, shortTokens, Rows, Cols, 1f, Key, 0),
            "categorical: rows negative" => () => CategoricalSample.Launch(Runtime, logits, tokens, -1, Cols, 1f, Key, 0),
            "top-k: k zero" => () => GumbelTopK.Launch(Runtime, logits, tokens, scores, Rows, Cols, 0, 1f, Key, 0),
            "top-k: k above V" => () => GumbelTopK.Launch(Runtime, logits, tokens, scores, Rows, Cols, Cols + 1, 1f, Key, 0),
            "top-k: temperature negative" => () => GumbelTopK.Launch(Runtime, logits, tokens, scores, Rows, Cols, 4, -1f, Key, 0),
            "top-k: logits from another runtime" => () => GumbelTopK.Launch(Runtime, foreign, tokens, scores, Rows, Cols, 4, 1f, Key, 0),
            "gumbel-softmax: tau zero" => () => GumbelSoftmax.Launch(Runtime, logits, scores, 1, Cols, 0f, Key, 0),
            "gumbel-softmax: tau NaN" => () => GumbelSoftmax.Launch(Runtime, logits, scores, 1, Cols, float.NaN, Key, 0),
            "gumbel-softmax: null output" => () => GumbelSoftmax.Launch(Runtime, logits, null!, 1, Cols, 1f, Key, 0),
            "gumbel-softmax: short output" => () => GumbelSoftmax.Launch(Runtime, logits, scores, 1, Cols, 1f, Key, 0),
            _ => throw new ArgumentException(name),
        };
        var e = Assert.Throws(exception, () => call());
        Assert.That(((ArgumentException)e!).ParamName, Is.EqualTo(parameter));
        Assert.That(tokens.ToArray(), Is.All.EqualTo(-7), "tokens untouched");
        Assert.That(scores.ToArray(), Is.All.EqualTo(42f), "scores untouched");
    }

    [Test]
    public void EightThreadsDrawTheSerialRunsTokens()
    {
        int rows = 4, cols = IsEmulated ? 301 : 8191, launches = IsEmulated ? 3 : 50;
        var x = TestData.Logits(rows * cols, 9);
        int[] Draw(ulong offset)
        {
            var tokens = new int[rows];
            CategoricalSample.Run(Runtime, x, tokens, rows, cols, 0.8f, Key, offset);
            return tokens;
        }
        var serial = Enumerable.Range(0, launches).Select(i => Draw((ulong)i)).ToArray();
        int mismatches = 0;
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, thread =>
        {
            for (int i = thread % launches; i < launches; i += 2)
                if (!Draw((ulong)i).SequenceEqual(serial[i])) System.Threading.Interlocked.Increment(ref mismatches);
        });
        TestContext.Out.WriteLine($"{Backend.ToName()}: 8 threads re-drew {launches} offsets, {mismatches} mismatches");
        Assert.That(mismatches, Is.Zero);
    }

    [Test]
    public void HundredThousandPerRequestCategoricalLaunchesDoNotGrowMemory()
    {
        if (Backend != Backend.Cpu)
            Assert.Ignore("the long run is sized for the cpu backend");
        const int launches = 100_000, rows = 4, cols = 512;
        using var logits = Runtime.Upload<float>(TestData.Logits(rows * cols, 1));
        using var temperatures = Runtime.Upload<float>(new[] { 0.7f, 1f, 1.3f, 0.9f });
        using var keys = Runtime.Upload<RngKey>(Enumerable.Range(0, rows).Select(r => new RngKey((ulong)r)).ToArray());
        using var tokens = Runtime.Allocate<int>(rows);
        using var logProbs = Runtime.Allocate<float>(rows);
        ulong offset = 0;
        for (int i = 0; i < 1000; i++)
            offset = CategoricalSamplePerRequest.Launch(Runtime, logits, tokens, rows, cols, temperatures, keys, offset, logProbs);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < launches; i++)
            offset = CategoricalSamplePerRequest.Launch(Runtime, logits, tokens, rows, cols, temperatures, keys, offset, logProbs);
        watch.Stop();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        long after = GC.GetTotalMemory(forceFullCollection: true);
        TestContext.Out.WriteLine($"{launches} decode-sampler launches in {watch.Elapsed.TotalSeconds:F2} s; heap {before / 1024} KiB -> {after / 1024} KiB; allocated {allocated / (double)launches:F1} B/launch; offset {offset}");
        Assert.That(tokens.ToArray(), Is.All.InRange(0, cols - 1));
        Assert.That(after - before, Is.LessThan(256 * 1024), "no growth of the managed heap");
        Assert.That(allocated / (double)launches, Is.LessThan(256), "a launch allocates (almost) nothing");
    }
}
