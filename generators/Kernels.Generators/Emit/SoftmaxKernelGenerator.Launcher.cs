using System.Collections.Generic;
using Kernels.Generators.Helpers;
using Kernels.Generators.Models;

namespace Kernels.Generators;

public sealed partial class SoftmaxKernelGenerator
{
    internal static partial class Emit
    {
        private const string Buffer = "global::Kernels.Runtime.KernelBuffer<float>";

        /// <summary>The typed launcher: parameters follow the declaration (temperature, per-row temperatures, mask).</summary>
        private static void WriteLauncher(IndentedWriter w, SoftmaxKernelInfo model)
        {
            w.Line("/// <summary>This kernel's descriptor: shape, both entry points, validation and dispatch.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line("public static global::Kernels.SoftmaxKernel Kernel { get; } = new global::Kernels.SoftmaxKernel(");
            w.Line($"    global::Kernels.SoftmaxOutput.{model.Output}, global::Kernels.SoftmaxActivation.{model.Activation},");
            w.Line($"    global::Kernels.TemperatureMode.{model.Temperature}, {(model.Mask ? "true" : "false")}, IlgpuKernel, CpuKernel);");

            string outputShape = model.Output == SoftmaxOutput.LogSumExp ? "[rows]" : "[rows, cols]";
            var bufferParams = Parameters(model, Buffer, Buffer);
            var spanParams = Parameters(model, "global::System.ReadOnlySpan<float>", "global::System.ReadOnlySpan<float>");
            string args = Arguments(model, "null");
            string spanArgs = Arguments(model, "default");

            w.Line();
            w.Line($"/// <summary>Runs the kernel on buffers of <paramref name=\"runtime\"/>: input [rows, cols] → output {outputShape}. Checks every argument before launching.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void Launch(global::Kernels.Runtime.KernelRuntime runtime, {Buffer} input, {Buffer} output, int rows, int cols{bufferParams}) =>");
            w.Line($"    Kernel.Launch(runtime, input, output, rows, cols{args});");
            w.Line();
            w.Line($"/// <summary>Runs the kernel on host memory: input [rows, cols] → output {outputShape}. Zero-copy on the cpu backend.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void Run(global::Kernels.Runtime.KernelRuntime runtime, global::System.ReadOnlySpan<float> input, global::System.Span<float> output, int rows, int cols{spanParams}) =>");
            w.Line($"    Kernel.Run(runtime, input, output, rows, cols{spanArgs});");
        }

        private static string Parameters(SoftmaxKernelInfo model, string rowType, string maskType)
        {
            var list = new List<string>();
            if (model.Temperature == TemperatureMode.Scalar) list.Add("float temperature");
            if (model.Temperature == TemperatureMode.PerRow) list.Add($"{rowType} temperatures");
            if (model.Mask) list.Add($"{maskType} mask");
            return list.Count == 0 ? "" : ", " + string.Join(", ", list);
        }

        private static string Arguments(SoftmaxKernelInfo model, string absent) =>
            ", " + (model.Temperature == TemperatureMode.Scalar ? "temperature" : "1f")
            + ", " + (model.Temperature == TemperatureMode.PerRow ? "temperatures" : absent)
            + ", " + (model.Mask ? "mask" : absent);
    }
}
