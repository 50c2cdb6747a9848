using System;
using System.Collections.Generic;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Reliability;

/// <summary>
/// The attention family under bad arguments (the catalogue pattern): each case throws the documented exception naming
/// the argument before any launch and leaves the outputs untouched, on every backend. Bad data inside buffers (NaN,
/// lengths beyond the cache on buffers) has per-row outcomes, tested in Attention/*Tests.
/// </summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed partial class AttentionReliabilityTests(Backend backend) : BackendTest(backend)
{
    private const int Batch = 2, Heads = 4, KvHeads = 2, Capacity = 40, D = 64;
    private const float Sentinel = 42f;

    /// <summary>A decode launch's arguments, valid until a case breaks one.</summary>
    private sealed class Call
    {
        public KernelBuffer<float>? Q, K, V, Output, Lse, Sinks;
        public KernelBuffer<int>? Lengths;
        public DecodeShape Shape = new(Batch, Heads, KvHeads, Capacity, D);
        public float? Scale;
        public DecodeAttentionKernel Kernel = DecodeAttentionSink64.Kernel;
    }

    private static readonly (string Name, Type Exception, string Parameter, Action<Call, KernelRuntime, KernelRuntime> Break)[] Cases =
    {
        ("null q", typeof(ArgumentNullException), "q", (c, _, _) => c.Q = null),
        ("null lengths on a kernel declared with them", typeof(ArgumentNullException), "lengths", (c, _, _) => c.Lengths = null),
        ("null sinks on a kernel declared with them", typeof(ArgumentNullException), "sinks", (c, _, _) => c.Sinks = null),
        ("sinks on a kernel declared without", typeof(ArgumentException), "sinks", (c, _, _) => c.Kernel = DecodeAttention64.Kernel),
        ("short q", typeof(ArgumentException), "q", (c, o, _) => c.Q = o.Allocate<float>(Batch * Heads * D - 1)),
        ("short k", typeof(ArgumentException), "k", (c, o, _) => c.K = o.Allocate<float>(Batch * KvHeads * Capacity * D - 1)),
        ("short v", typeof(ArgumentException), "v", (c, o, _) => c.V = o.Allocate<float>(Batch * KvHeads * Capacity * D - 1)),
        ("short output", typeof(ArgumentException), "output", (c, o, _) => c.Output = o.Allocate<float>(Batch * Heads * D - 1)),
        ("short lse", typeof(ArgumentException), "lse", (c, o, _) => c.Lse = o.Allocate<float>(Batch * Heads - 1)),
        ("short lengths", typeof(ArgumentException), "lengths", (c, o, _) => c.Lengths = o.Allocate<int>(Batch - 1)),
        ("short sinks", typeof(ArgumentException), "sinks", (c, o, _) => c.Sinks = o.Allocate<float>(Heads - 1)),
        ("capacity beyond the cache buffers", typeof(ArgumentException), "k", (c, _, _) => c.Shape = c.Shape with { Capacity = Capacity + 1 }),
        ("heads not a multiple of kv heads", typeof(ArgumentException), "shape", (c, _, _) => c.Shape = c.Shape with { Heads = 3 }),
        ("kv heads zero", typeof(ArgumentOutOfRangeException), "shape.KvHeads", (c, _, _) => c.Shape = c.Shape with { KvHeads = 0 }),
        ("batch negative", typeof(ArgumentOutOfRangeException), "shape.Batch", (c, _, _) => c.Shape = c.Shape with { Batch = -1 }),
        ("head dimension not the declared one", typeof(ArgumentException), "shape", (c, _, _) => c.Shape = c.Shape with { HeadDim = 96 }),
        ("GQA ratio not the declared one", typeof(ArgumentException), "shape", (c, _, _) => c.Kernel = GqaEight.Kernel),
        ("scale zero", typeof(ArgumentOutOfRangeException), "scale", (c, _, _) => c.Scale = 0f),
        ("scale NaN", typeof(ArgumentOutOfRangeException), "scale", (c, _, _) => c.Scale = float.NaN),
        ("q from another runtime", typeof(ArgumentException), "q", (c, _, other) => c.Q = other.Allocate<float>(Batch * Heads * D)),
        ("disposed v", typeof(ArgumentException), "v", (c, _, _) => c.V!.Dispose()),
        ("output aliasing q", typeof(ArgumentException), "output", (c, _, _) => c.Output = c.Q),
        ("lse aliasing output", typeof(ArgumentException), "lse", (c, _, _) => c.Lse = c.Output),
    };

    public static IEnumerable<TestCaseData> DecodeCases => Cases.Select(c => new TestCaseData(c.Name).SetArgDisplayNames(c.Name));

    [TestCaseSource(nameof(DecodeCases))]
    public void DecodeAttentionThrowsBeforeLaunchNamingTheArgument(string name)
    {
        var bad = Cases.Single(c => c.Name == name);
        using var other = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        var call = new Call
        {
            Q = Runtime.Allocate<float>(Batch * Heads * D),
            K = Runtime.Allocate<float>(Batch * KvHeads * Capacity * D),
            V = Runtime.Allocate<float>(Batch * KvHeads * Capacity * D),
            Output = Runtime.Upload<float>(Enumerable.Repeat(Sentinel, Batch * Heads * D).ToArray()),
            Lse = Runtime.Upload<float>(Enumerable.Repeat(Sentinel, Batch * Heads).ToArray()),
            Lengths = Runtime.Upload<int>(new[] { Capacity, 1 }),
            Sinks = Runtime.Allocate<float>(Heads),
        };
        var output = call.Output;
        var lse = call.Lse;
        bad.Break(call, Runtime, other);
        try
        {
            var e = Assert.Throws(bad.Exception, () => call.Kernel.Launch(Runtime, call.Q!, call.K!, call.V!, call.Output!, call.Lse!, call.Shape,
                call.Lengths, call.Kernel.HasSinks ? call.Sinks : (name.StartsWith("sinks") ? call.Sinks : null), call.Scale));
            Assert.That(((ArgumentException)e!).ParamName, Is.EqualTo(bad.Parameter));
            Assert.That(output.ToArray(), Is.All.EqualTo(Sentinel), "output untouched");
            Assert.That(lse.ToArray(), Is.All.EqualTo(Sentinel), "lse untouched");
        }
        finally
        {
            foreach (var buffer in new IDisposable?[] { call.Q, call.K, call.V, output, lse, call.Lengths, call.Sinks })
                buffer?.Dispose();
        }
    }

    [Test]
    public void DecodeOnHostSpansChecksEveryLength()
    {
        var shape = new DecodeShape(Batch, Heads, KvHeads, Capacity, D);
        var q = new float[shape.QueryElements];
        var kv = new float[shape.CacheElements];
        var output = Enumerable.Repeat(Sentinel, (int)shape.QueryElements).ToArray();
        var lse = new float[shape.Rows];
        foreach (var lengths in new[] { new[] { Capacity + 1, 0 }, new[] { 3, -1 } })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => DecodeAttention64.Run(Runtime, q, kv, kv, output, lse, shape, lengths));
            Assert.That(e!.ParamName, Is.EqualTo("lengths"));
        }
        Assert.That(output, Is.All.EqualTo(Sentinel));
    }

    [Test]
    public void BlockAttentionMergeRopeAndCacheCheckTheirArguments()
    {
        var shape = new AttentionShape(4, 2, 3, 10, 8);
        var q = new float[shape.QueryElements];
        var kv = new float[shape.KeyElements];
        var o = Enumerable.Repeat(Sentinel, (int)shape.QueryElements).ToArray();
        var lse = new float[shape.Rows];
        void Block(AttentionShape s, BlockAttentionOptions options = default, float[]? bias = null) => BlockAttention.Run(Runtime, q, kv, kv, o, lse, s, options, bias);
        Assert.That(Assert.Throws<ArgumentException>(() => Block(shape with { KvHeads = 3 }))!.ParamName, Is.EqualTo("shape"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Block(shape with { HeadDim = 0 }))!.ParamName, Is.EqualTo("shape.HeadDim"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Block(shape with { HeadDim = 257 }))!.ParamName, Is.EqualTo("shape.HeadDim"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Block(shape, new BlockAttentionOptions { KeyLength = 11 }))!.ParamName, Is.EqualTo("options.KeyLength"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Block(shape, new BlockAttentionOptions { Scale = float.PositiveInfinity }))!.ParamName, Is.EqualTo("options.Scale"));
        Assert.That(Assert.Throws<ArgumentException>(() => Block(shape, default, new float[shape.Rows * shape.Keys - 1]))!.ParamName, Is.EqualTo("bias"));
        Assert.That(Assert.Throws<ArgumentException>(() => Block(shape with { Keys = 11 }))!.ParamName, Is.EqualTo("k"));
        Assert.That(Assert.Throws<ArgumentException>(() => BlockAttention.Run(Runtime, q, kv, kv, o.AsSpan(), o.AsSpan(0, 12), shape))!.ParamName, Is.EqualTo("lse"));
        Assert.That(o, Is.All.EqualTo(Sentinel), "output untouched");

        var a = new AttentionState(3, 8);
        Assert.That(Assert.Throws<ArgumentException>(() => AttentionMerge.RunInPlace(Runtime, a, new AttentionState(3, 9)))!.ParamName, Is.EqualTo("other"));
        Assert.That(Assert.Throws<ArgumentException>(() => AttentionMerge.RunInPlace(Runtime, a, a))!.ParamName, Is.EqualTo("other"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => AttentionMerge.Run(Runtime, a.Output, a.Lse, a.Output, a.Lse, o, lse, -1, 8))!.ParamName, Is.EqualTo("rows"));
        Assert.That(Assert.Throws<ArgumentException>(() => AttentionMerge.Run(Runtime, a.Output, a.Lse, a.Output.AsSpan(), a.Lse, a.Output.AsSpan(), a.Lse, 3, 8))!.ParamName, Is.EqualTo("output"));

        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Rope.Run(Runtime, new float[9], new int[3], 3, 3))!.ParamName, Is.EqualTo("headDim"));
        Assert.That(Assert.Throws<ArgumentException>(() => Rope.Run(Runtime, new float[8], new int[3], 3, 4))!.ParamName, Is.EqualTo("x"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new SinkWindowCache(Runtime, 1, 1, 8, 4, 0))!.ParamName, Is.EqualTo("windowTokens"));
        Assert.That(Assert.Throws<ArgumentException>(() => new SinkWindowCache(Runtime, 1, 1, 7, 4, 8, new RopeOptions()))!.ParamName, Is.EqualTo("rope"));
        using var cache = new SinkWindowCache(Runtime, 2, 1, 8, 1, 4);
        Assert.That(Assert.Throws<ArgumentException>(() => cache.Append(new float[15], new float[16]))!.ParamName, Is.EqualTo("keys"));
        Assert.That(cache.Tokens, Is.Zero, "nothing appended");
    }

    /// <summary>A decode kernel declared for exactly eight query heads per key/value head.</summary>
    [AttentionKernel(AttentionKind.Decode, HeadDim = 64, GroupSize = 8, Masks = AttentionMasks.Length, Sink = true)]
    private static partial class GqaEight;
}
