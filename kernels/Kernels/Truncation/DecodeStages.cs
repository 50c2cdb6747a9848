using System;
using Kernels.Runtime;

namespace Kernels;

/// <summary>
/// The stages a decode-family declaration names (temperature, top-k, top-p, min-p, probabilities, a transform with
/// context) and the checks and launch arguments that follow from them, shared by <see cref="DecodeSampler"/> and
/// <see cref="TruncationKernel"/>.
/// </summary>
public readonly struct DecodeStages(TemperatureMode temperature, bool topK, bool topP, bool minP, bool probabilities, bool context = false)
{
    /// <summary>How the kernel takes its temperature.</summary>
    public TemperatureMode Temperature { get; } = temperature;

    /// <summary>Whether there is a top-k stage.</summary>
    public bool TopK { get; } = topK;

    /// <summary>Whether there is a top-p stage.</summary>
    public bool TopP { get; } = topP;

    /// <summary>Whether there is a min-p stage.</summary>
    public bool MinP { get; } = minP;

    /// <summary>Whether the rows are probabilities (non-negative, any scale) rather than logits.</summary>
    public bool Probabilities { get; } = probabilities;

    /// <summary>Whether the transform takes a per-element context [rows, cols] and a per-row parameter [rows].</summary>
    public bool Context { get; } = context;

    /// <summary>Checks the per-row parameter buffers the stages need.</summary>
    public void CheckBuffers(KernelRuntime runtime, int rows, int cols, KernelBuffer<float>? temperatures, KernelBuffer<int>? topK,
        KernelBuffer<float>? topP, KernelBuffer<float>? minP, KernelBuffer<float>? context, KernelBuffer<float>? parameters)
    {
        if (Context)
        {
            Guard.Buffer(runtime, context, Guard.Elements(rows, cols), nameof(context));
            Guard.Buffer(runtime, parameters, rows, nameof(parameters));
        }
        if (Temperature == TemperatureMode.PerRow)
            Guard.Buffer(runtime, temperatures, rows, nameof(temperatures));
        if (TopK)
            Guard.Buffer(runtime, topK, rows, nameof(topK));
        if (TopP)
            Guard.Buffer(runtime, topP, rows, nameof(topP));
        if (MinP)
            Guard.Buffer(runtime, minP, rows, nameof(minP));
    }

    /// <summary>
    /// Checks the per-row parameter spans the stages need: their lengths, and their values, since on the host they are
    /// arguments (in device buffers they are data: a per-row status).
    /// </summary>
    public void CheckSpans(int rows, int cols, ReadOnlySpan<float> temperatures, ReadOnlySpan<int> topK, ReadOnlySpan<float> topP,
        ReadOnlySpan<float> minP, ReadOnlySpan<float> context, ReadOnlySpan<float> parameters)
    {
        if (Context)
        {
            Guard.Span(context.Length, Guard.Elements(rows, cols), nameof(context));
            Guard.Span(parameters.Length, rows, nameof(parameters));
        }
        if (Temperature == TemperatureMode.PerRow)
            Guard.Span(temperatures.Length, rows, nameof(temperatures));
        if (TopK)
            Guard.Span(topK.Length, rows, nameof(topK));
        if (TopP)
            Guard.Span(topP.Length, rows, nameof(topP));
        if (MinP)
            Guard.Span(minP.Length, rows, nameof(minP));
        PerRowValues.Check(temperatures[..(Temperature == TemperatureMode.PerRow ? rows : 0)], PerRowValues.ValidTemperature, PerRowValues.TemperatureDomain, nameof(temperatures));
        PerRowValues.Check(topP[..(TopP ? rows : 0)], TruncationRules.ValidTopP, "in (0, 1]", nameof(topP));
        PerRowValues.Check(minP[..(MinP ? rows : 0)], TruncationRules.ValidMinP, "in [0, 1]", nameof(minP));
    }

    /// <summary>The launch arguments (after checking rows, cols and a scalar temperature).</summary>
    public DecodeArgs Arguments(int rows, int cols, float temperature, bool writeStatus)
    {
        Guard.AtLeast(rows, 0, nameof(rows));
        Guard.AtLeast(cols, 1, nameof(cols));
        if (Temperature == TemperatureMode.Scalar)
            Guard.PositiveFinite(temperature, nameof(temperature));
        bool scalar = Temperature == TemperatureMode.Scalar;
        return new DecodeArgs
        {
            Rows = rows,
            Cols = cols,
            Scale = Probabilities ? 1f : scalar ? SamplingMath.Log2Scale(temperature) : (float)SamplingMath.Log2E,
            Temperature = scalar ? temperature : 1f,
            Probabilities = Probabilities ? 1 : 0,
            PerRowTemperature = Temperature == TemperatureMode.PerRow ? 1 : 0,
            TopK = TopK ? 1 : 0,
            TopP = TopP ? 1 : 0,
            MinP = MinP ? 1 : 0,
            Context = Context ? 1 : 0,
            WriteStatus = writeStatus ? 1 : 0,
            Rounds = TruncationRules.MaxRounds,
        };
    }
}
