using Kernels.Generators.Helpers;
using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;

namespace Kernels.Generators;

public sealed partial class SamplerKernelGenerator
{
    /// <summary>Model → source: the transform, the ILGPU kernel, the CPU kernel and the launcher, in one file per declaration.</summary>
    internal static partial class Emit
    {
        public static void Run(SourceProductionContext context, SamplerKernelInfo model) =>
            Generated.AddSource(context, model.Hierarchy, "Sampler", $"the {model.Kind} sampler", w => WriteMembers(w, model));


        private static void WriteMembers(IndentedWriter w, SamplerKernelInfo model)
        {
            Generated.WriteTransform(w, model.Hierarchy.Name, model.Transform);
            var shape = Shape.Of(model);
            WriteKernels(w, shape);
            WriteLauncher(w, model, shape);
        }
    }
}
