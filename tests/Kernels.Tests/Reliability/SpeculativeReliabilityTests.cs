using System;
using System.Collections.Generic;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Reliability;

/// <summary>
/// The speculative-decoding family under bad arguments (the catalogue pattern): each case throws the documented
/// exception naming the argument before any launch, and leaves the outputs untouched, on every backend.
/// </summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class SpeculativeReliabilityTests(Backend backend) : BackendTest(backend)
{
    private const int Batch = 3, Length = 2, Cols = 11;

    /// <summary>A chain launch's arguments, valid until a case breaks one.</summary>
    private sealed class Call
    {
        public KernelBuffer<float>? Target, Draft;
        public KernelBuffer<int>? Tokens, Accepted, Emitted;
        public KernelBuffer<RngKey>? Keys;
        public int Batch = SpeculativeReliabilityTests.Batch, Length = SpeculativeReliabilityTests.Length, Cols = SpeculativeReliabilityTests.Cols;
    }

    private static readonly (string Name, Type Exception, string Parameter, Action<Call, KernelRuntime, KernelRuntime> Break)[] Cases =
    {
        ("null target", typeof(ArgumentNullException), "target", (c, _, _) => c.Target = null),
        ("null draft", typeof(ArgumentNullException), "draft", (c, _, _) => c.Draft = null),
        ("null draft tokens", typeof(ArgumentNullException), "draftTokens", (c, _, _) => c.Tokens = null),
        ("null keys", typeof(ArgumentNullException), "keys", (c, _, _) => c.Keys = null),
        ("short target (cols + 1)", typeof(ArgumentException), "target", (c, _, _) => c.Cols += 1),
        ("short draft", typeof(ArgumentException), "draft", (c, o, _) => c.Draft = o.Allocate<float>(Batch * Length * Cols - 1)),
        ("short draft tokens", typeof(ArgumentException), "draftTokens", (c, o, _) => c.Tokens = o.Allocate<int>(Batch * Length - 1)),
        ("short accepted", typeof(ArgumentException), "accepted", (c, o, _) => c.Accepted = o.Allocate<int>(Batch - 1)),
        ("short emitted", typeof(ArgumentException), "emitted", (c, o, _) => c.Emitted = o.Allocate<int>(Batch * (Length + 1) - 1)),
        ("short keys", typeof(ArgumentException), "keys", (c, o, _) => c.Keys = o.Allocate<RngKey>(Batch - 1)),
        ("length longer than the buffers", typeof(ArgumentException), "target", (c, _, _) => c.Length += 1),
        ("batch negative", typeof(ArgumentOutOfRangeException), "batch", (c, _, _) => c.Batch = -1),
        ("length negative", typeof(ArgumentOutOfRangeException), "length", (c, _, _) => c.Length = -1),
        ("cols zero", typeof(ArgumentOutOfRangeException), "cols", (c, _, _) => c.Cols = 0),
        ("target from another runtime", typeof(ArgumentException), "target", (c, _, other) => c.Target = other.Allocate<float>(Batch * (Length + 1) * Cols)),
        ("disposed draft", typeof(ArgumentException), "draft", (c, _, _) => c.Draft!.Dispose()),
        ("emitted aliasing draft tokens", typeof(ArgumentException), "emitted", (c, _, _) => c.Emitted = c.Tokens),
        ("accepted aliasing emitted", typeof(ArgumentException), "emitted", (c, _, _) => c.Accepted = c.Emitted),
        ("B·(L+1)·V beyond 64 bits", typeof(ArgumentOutOfRangeException), "length", (c, _, _) => (c.Batch, c.Length, c.Cols) = (int.MaxValue, int.MaxValue - 1, int.MaxValue)),
        ("length + 1 beyond int", typeof(ArgumentOutOfRangeException), "length", (c, _, _) => c.Length = int.MaxValue),
        ("B·(L+1) beyond int, short buffers", typeof(ArgumentException), "target", (c, _, _) => (c.Batch, c.Length) = (1 << 30, 3)),
    };

    public static IEnumerable<TestCaseData> ChainCases => Cases.Select(c => new TestCaseData(c.Name).SetArgDisplayNames(c.Name));

    [TestCaseSource(nameof(ChainCases))]
    public void ChainVerificationThrowsBeforeLaunchNamingTheArgument(string name)
    {
        var bad = Cases.Single(c => c.Name == name);
        using var other = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        var call = new Call
        {
            Target = Runtime.Upload<float>(Enumerable.Repeat(1f / Cols, Batch * (Length + 1) * Cols).ToArray()),
            Draft = Runtime.Upload<float>(Enumerable.Repeat(1f / Cols, Batch * Length * Cols).ToArray()),
            Tokens = Runtime.Upload<int>(new int[Batch * Length]),
            Accepted = Runtime.Upload<int>(Enumerable.Repeat(-7, Batch).ToArray()),
            Emitted = Runtime.Upload<int>(Enumerable.Repeat(-7, Batch * (Length + 1)).ToArray()),
            Keys = Runtime.Upload<RngKey>(new RngKey[Batch]),
        };
        using var accepted = call.Accepted;
        using var emitted = call.Emitted;
        bad.Break(call, Runtime, other);
        try
        {
            var e = Assert.Throws(bad.Exception, () => ChainVerify.Launch(Runtime, call.Target!, call.Draft!, call.Tokens!, call.Accepted!, call.Emitted!,
                call.Batch, call.Length, call.Cols, call.Keys!, 0));
            Assert.That(((ArgumentException)e!).ParamName, Is.EqualTo(bad.Parameter));
            Assert.That(accepted.ToArray(), Is.All.EqualTo(-7), "accepted untouched");
            Assert.That(emitted.ToArray(), Is.All.EqualTo(-7), "emitted untouched");
        }
        finally
        {
            foreach (var buffer in new IDisposable?[] { call.Target, call.Draft, call.Tokens, call.Keys, call.Accepted, call.Emitted })
                buffer?.Dispose();
        }
    }

    private const int Drafts = 3, Nodes = 4;

    /// <summary>A multi-draft (RSD or K-SEQ) or tree launch's arguments, valid until a case breaks one.</summary>
    private sealed class DraftCall : IDisposable
    {
        public KernelBuffer<float>? Target, Draft;
        public KernelBuffer<int>? Tokens, Parents, Slots, Out, Path;
        public KernelBuffer<RngKey>? Keys;
        public int Batch = SpeculativeReliabilityTests.Batch, Count, Cols = SpeculativeReliabilityTests.Cols;

        public void Dispose()
        {
            foreach (var buffer in new IDisposable?[] { Target, Draft, Tokens, Parents, Slots, Out, Path, Keys })
                buffer?.Dispose();
        }
    }

    private static readonly (string Name, Type Exception, string Parameter, Action<DraftCall, KernelRuntime, KernelRuntime> Break)[] MultiDraftCases =
    {
        ("k = 0", typeof(ArgumentOutOfRangeException), "drafts", (c, _, _) => c.Count = 0),
        ("k negative", typeof(ArgumentOutOfRangeException), "drafts", (c, _, _) => c.Count = -2),
        ("null target", typeof(ArgumentNullException), "target", (c, _, _) => c.Target = null),
        ("null draft tokens", typeof(ArgumentNullException), "draftTokens", (c, _, _) => c.Tokens = null),
        ("null keys", typeof(ArgumentNullException), "keys", (c, _, _) => c.Keys = null),
        ("short target (cols + 1)", typeof(ArgumentException), "target", (c, _, _) => c.Cols += 1),
        ("short draft", typeof(ArgumentException), "draft", (c, o, _) => c.Draft = o.Allocate<float>(Batch * Cols - 1)),
        ("k larger than the drafts", typeof(ArgumentException), "draftTokens", (c, _, _) => c.Count += 1),
        ("short slots", typeof(ArgumentException), "slots", (c, o, _) => c.Slots = o.Allocate<int>(Batch - 1)),
        ("short keys", typeof(ArgumentException), "keys", (c, o, _) => c.Keys = o.Allocate<RngKey>(Batch - 1)),
        ("batch negative", typeof(ArgumentOutOfRangeException), "batch", (c, _, _) => c.Batch = -1),
        ("cols zero", typeof(ArgumentOutOfRangeException), "cols", (c, _, _) => c.Cols = 0),
        ("draft from another runtime", typeof(ArgumentException), "draft", (c, _, other) => c.Draft = other.Allocate<float>(Batch * Cols)),
        ("tokens aliasing draft tokens", typeof(ArgumentException), "tokens", (c, _, _) => c.Out = c.Tokens),
        ("slots aliasing tokens", typeof(ArgumentException), "tokens", (c, _, _) => c.Slots = c.Out),
        ("k + 1 beyond int", typeof(ArgumentOutOfRangeException), "drafts", (c, _, _) => c.Count = int.MaxValue),
        ("B·V beyond int, short buffers", typeof(ArgumentException), "target", (c, _, _) => (c.Batch, c.Cols) = (1 << 20, 1 << 12)),
    };

    private static readonly (string Name, Type Exception, string Parameter, Action<DraftCall, KernelRuntime, KernelRuntime> Break)[] TreeCases =
    {
        ("nodes = 0", typeof(ArgumentOutOfRangeException), "nodes", (c, _, _) => c.Count = 0),
        ("null parents", typeof(ArgumentNullException), "parents", (c, _, _) => c.Parents = null),
        ("null node tokens", typeof(ArgumentNullException), "nodeTokens", (c, _, _) => c.Tokens = null),
        ("null keys", typeof(ArgumentNullException), "keys", (c, _, _) => c.Keys = null),
        ("more nodes than the buffers", typeof(ArgumentException), "target", (c, _, _) => c.Count += 1),
        ("short draft", typeof(ArgumentException), "draft", (c, o, _) => c.Draft = o.Allocate<float>(Batch * Nodes * Cols - 1)),
        ("short parents", typeof(ArgumentException), "parents", (c, o, _) => c.Parents = o.Allocate<int>(Batch * Nodes - 1)),
        ("short path", typeof(ArgumentException), "path", (c, o, _) => c.Path = o.Allocate<int>(Batch * Nodes - 1)),
        ("short accepted", typeof(ArgumentException), "accepted", (c, o, _) => c.Slots = o.Allocate<int>(Batch - 1)),
        ("batch negative", typeof(ArgumentOutOfRangeException), "batch", (c, _, _) => c.Batch = -1),
        ("disposed target", typeof(ArgumentException), "target", (c, _, _) => c.Target!.Dispose()),
        ("emitted aliasing parents", typeof(ArgumentException), "emitted", (c, _, _) => c.Out = c.Parents),
        ("path aliasing emitted", typeof(ArgumentException), "emitted", (c, _, _) => c.Path = c.Out),
        ("B·N·V beyond 64 bits", typeof(ArgumentOutOfRangeException), "nodes", (c, _, _) => (c.Batch, c.Count, c.Cols) = (int.MaxValue, int.MaxValue, int.MaxValue)),
        ("B·N beyond int, short buffers", typeof(ArgumentException), "target", (c, _, _) => (c.Batch, c.Count) = (1 << 30, 4)),
    };

    public static IEnumerable<TestCaseData> MultiDraftCaseNames =>
        from kind in new[] { "RSD", "K-SEQ" } from c in MultiDraftCases select new TestCaseData(kind, c.Name).SetArgDisplayNames(kind, c.Name);

    public static IEnumerable<TestCaseData> TreeCaseNames => TreeCases.Select(c => new TestCaseData(c.Name).SetArgDisplayNames(c.Name));

    [TestCaseSource(nameof(MultiDraftCaseNames))]
    public void MultiDraftVerificationThrowsBeforeLaunchNamingTheArgument(string kind, string name)
    {
        var bad = MultiDraftCases.Single(c => c.Name == name);
        using var other = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        using var call = new DraftCall
        {
            Count = Drafts,
            Target = Runtime.Upload<float>(Enumerable.Repeat(1f / Cols, Batch * Cols).ToArray()),
            Draft = Runtime.Upload<float>(Enumerable.Repeat(1f / Cols, Batch * Cols).ToArray()),
            Tokens = Runtime.Upload<int>(Enumerable.Range(0, Batch * Drafts).Select(i => i % Drafts).ToArray()),
            Slots = Runtime.Upload<int>(Enumerable.Repeat(-7, Batch).ToArray()),
            Out = Runtime.Upload<int>(Enumerable.Repeat(-7, Batch).ToArray()),
            Keys = Runtime.Upload<RngKey>(new RngKey[Batch]),
        };
        var (slots, tokens) = (call.Slots, call.Out);
        bad.Break(call, Runtime, other);
        var e = Assert.Throws(bad.Exception, () =>
        {
            if (kind == "RSD")
                RecursiveRejectionVerify.Launch(Runtime, call.Target!, call.Draft!, call.Tokens!, call.Slots!, call.Out!, call.Batch, call.Count, call.Cols, call.Keys!, 0);
            else
                KSeqVerify.Launch(Runtime, call.Target!, call.Draft!, call.Tokens!, call.Slots!, call.Out!, call.Batch, call.Count, call.Cols, call.Keys!, 0);
        });
        Assert.That(((ArgumentException)e!).ParamName, Is.EqualTo(bad.Parameter));
        Assert.That(slots.ToArray(), Is.All.EqualTo(-7), "slots untouched");
        Assert.That(tokens.ToArray(), Is.All.EqualTo(-7), "tokens untouched");
        if (!ReferenceEquals(call.Slots, slots) && !ReferenceEquals(call.Out, slots)) slots.Dispose();
        if (!ReferenceEquals(call.Out, tokens) && !ReferenceEquals(call.Slots, tokens)) tokens.Dispose();
    }

    [TestCaseSource(nameof(TreeCaseNames))]
    public void TreeVerificationThrowsBeforeLaunchNamingTheArgument(string name)
    {
        var bad = TreeCases.Single(c => c.Name == name);
        using var other = KernelRuntime.Create(new KernelRuntimeOptions { Backend = Backend.Cpu });
        using var call = new DraftCall
        {
            Count = Nodes,
            Target = Runtime.Upload<float>(Enumerable.Repeat(1f / Cols, Batch * Nodes * Cols).ToArray()),
            Draft = Runtime.Upload<float>(Enumerable.Repeat(1f / Cols, Batch * Nodes * Cols).ToArray()),
            Parents = Runtime.Upload<int>(Enumerable.Range(0, Batch * Nodes).Select(i => i % Nodes - 1).ToArray()),
            Tokens = Runtime.Upload<int>(new int[Batch * Nodes]),
            Slots = Runtime.Upload<int>(Enumerable.Repeat(-7, Batch).ToArray()),
            Path = Runtime.Upload<int>(Enumerable.Repeat(-7, Batch * Nodes).ToArray()),
            Out = Runtime.Upload<int>(Enumerable.Repeat(-7, Batch * Nodes).ToArray()),
            Keys = Runtime.Upload<RngKey>(new RngKey[Batch]),
        };
        var outputs = new[] { call.Slots, call.Path, call.Out };
        bad.Break(call, Runtime, other);
        var e = Assert.Throws(bad.Exception, () => TreeVerify.Launch(Runtime, call.Target!, call.Draft!, call.Parents!, call.Tokens!,
            call.Slots!, call.Path!, call.Out!, call.Batch, call.Count, call.Cols, call.Keys!, 0));
        Assert.That(((ArgumentException)e!).ParamName, Is.EqualTo(bad.Parameter));
        foreach (var output in outputs)
        {
            Assert.That(output!.ToArray(), Is.All.EqualTo(-7), "outputs untouched");
            if (!ReferenceEquals(output, call.Slots) && !ReferenceEquals(output, call.Path) && !ReferenceEquals(output, call.Out)) output.Dispose();
        }
    }

    [Test]
    public void ExpectedAcceptanceThrowsBeforeLaunchNamingTheArgument()
    {
        using var target = Runtime.Allocate<float>(Batch * (Length + 1) * Cols);
        using var draft = Runtime.Allocate<float>(Batch * Length * Cols);
        using var beta = Runtime.Upload<float>(Enumerable.Repeat(42f, Batch * Length).ToArray());
        using var shortBeta = Runtime.Allocate<float>(Batch * Length - 1);
        Assert.That(Assert.Throws<ArgumentException>(() => ExpectedAcceptance.Launch(Runtime, target, draft, shortBeta, Batch, Length, Cols))!.ParamName, Is.EqualTo("acceptance"));
        Assert.That(Assert.Throws<ArgumentException>(() => ExpectedAcceptance.Launch(Runtime, target, draft, beta, Batch, Length, Cols + 1))!.ParamName, Is.EqualTo("target"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => ExpectedAcceptance.Launch(Runtime, target, draft, beta, Batch, -1, Cols))!.ParamName, Is.EqualTo("length"));
        Assert.That(Assert.Throws<ArgumentException>(() => ExpectedAcceptance.Launch(Runtime, target, draft, target, Batch, Length, Cols))!.ParamName, Is.EqualTo("acceptance"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => ExpectedAcceptance.Launch(Runtime, target, null!, beta, Batch, Length, Cols))!.ParamName, Is.EqualTo("draft"));
        // Shape products: B·(L+1)·V beyond 64 bits and B·L beyond int (one group per position) name length, not a bare OverflowException.
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => ExpectedAcceptance.Launch(Runtime, target, draft, beta, int.MaxValue, int.MaxValue - 1, int.MaxValue))!.ParamName, Is.EqualTo("length"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => ExpectedAcceptance.Launch(Runtime, target, draft, beta, 1 << 30, 4, 1))!.ParamName, Is.EqualTo("length"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => ExpectedAcceptance.Run(Runtime, new float[3], new float[2], new float[2], 1 << 30, 4, 1))!.ParamName, Is.EqualTo("length"));
        Assert.That(beta.ToArray(), Is.All.EqualTo(42f), "output untouched");
    }

    [Test]
    public void TwentyThousandVerificationsDoNotGrowMemory()
    {
        if (Backend != Backend.Cpu)
            Assert.Ignore("the long run is sized for the cpu backend");
        const int launches = 20_000, batch = 4, length = 3, cols = 512;
        var random = new System.Random(3);
        using var target = Runtime.Upload<float>(Enumerable.Range(0, batch * (length + 1)).SelectMany(_ => Speculative.SpeculativeReference.Distribution(cols, random)).ToArray());
        using var draft = Runtime.Upload<float>(Enumerable.Range(0, batch * length).SelectMany(_ => Speculative.SpeculativeReference.Distribution(cols, random)).ToArray());
        using var tokens = Runtime.Upload<int>(Enumerable.Range(0, batch * length).Select(i => i * 37 % cols).ToArray());
        using var keys = Runtime.Upload<RngKey>(Enumerable.Range(0, batch).Select(b => new RngKey((ulong)b)).ToArray());
        using var accepted = Runtime.Allocate<int>(batch);
        using var emitted = Runtime.Allocate<int>(batch * (length + 1));
        ulong offset = 0;
        for (int i = 0; i < 1000; i++)
            offset = ChainVerify.Launch(Runtime, target, draft, tokens, accepted, emitted, batch, length, cols, keys, offset);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < launches; i++)
            offset = ChainVerify.Launch(Runtime, target, draft, tokens, accepted, emitted, batch, length, cols, keys, offset);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        long after = GC.GetTotalMemory(forceFullCollection: true);
        TestContext.Out.WriteLine($"{launches} chain verifications; heap {before / 1024} KiB -> {after / 1024} KiB; allocated {allocated / (double)launches:F1} B/launch");
        Assert.That(accepted.ToArray(), Is.All.InRange(0, length));
        Assert.That(emitted.ToArray(), Is.All.InRange(-1, cols - 1));
        Assert.That(offset, Is.EqualTo((ulong)(launches + 1000)));
        Assert.That(after - before, Is.LessThan(256 * 1024), "no growth of the managed heap");
        Assert.That(allocated / (double)launches, Is.LessThan(64), "a launch allocates (almost) nothing");
    }

    [Test]
    public void MultiDraftAndTreeLaunchesAllocateNothing()
    {
        if (Backend != Backend.Cpu)
            Assert.Ignore("sized for the cpu backend");
        const int launches = 3000, batch = 4, cols = 128; // small enough to run inline (Parallel.For allocates)
        var random = new System.Random(9);
        using var p = Runtime.Upload<float>(Enumerable.Range(0, batch * Nodes).SelectMany(_ => Speculative.SpeculativeReference.Distribution(cols, random)).ToArray());
        using var q = Runtime.Upload<float>(Enumerable.Range(0, batch * Nodes).SelectMany(_ => Speculative.SpeculativeReference.Distribution(cols, random)).ToArray());
        using var drafts = Runtime.Upload<int>(Enumerable.Range(0, batch * Drafts).Select(i => i * 37 % cols).ToArray());
        using var parents = Runtime.Upload<int>(Enumerable.Range(0, batch * Nodes).Select(i => i % Nodes == 0 ? -1 : (i % Nodes) / 2).ToArray());
        using var tokens = Runtime.Upload<int>(Enumerable.Range(0, batch * Nodes).Select(i => i * 11 % cols).ToArray());
        using var keys = Runtime.Upload<RngKey>(Enumerable.Range(0, batch).Select(b => new RngKey((ulong)b)).ToArray());
        using var slots = Runtime.Allocate<int>(batch);
        using var drawn = Runtime.Allocate<int>(batch);
        using var path = Runtime.Allocate<int>(batch * Nodes);
        using var emitted = Runtime.Allocate<int>(batch * Nodes);
        ulong offset = 0;
        void Round()
        {
            offset = RecursiveRejectionVerify.Launch(Runtime, p, q, drafts, slots, drawn, batch, Drafts, cols, keys, offset);
            offset = KSeqVerify.Launch(Runtime, p, q, drafts, slots, drawn, batch, Drafts, cols, keys, offset);
            offset = TreeVerify.Launch(Runtime, p, q, parents, tokens, slots, path, emitted, batch, Nodes, cols, keys, offset);
        }
        for (int i = 0; i < 100; i++) Round();
        // The launches run inline, so this thread's count is theirs: the process-wide count also takes in whatever
        // earlier fixtures left running (finalizers, thread-pool work) and once read 765 B/launch in a full run.
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < launches; i++) Round();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        TestContext.Out.WriteLine($"{3 * launches} multi-draft and tree verifications; allocated {allocated / (3.0 * launches):F1} B/launch");
        Assert.That(slots.ToArray(), Is.All.InRange(0, Nodes - 1), "every tree row is valid");
        Assert.That(offset, Is.EqualTo((ulong)(3 * (launches + 100))));
        Assert.That(allocated / (3.0 * launches), Is.LessThan(64), "a launch allocates (almost) nothing");
    }
}
