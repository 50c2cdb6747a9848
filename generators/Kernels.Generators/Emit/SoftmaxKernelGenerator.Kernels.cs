using Kernels.Generators.Helpers;
using Kernels.Generators.Models;

namespace Kernels.Generators;

public sealed partial class SoftmaxKernelGenerator
{
    internal static partial class Emit
    {
        private const string View = "global::ILGPU.ArrayView<float>";

        /// <summary>The ILGPU kernel: one group per row, specialised on the generated transform.</summary>
        private static void WriteIlgpuKernel(IndentedWriter w)
        {
            w.Line("/// <summary>The ILGPU kernel (CUDA, OpenCL, ilgpu-cpu): launch one group per row.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line("[global::Kernels.KernelEntryPoint]");
            w.Line($"public static void IlgpuKernel({View} input, {View} output, {View} temperatures, {View} mask, global::Kernels.SoftmaxArgs args) =>");
            w.Line($"    global::Kernels.SoftmaxDevice.Row<{Generated.TransformName}>(input, output, temperatures, mask, args);");
        }

        /// <summary>The vectorised, multi-threaded CPU kernel, specialised on the generated transform.</summary>
        private static void WriteCpuKernel(IndentedWriter w)
        {
            w.Line("/// <summary>The vectorised multi-threaded CPU kernel (cpu backend); arguments are addresses of float data.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line("public static void CpuKernel(nint input, nint output, nint temperatures, nint mask, global::Kernels.SoftmaxArgs args) =>");
            w.Line($"    global::Kernels.SoftmaxCpu.Rows<{Generated.TransformName}>(input, output, temperatures, mask, args);");
        }
    }
}
