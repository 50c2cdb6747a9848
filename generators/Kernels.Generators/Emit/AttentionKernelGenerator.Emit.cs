using System.Collections.Generic;
using Kernels.Generators.Helpers;
using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;

namespace Kernels.Generators;

public sealed partial class AttentionKernelGenerator
{
    /// <summary>Model → source: the head-dimension constant, the kernels, the descriptor and Launch/Run, in one file per declaration.</summary>
    internal static class Emit
    {
        private const string FloatView = "global::ILGPU.ArrayView<float>";
        private const string IntView = "global::ILGPU.ArrayView<int>";
        private const string Runtime = "global::Kernels.Runtime.KernelRuntime";
        private const string FloatBuffer = "global::Kernels.Runtime.KernelBuffer<float>";
        private const string IntBuffer = "global::Kernels.Runtime.KernelBuffer<int>";
        private const string Floats = "global::System.ReadOnlySpan<float>";
        private const string Output = "global::System.Span<float>";
        private const string Dim = "GeneratedHeadDim";

        public static void Run(SourceProductionContext context, AttentionKernelInfo model) =>
            Generated.AddSource(context, model.Hierarchy, "Attention", $"the {model.Kind} attention kernel", w =>
            {
                WriteHeadDim(w, model.HeadDim);
                if (model.Kind == AttentionKind.Decode)
                    WriteDecode(w, model);
                else if (model.Kind == AttentionKind.HyperAttention)
                    WriteHyper(w, model);
                else if (model.Kind == AttentionKind.Linear)
                    WriteLinear(w, model);
                else
                    WriteBlock(w, model);
            });

