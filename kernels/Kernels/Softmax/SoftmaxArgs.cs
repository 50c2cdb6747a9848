using System.Runtime.InteropServices;

namespace Kernels;

/// <summary>The scalar arguments of one softmax-family launch, passed by value to both kernels.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SoftmaxArgs
{
    /// <summary>Rows.</summary>
    public int Rows;

    /// <summary>Columns (elements per row).</summary>
    public int Cols;

    /// <summary>1/T for <see cref="TemperatureMode.Scalar"/>, else 1.</summary>
    public float InverseTemperature;

    /// <summary>1 when the temperatures come per row from a buffer.</summary>
    public int PerRowTemperature;

    /// <summary>1 when an additive mask buffer is read.</summary>
    public int HasMask;

    /// <summary>A <see cref="SoftmaxOutput"/> value.</summary>
    public int Output;

    /// <summary>A <see cref="SoftmaxActivation"/> value.</summary>
    public int Activation;
}
