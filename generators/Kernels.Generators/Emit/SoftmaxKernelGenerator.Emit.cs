using Kernels.Generators.Helpers;
using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;

namespace Kernels.Generators;

public sealed partial class SoftmaxKernelGenerator
{
    /// <summary>Model → source: the transform, the ILGPU kernel, the CPU kernel and the launcher, in one file per declaration.</summary>
    internal static partial class Emit
    {
        public static void Run(SourceProductionContext context, SoftmaxKernelInfo model) =>
            Generated.AddSource(context, model.Hierarchy, "Softmax", "the softmax-family kernel", w => WriteMembers(w, model));


        private static void WriteMembers(IndentedWriter w, SoftmaxKernelInfo model)
        {
            Generated.WriteTransform(w, model.Hierarchy.Name, model.Transform);
            WriteIlgpuKernel(w);
            WriteCpuKernel(w);
            WriteLauncher(w, model);
        }
    }
}
