using System;
using System.Linq;
using Kernels.Runtime;
using Kernels.Tests.Infrastructure;
using NUnit.Framework;

namespace Kernels.Tests.Speculative;

/// <summary>The expected-acceptance diagnostic on every backend present, against the float64 reference.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Present))]
public sealed class ExpectedAcceptanceTests(Backend backend) : BackendTest(backend)
{
    private static readonly (int Batch, int Length, int Cols)[] Shapes = { (1, 1, 1), (3, 2, 7), (2, 4, 1029), (4, 0, 33), (2, 1, 5000) };

    [TestCaseSource(nameof(Shapes))]
    public void MatchesTheReference((int Batch, int Length, int Cols) shape)
    {
        var (batch, length, cols) = shape;
        var random = new System.Random(batch + 10 * length + cols);
        var p = Enumerable.Range(0, batch * (length + 1)).Select(_ => SpeculativeReference.Distribution(cols, random)).ToArray();
        var q = Enumerable.Range(0, batch * length).Select(i => SpeculativeReference.Perturbed(p[i / length * (length + 1) + i % length], random, 1.5)).ToArray();
        if (batch * length > 1)
            q[1][cols / 2] = float.NaN; // pair 1 is NaN, the others are not affected
        var beta = new float[batch * length];
        ExpectedAcceptance.Run(Runtime, p.SelectMany(r => r).ToArray(), q.SelectMany(r => r).Append(0f).ToArray(), beta, batch, length, cols);
        for (int i = 0; i < batch * length; i++)
        {
            double expected = SpeculativeReference.ExpectedAcceptance(p[i / length * (length + 1) + i % length], q[i]);
            if (double.IsNaN(expected))
                Assert.That(beta[i], Is.NaN, $"pair {i}");
            else
                Assert.That(beta[i], Is.EqualTo(expected).Within(1e-6), $"pair {i}");
        }
    }
}
