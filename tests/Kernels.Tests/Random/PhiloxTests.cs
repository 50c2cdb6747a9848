using System;
using System.Linq;

using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Randomness;

/// <summary>
/// Philox4x32-10 against the Random123 known-answer vectors (kat_vectors, "philox4x32 10" lines), on the CPU and inside
/// an ILGPU kernel on every ILGPU backend present, and the library's counter layout bit for bit across backends.
/// </summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class PhiloxTests(Backend backend) : BackendTest(backend)
{
    // counter[4], key[2] → output[4], from Random123's kat_vectors.
    private static readonly (uint[] Counter, uint[] Key, uint[] Expected)[] KnownAnswers =
    {
        (new uint[] { 0, 0, 0, 0 }, new uint[] { 0, 0 }, new uint[] { 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 }),
        (new uint[] { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff }, new uint[] { 0xffffffff, 0xffffffff }, new uint[] { 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd }),
        (new uint[] { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344 }, new uint[] { 0xa4093822, 0x299f31d0 }, new uint[] { 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 }),
    };

    private static RngBlock Block(uint[] w) => new(w[0], w[1], w[2], w[3]);

    [Test]
    public void KnownAnswerVectors()
    {
        var counters = KnownAnswers.Select(k => Block(k.Counter)).ToArray();
        var keys = KnownAnswers.SelectMany(k => k.Key).ToArray();
        var actual = Runtime.IsIlgpu
            ? DeviceProbes.Philox(Runtime, counters, keys)
            : counters.Select((c, i) => Philox4x32.Generate(c, keys[2 * i], keys[2 * i + 1])).ToArray();
        for (int i = 0; i < KnownAnswers.Length; i++)
            Assert.That(actual[i], Is.EqualTo(Block(KnownAnswers[i].Expected)), $"vector {i} on {Backend.ToName()}");
    }

    [Test]
    public void CounterLayoutIsBitIdenticalToTheCpu()
    {
        const int count = 4096;
        var random = new System.Random(17);
        var keys = Enumerable.Range(0, count).Select(_ => new RngKey((ulong)random.NextInt64() ^ ((ulong)random.Next() << 33), (uint)random.Next())).ToArray();
        var offsets = Enumerable.Range(0, count).Select(i => i % 3 == 0 ? (ulong)i : (ulong)random.NextInt64() << 1).ToArray();
        var expected = keys.Select((k, i) => Rng.Block(k, (uint)i, offsets[i])).ToArray();
        if (!Runtime.IsIlgpu)
        {
            Assert.Pass("the cpu backend runs this same code");
            return;
        }
        var actual = DeviceProbes.Blocks(Runtime, keys, offsets);
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void CounterWordsAreWhereTheDocumentationSays()
    {
        var key = new RngKey(0x0123456789abcdefUL, 0xdeadbeef);
        var direct = Philox4x32.Generate(new RngBlock(7, 0xdeadbeef, 0x89abcdef, 0x01234567), 0x89abcdef, 0x01234567);
        Assert.That(Rng.Block(key, 7, 0x0123456789abcdefUL), Is.EqualTo(direct));
        Assert.That(Rng.RowKey(key, 3), Is.EqualTo(new RngKey(key.Seed, 0xdeadbef2)));
        Assert.That(Rng.RowKey(new RngKey(1, uint.MaxValue), 1).Stream, Is.EqualTo(0u), "streams wrap");
    }

    [Test]
    public void NeighbouringCountersAndKeysAreUncorrelated()
    {
        // Flipping one input bit flips about half of the 128 output bits (avalanche), for every counter and key bit.
        var key = new RngKey(42, 1);
        var baseline = Rng.Block(key, 0, 0);
        for (int bit = 0; bit < 64; bit++)
        {
            int flippedOffset = Flipped(baseline, Rng.Block(key, 0, 1UL << bit));
            int flippedSeed = Flipped(baseline, Rng.Block(new RngKey(42UL ^ (1UL << bit), 1), 0, 0));
            Assert.That(flippedOffset, Is.InRange(32, 96), $"offset bit {bit}");
            Assert.That(flippedSeed, Is.InRange(32, 96), $"seed bit {bit}");
        }
    }

    private static int Flipped(RngBlock a, RngBlock b) =>
        System.Numerics.BitOperations.PopCount(a.X ^ b.X) + System.Numerics.BitOperations.PopCount(a.Y ^ b.Y)
        + System.Numerics.BitOperations.PopCount(a.Z ^ b.Z) + System.Numerics.BitOperations.PopCount(a.W ^ b.W);
}
