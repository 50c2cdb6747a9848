using System;
using System.Collections.Generic;
using Kernels.Runtime;

namespace Kernels.Tests.Softmax;

/// <summary>Every softmax-family kernel under test, with its float64 element transform for the reference.</summary>
public sealed record SoftmaxCase(string Name, SoftmaxKernel Kernel, Func<double, int, double>? Transform)
{
    public static readonly SoftmaxCase[] All =
    {
        new("Softmax", Kernels.Softmax.Kernel, null),
        new("LogSoftmax", Kernels.LogSoftmax.Kernel, null),
        new("LogSumExp", Kernels.LogSumExp.Kernel, null),
        new("MaskedSoftmax", Kernels.MaskedSoftmax.Kernel, null),
        new("StableMax", Kernels.StableMax.Kernel, null),
        new("LogStableMax", Kernels.LogStableMax.Kernel, null),
        new("SoftCappedSoftmax", SoftCappedSoftmax.Kernel, (x, _) => 30 * Math.Tanh(x / 30)),
        new("PenalisedLogSoftmax", PenalisedLogSoftmax.Kernel, (x, c) => (x > -20 ? x : -20) - (c < PenalisedLogSoftmax.PenalisedColumns ? 1.5 : 0)),
        new("SquashedSoftmax", SquashedSoftmax.Kernel, (x, _) => x / (1 + Math.Abs(x))),
    };

    public static IEnumerable<string> Names
    {
        get
        {
            foreach (var c in All) yield return c.Name;
        }
    }

    public static SoftmaxCase Get(string name) => Array.Find(All, c => c.Name == name)!;

    public override string ToString() => Name;
}

/// <summary>Inputs for one launch and the float64 reference of its output.</summary>
public sealed class SoftmaxProblem
{
    public SoftmaxProblem(SoftmaxCase kernel, float[] input, int rows, int cols, int seed)
    {
        Case = kernel;
        Input = input;
        Rows = rows;
        Cols = cols;
        var random = new System.Random(seed);
        if (kernel.Kernel.Temperature == TemperatureMode.PerRow)
        {
            Temperatures = new float[rows];
            for (int r = 0; r < rows; r++) Temperatures[r] = (float)(0.5 + 1.5 * random.NextDouble());
        }
        if (kernel.Kernel.HasMask)
        {
            Mask = new float[rows * cols];
            for (int i = 0; i < Mask.Length; i++)
                Mask[i] = random.NextDouble() < 0.1 ? float.NegativeInfinity : (float)(random.NextDouble() - 0.5);
        }
    }

    public SoftmaxCase Case { get; }
    public float[] Input { get; }
    public int Rows { get; }
    public int Cols { get; }
    public float Temperature { get; set; } = 0.7f;
    public float[]? Temperatures { get; set; }
    public float[]? Mask { get; set; }

    public double[] Reference() => Tests.Reference.SoftmaxReference.Compute(
        Input, Rows, Cols, Case.Kernel.Output, Case.Kernel.Activation,
        Case.Kernel.Temperature == TemperatureMode.Scalar ? Temperature : 1, Temperatures, Mask, Case.Transform);

    /// <summary>Runs through device buffers (Launch).</summary>
    public float[] Launch(KernelRuntime runtime)
    {
        using var input = runtime.Upload<float>(Input);
        using var output = runtime.Allocate<float>(Case.Kernel.OutputLength(Rows, Cols));
        using var temperatures = Temperatures is null ? null : runtime.Upload<float>(Temperatures);
        using var mask = Mask is null ? null : runtime.Upload<float>(Mask);
        Case.Kernel.Launch(runtime, input, output, Rows, Cols, Temperature, temperatures, mask);
        return output.ToArray();
    }

    /// <summary>Runs on host spans (Run).</summary>
    public float[] Run(KernelRuntime runtime)
    {
        var output = new float[Case.Kernel.OutputLength(Rows, Cols)];
        Case.Kernel.Run(runtime, Input, output, Rows, Cols, Temperature, Temperatures, Mask);
        return output;
    }

    /// <summary>Tolerance: the float32 rounding of z (≈ 2^-24·|z|) moves each exponential by that much, relatively.</summary>
    public double RelativeTolerance()
    {
        double maxAbs = 0;
        foreach (float v in Input) if (float.IsFinite(v)) maxAbs = Math.Max(maxAbs, Math.Abs(v));
        double invT = Case.Kernel.Temperature == TemperatureMode.Scalar ? 1 / Temperature : 2;
        return 1e-6 * (4 + maxAbs * invT);
    }
}
