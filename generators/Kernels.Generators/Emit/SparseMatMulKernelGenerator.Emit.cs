using Kernels.Generators.Helpers;
using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;

namespace Kernels.Generators;

public sealed partial class SparseMatMulKernelGenerator
{
    /// <summary>Model → source: the epilogue, both kernels, the descriptor and Launch/Run, in one file per declaration.</summary>
    internal static class Emit
    {
        private const string FloatView = "global::ILGPU.ArrayView<float>";
        private const string UIntView = "global::ILGPU.ArrayView<uint>";
        private const string Args = "global::Kernels.SparseMatMulArgs";
        private const string Descriptor = "global::Kernels.SparseMatMulKernel";
        private const string Runtime = "global::Kernels.Runtime.KernelRuntime";
        private const string FloatBuffer = "global::Kernels.Runtime.KernelBuffer<float>";

        public static void Run(SourceProductionContext context, SparseMatMulKernelInfo model) =>
            Generated.AddSource(context, model.Hierarchy, "SparseMatMul", $"the {model.N}:{model.M} product", w => WriteMembers(w, model));

        private static void WriteMembers(IndentedWriter w, SparseMatMulKernelInfo model)
        {
            Generated.WriteTransform(w, model.Hierarchy.Name, model.Epilogue);
            w.Line();
            w.Line("/// <summary>The ILGPU kernel (CUDA, OpenCL, ilgpu-cpu): one group per tile of 4 rows of X by DimX outputs.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line("[global::Kernels.KernelEntryPoint]");
            w.Line($"public static void IlgpuKernel({FloatView} x, {FloatView} values, {UIntView} metadata, {FloatView} bias, {FloatView} y, {Args} args) =>");
            w.Line($"    global::Kernels.SparseMatMulDevice.Tile<{Generated.TransformName}>(x, values, metadata, bias, y, args);");
            w.Line();
            w.Line("/// <summary>The CPU kernel (cpu backend); arguments are addresses of the data.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void CpuKernel(nint x, nint values, nint metadata, nint bias, nint y, {Args} args) =>");
            w.Line($"    global::Kernels.SparseMatMulCpu.Run<{Generated.TransformName}>(x, values, metadata, bias, y, args);");
            w.Line();
            w.Line($"/// <summary>This product's descriptor: pattern {model.N}:{model.M}, both entry points, validation and dispatch.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static {Descriptor} Kernel {{ get; }} = new {Descriptor}({model.N}, {model.M}, IlgpuKernel, CpuKernel);");
            w.Line();
            w.Line($"/// <summary>Y [batch, W.Rows] = {(model.Epilogue is null ? "" : "epilogue(")}X [batch, W.Cols] · Wᵀ + bias{(model.Epilogue is null ? "" : ")")} for {model.N}:{model.M} weights on buffers of <paramref name=\"runtime\"/>; checks every argument first.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void Launch({Runtime} runtime, {FloatBuffer} x, global::Kernels.NmSparseBuffers weights, {FloatBuffer} y, int batch, {FloatBuffer}? bias = null) =>");
            w.Line("    Kernel.Launch(runtime, x, weights, y, batch, bias);");
            w.Line();
            w.Line("/// <summary><see cref=\"Launch\"/> on host memory.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void Run({Runtime} runtime, global::System.ReadOnlySpan<float> x, global::Kernels.NmSparseMatrix weights, global::System.Span<float> y, int batch, global::System.ReadOnlySpan<float> bias = default) =>");
            w.Line("    Kernel.Run(runtime, x, weights, y, batch, bias);");
        }
    }
}
