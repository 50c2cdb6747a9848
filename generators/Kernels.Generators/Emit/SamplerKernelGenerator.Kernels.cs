using Kernels.Generators.Helpers;
using Kernels.Generators.Models;

namespace Kernels.Generators;

public sealed partial class SamplerKernelGenerator
{
    internal static partial class Emit
    {
        private const string FloatView = "global::ILGPU.ArrayView<float>";
        private const string IntView = "global::ILGPU.ArrayView<int>";
        private const string DoubleView = "global::ILGPU.ArrayView<double>";
        private const string KeyView = "global::ILGPU.ArrayView<global::Kernels.RngKey>";

        /// <summary>The kind-specific names the emitters need.</summary>
        private sealed class Shape
        {
            public string Descriptor = "";
            public string Args = "";
            public string Device = "";
            public string Cpu = "";
            /// <summary>The entry points' parameters after logits, temperatures and keys: (ILGPU, CPU, names).</summary>
            public string IlgpuTail = "";
            public string CpuTail = "";
            public string Names = "";

            public static Shape Of(SamplerKernelInfo model) => model.Kind switch
            {
                SamplerKind.GumbelTopK => new Shape
                {
                    Descriptor = "global::Kernels.GumbelTopKSampler",
                    Args = "global::Kernels.GumbelTopKArgs",
                    Device = "global::Kernels.GumbelTopKDevice.Row",
                    Cpu = "global::Kernels.GumbelTopKCpu.Rows",
                    IlgpuTail = $"{FloatView} noise, {IntView} indices, {FloatView} scores",
                    CpuTail = "nint noise, nint indices, nint scores",
                    Names = "noise, indices, scores",
                },
                SamplerKind.GumbelSoftmax => new Shape
                {
                    Descriptor = "global::Kernels.GumbelSoftmaxSampler",
                    Args = "global::Kernels.GumbelSoftmaxArgs",
                    Device = "global::Kernels.GumbelSoftmaxDevice.Row",
                    Cpu = "global::Kernels.GumbelSoftmaxCpu.Rows",
                    IlgpuTail = $"{FloatView} noise, {FloatView} output, {FloatView} soft",
                    CpuTail = "nint noise, nint output, nint soft",
                    Names = "noise, output, soft",
                },
                SamplerKind.Decode => new Shape
                {
                    Descriptor = "global::Kernels.DecodeSampler",
                    Args = "global::Kernels.DecodeArgs",
                    Device = "global::Kernels.DecodeDevice.Row",
                    Cpu = "global::Kernels.DecodeCpu.Rows",
                    IlgpuTail = $"{IntView} topK, {FloatView} topP, {FloatView} minP, global::ILGPU.ArrayView<ulong> offsets, {FloatView} context, {FloatView} parameters, {IntView} tokens, {IntView} status",
                    CpuTail = "nint topK, nint topP, nint minP, nint offsets, nint context, nint parameters, nint tokens, nint status",
                    Names = "topK, topP, minP, offsets, context, parameters, tokens, status",
                },
                SamplerKind.Truncate => new Shape
                {
                    Descriptor = "global::Kernels.TruncationKernel",
                    Args = "global::Kernels.DecodeArgs",
                    Device = "global::Kernels.DecodeDevice.Truncate",
                    Cpu = "global::Kernels.TruncateCpu.Rows",
                    IlgpuTail = $"{IntView} topK, {FloatView} topP, {FloatView} minP, {FloatView} context, {FloatView} parameters, {FloatView} output, {IntView} status",
                    CpuTail = "nint topK, nint topP, nint minP, nint context, nint parameters, nint output, nint status",
                    Names = "topK, topP, minP, context, parameters, output, status",
                },
                SamplerKind.TopH or SamplerKind.Mirostat => new Shape
                {
                    Descriptor = "global::Kernels.AdaptiveSampler",
                    Args = "global::Kernels.AdaptiveArgs",
                    Device = model.Kind == SamplerKind.Mirostat ? "global::Kernels.AdaptiveDevice.Mirostat"
                        : model.TopHMode == TopHMode.Normalized ? "global::Kernels.AdaptiveDevice.TopHNormalized" : "global::Kernels.AdaptiveDevice.TopH",
                    Cpu = "global::Kernels.AdaptiveCpu.Rows",
                    IlgpuTail = $"{FloatView} alpha, {FloatView} tau, {FloatView} eta, {FloatView} mu, {IntView} tokens, {IntView} status, {IntView} kept",
                    CpuTail = "nint alpha, nint tau, nint eta, nint mu, nint tokens, nint status, nint kept",
                    Names = "alpha, tau, eta, mu, tokens, status, kept",
                },
                SamplerKind.TopK => new Shape
                {
                    Descriptor = "global::Kernels.TopKSelector",
                    Args = "global::Kernels.TopKArgs",
                    Device = "global::Kernels.TopKDevice.Row",
                    Cpu = "global::Kernels.TopKCpu.Rows",
                    IlgpuTail = $"{FloatView} values, {IntView} indices",
                    CpuTail = "nint values, nint indices",
                    Names = "values, indices",
                },
                _ => new Shape
                {
                    Descriptor = "global::Kernels.CategoricalSampler",
                    Args = "global::Kernels.CategoricalArgs",
                    Device = "global::Kernels.CategoricalDevice.Row",
                    Cpu = "global::Kernels.CategoricalCpu.Rows",
                    IlgpuTail = $"{DoubleView} uniforms, {IntView} tokens, {FloatView} logProbs",
                    CpuTail = "nint uniforms, nint tokens, nint logProbs",
                    Names = "uniforms, tokens, logProbs",
                },
            };
        }

        /// <summary>The ILGPU kernel (one group per row) and the CPU kernel, both specialised on the generated transform.</summary>
        private static void WriteKernels(IndentedWriter w, Shape shape)
        {
            w.Line("/// <summary>The ILGPU kernel (CUDA, OpenCL, ilgpu-cpu): launch one group per row.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line("[global::Kernels.KernelEntryPoint]");
            w.Line($"public static void IlgpuKernel({FloatView} logits, {FloatView} temperatures, {KeyView} keys, {shape.IlgpuTail}, {shape.Args} args) =>");
            w.Line($"    {shape.Device}<{Generated.TransformName}>(logits, temperatures, keys, {shape.Names}, args);");
            w.Line();
            w.Line("/// <summary>The CPU kernel (cpu backend); arguments are addresses of the data.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void CpuKernel(nint logits, nint temperatures, nint keys, {shape.CpuTail}, {shape.Args} args) =>");
            w.Line($"    {shape.Cpu}<{Generated.TransformName}>(logits, temperatures, keys, {shape.Names}, args);");
        }
    }
}