        private static void WriteHeadDim(IndentedWriter w, int headDim)
        {
            w.Line(headDim == 0
                ? "/// <summary>The head dimension: the launch's (declared for any).</summary>"
                : $"/// <summary>The head dimension, a compile-time constant of the kernels: {headDim}.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Open($"public readonly struct {Dim} : global::Kernels.IHeadDim");
            w.Line("/// <inheritdoc/>");
            w.Line($"public int Resolve(int runtime) => {(headDim == 0 ? "runtime" : headDim.ToString())};");
            w.Close();
            w.Line();
        }

        private static void WriteBlock(IndentedWriter w, AttentionKernelInfo model)
        {
            const string Shape = "global::Kernels.AttentionShape shape, global::Kernels.BlockAttentionOptions options = default";
            WriteBlockKernels(w, model.GroupSize, "Kernel", $"{model.HeadDim}");
            w.Line("/// <summary>(O, LSE) of queries [Heads, Queries, d] against keys and values [KvHeads, Keys, d] on buffers of <paramref name=\"runtime\"/>; checks every argument first.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void Launch({Runtime} runtime, {FloatBuffer} q, {FloatBuffer} k, {FloatBuffer} v, {FloatBuffer} output, {FloatBuffer} lse, {Shape}, {FloatBuffer}? bias = null) =>");
            w.Line("    Kernel.Launch(runtime, q, k, v, output, lse, shape, options, bias);");
            w.Line();
            w.Line("/// <summary><see cref=\"Launch\"/> on host memory.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void Run({Runtime} runtime, {Floats} q, {Floats} k, {Floats} v, {Output} output, {Output} lse, {Shape}, {Floats} bias = default) =>");
            w.Line("    Kernel.Run(runtime, q, k, v, output, lse, shape, options, bias);");
            w.Line();
            w.Line("/// <summary><see cref=\"Launch\"/> on host memory, into a state of Heads·Queries rows.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void Run({Runtime} runtime, {Floats} q, {Floats} k, {Floats} v, global::Kernels.AttentionState state, {Shape}, {Floats} bias = default) =>");
            w.Line("    Kernel.Run(runtime, q, k, v, state, shape, options, bias);");
        }

        // HyperAttention: block-attention kernels specialised on the head dimension, and a factory that runs on them.
        private static void WriteHyper(IndentedWriter w, AttentionKernelInfo model)
        {
            WriteBlockKernels(w, 0, "BlockKernel", $"{model.HeadDim}");
            string dim = model.HeadDim == 0 ? "headDim" : model.HeadDim.ToString();
            string parameters = (model.HeadDim == 0 ? "int headDim, " : "") + "global::Kernels.HyperAttentionOptions? options = null, global::Kernels.RngKey key = default";
            w.Line($"/// <summary>A HyperAttention{(model.HeadDim == 0 ? "" : $" for d = {model.HeadDim}")} running its diagonal blocks and residual on <see cref=\"BlockKernel\"/>.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static global::Kernels.HyperAttention Create({parameters}) =>");
            w.Line($"    new global::Kernels.HyperAttention({dim}, options, key, BlockKernel);");
        }

        // Linear attention: the state kernel specialised on the head dimension, and a factory that runs on it.
        private static void WriteLinear(IndentedWriter w, AttentionKernelInfo model)
        {
            w.Line("/// <summary>The ILGPU state kernel (CUDA, OpenCL, ilgpu-cpu): one group per head.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line("[global::Kernels.KernelEntryPoint]");
            w.Line($"public static void IlgpuKernel({FloatView} q, {FloatView} k, {FloatView} v, {FloatView} o, {FloatView} state, {FloatView} denominators, {FloatView} projection, global::Kernels.LinearAttentionArgs args) =>");
            w.Line($"    global::Kernels.LinearAttentionDevice.Kernel<{Dim}>(q, k, v, o, state, denominators, projection, args);");
            w.Line();
            w.Line("/// <summary>The CPU state kernel (cpu backend); arguments are addresses of the data.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line("public static void CpuKernel(nint q, nint k, nint v, nint o, nint state, nint projection, global::Kernels.LinearAttentionArgs args) =>");
            w.Line($"    global::Kernels.LinearAttentionCpu.Run<{Dim}>(q, k, v, o, state, projection, args);");
            w.Line();
            w.Line("/// <summary>This declaration's entry points.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static global::Kernels.LinearAttentionKernel Kernel {{ get; }} = new global::Kernels.LinearAttentionKernel({model.HeadDim}, IlgpuKernel, CpuKernel);");
            w.Line();
            string dim = model.HeadDim == 0 ? "headDim" : model.HeadDim.ToString();
            string parameters = (model.HeadDim == 0 ? "int headDim, " : "") + "global::Kernels.LinearFeatureMap featureMap = global::Kernels.LinearFeatureMap.EluPlusOne, int features = 0, global::Kernels.RngKey key = default";
            w.Line($"/// <summary>A linear attention{(model.HeadDim == 0 ? "" : $" for d = {model.HeadDim}")} running on <see cref=\"Kernel\"/>.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static global::Kernels.LinearAttention Create({parameters}) =>");
            w.Line($"    new global::Kernels.LinearAttention(featureMap, {dim}, features, key, Kernel);");
        }

        // The block-attention entry points and their descriptor (named <paramref name="property"/>).
        private static void WriteBlockKernels(IndentedWriter w, int groupSize, string property, string headDim)
        {
            const string Args = "global::Kernels.AttentionArgs";
            w.Line("/// <summary>The ILGPU kernel (CUDA, OpenCL, ilgpu-cpu): one group per (head, query row).</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line("[global::Kernels.KernelEntryPoint]");
            w.Line($"public static void IlgpuKernel({FloatView} q, {FloatView} k, {FloatView} v, {FloatView} bias, {FloatView} o, {FloatView} lse, {Args} args) =>");
            w.Line($"    global::Kernels.BlockAttentionDevice.Row<{Dim}>(q, k, v, bias, o, lse, args);");
            w.Line();
            w.Line("/// <summary>The CPU kernel (cpu backend); arguments are addresses of the data.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void CpuKernel(nint q, nint k, nint v, nint bias, nint o, nint lse, {Args} args) =>");
            w.Line($"    global::Kernels.BlockAttentionCpu.Run<{Dim}>(q, k, v, bias, o, lse, args);");
            w.Line();
            w.Line("/// <summary>This declaration's block-attention descriptor: both entry points, validation and dispatch.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static global::Kernels.BlockAttentionKernel {property} {{ get; }} = new global::Kernels.BlockAttentionKernel({headDim}, {groupSize}, IlgpuKernel, CpuKernel);");
            w.Line();
        }

        private static void WriteDecode(IndentedWriter w, AttentionKernelInfo model)
        {
            const string Args = "global::Kernels.DecodeAttentionArgs";
            bool lengths = (model.Masks & AttentionMasks.Length) != 0;
            w.Line("/// <summary>The ILGPU partial-state kernel: one group per (sequence, query head, chunk of keys).</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line("[global::Kernels.KernelEntryPoint]");
            w.Line($"public static void IlgpuSplitKernel({FloatView} q, {FloatView} k, {FloatView} v, {IntView} lengths, {FloatView} partialO, {FloatView} partialLse, {Args} args) =>");
            w.Line($"    global::Kernels.DecodeAttentionDevice.Split<{Dim}>(q, k, v, lengths, partialO, partialLse, args);");
            w.Line();
            w.Line("/// <summary>The ILGPU merge kernel: one group per (sequence, query head), seeded with the sink.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line("[global::Kernels.KernelEntryPoint]");
            w.Line($"public static void IlgpuMergeKernel({FloatView} partialO, {FloatView} partialLse, {FloatView} sinks, {FloatView} o, {FloatView} lse, {Args} args) =>");
            w.Line($"    global::Kernels.DecodeAttentionDevice.Merge<{Dim}>(partialO, partialLse, sinks, o, lse, args);");
            w.Line();
            w.Line("/// <summary>The CPU kernel (cpu backend); arguments are addresses of the data.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void CpuKernel(nint q, nint k, nint v, nint lengths, nint sinks, nint o, nint lse, {Args} args) =>");
            w.Line($"    global::Kernels.DecodeAttentionCpu.Run<{Dim}>(q, k, v, lengths, sinks, o, lse, args);");
            w.Line();
            w.Line("/// <summary>This declaration's descriptor: the entry points, validation and dispatch.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static global::Kernels.DecodeAttentionKernel Kernel {{ get; }} = new global::Kernels.DecodeAttentionKernel({model.HeadDim}, {model.GroupSize}, {model.ChunkKeys}, {Bool(lengths)}, {Bool(model.Sink)}, IlgpuSplitKernel, IlgpuMergeKernel, CpuKernel);");
            w.Line();

            var launch = new List<string> { $"{Runtime} runtime", $"{FloatBuffer} q", $"{FloatBuffer} k", $"{FloatBuffer} v", $"{FloatBuffer} output", $"{FloatBuffer} lse", "global::Kernels.DecodeShape shape" };
            var run = new List<string> { $"{Runtime} runtime", $"{Floats} q", $"{Floats} k", $"{Floats} v", $"{Output} output", $"{Output} lse", "global::Kernels.DecodeShape shape" };
            if (lengths)
            {
                launch.Add($"{IntBuffer} lengths");
                run.Add("global::System.ReadOnlySpan<int> lengths");
            }
            if (model.Sink)
            {
                launch.Add($"{FloatBuffer} sinks");
                run.Add($"{Floats} sinks");
            }
            launch.Add("float? scale = null");
            run.Add("float? scale = null");
            string launchCall = $"runtime, q, k, v, output, lse, shape, {(lengths ? "lengths" : "null")}, {(model.Sink ? "sinks" : "null")}, scale";
            string runCall = $"runtime, q, k, v, output, lse, shape, {(lengths ? "lengths" : "default")}, {(model.Sink ? "sinks" : "default")}, scale";
            w.Line($"/// <summary>(O, LSE) of one query per (sequence, head) [Batch, Heads, {model.HeadDim}] against the KV cache [Batch, KvHeads, Capacity, {model.HeadDim}] on buffers of <paramref name=\"runtime\"/>; checks every argument first.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void Launch({string.Join(", ", launch)}) =>");
            w.Line($"    Kernel.Launch({launchCall});");
            w.Line();
            w.Line("/// <summary><see cref=\"Launch\"/> on host memory; lengths are checked before the launch.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void Run({string.Join(", ", run)}) =>");
            w.Line($"    Kernel.Run({runCall});");
        }

        private static string Bool(bool value) => value ? "true" : "false";
    }
}
