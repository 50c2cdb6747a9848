using System.Collections.Generic;
using Kernels.Generators.Helpers;
using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;

namespace Kernels.Generators;

public sealed partial class SpeculativeKernelGenerator
{
    /// <summary>Model → source: the ILGPU kernel, the CPU kernel and the launcher, in one file per declaration.</summary>
    internal static class Emit
    {
        private const string FloatView = "global::ILGPU.ArrayView<float>";
        private const string IntView = "global::ILGPU.ArrayView<int>";
        private const string DoubleView = "global::ILGPU.ArrayView<double>";
        private const string KeyView = "global::ILGPU.ArrayView<global::Kernels.RngKey>";
        private const string Runtime = "global::Kernels.Runtime.KernelRuntime";
        private const string FloatBuffer = "global::Kernels.Runtime.KernelBuffer<float>";
        private const string IntBuffer = "global::Kernels.Runtime.KernelBuffer<int>";
        private const string KeyBuffer = "global::Kernels.Runtime.KernelBuffer<global::Kernels.RngKey>";
        private const string Key = "global::Kernels.RngKey";

        public static void Run(SourceProductionContext context, SpeculativeKernelInfo model) =>
            Generated.AddSource(context, model.Hierarchy, "Speculative", $"the {model.Kind} speculative-decoding kernel", w =>
            {
                if (model.Kind == SpeculativeKind.ExpectedAcceptance)
                    WriteAcceptance(w);
                else if (model.Kind == SpeculativeKind.Tree)
                    WriteTree(w, model.PerRowKeys);
                else if (model.Kind is SpeculativeKind.RecursiveRejection or SpeculativeKind.KSeq)
                    WriteMultiDraft(w, model.Kind, model.PerRowKeys);
                else if (model.OnLogits)
                    WriteLogitChain(w, model);
                else
                    WriteChain(w, model.PerRowKeys);
            });

        /// <summary>Adds the key parameter (a per-row buffer or span, or one launch key) and the offset; returns the descriptor's key arguments.</summary>
        private static string AddKeys(List<string> launch, List<string> run, string shape, bool perRowKeys)
        {
            launch.Add(shape + (perRowKeys ? $", {KeyBuffer} keys" : $", {Key} key"));
            run.Add(shape + (perRowKeys ? $", global::System.ReadOnlySpan<{Key}> keys" : $", {Key} key"));
            launch.Add("ulong offset");
            run.Add("ulong offset");
            return perRowKeys ? "default, keys" : "key, {0}";
        }

        private static void WriteMultiDraft(IndentedWriter w, SpeculativeKind kind, bool perRowKeys)
        {
            const string Args = "global::Kernels.DraftArgs";
            WriteEntryPoints(w,
                $"{FloatView} target, {FloatView} draft, {IntView} draftTokens, {KeyView} keys, {DoubleView} uniforms, {IntView} slots, {IntView} tokens, {Args} args",
                "global::Kernels.DraftDevice.MultiDraftRow(target, draft, draftTokens, keys, uniforms, slots, tokens, args)",
                $"nint target, nint draft, nint draftTokens, nint keys, nint uniforms, nint slots, nint tokens, {Args} args",
                "global::Kernels.DraftCpu.MultiDraftRows(target, draft, draftTokens, keys, uniforms, slots, tokens, args)");
            WriteDescriptor(w, "global::Kernels.MultiDraftVerifier",
                $"global::Kernels.SpeculativeKind.{kind}, {(perRowKeys ? "true" : "false")}, IlgpuKernel, CpuKernel");
            var launch = new List<string> { $"{Runtime} runtime", $"{FloatBuffer} target", $"{FloatBuffer} draft", $"{IntBuffer} draftTokens", $"{IntBuffer} slots", $"{IntBuffer} tokens" };
            var run = new List<string> { $"{Runtime} runtime", "global::System.ReadOnlySpan<float> target", "global::System.ReadOnlySpan<float> draft", "global::System.ReadOnlySpan<int> draftTokens", "global::System.Span<int> slots", "global::System.Span<int> tokens" };
            string call = "runtime, target, draft, draftTokens, slots, tokens, batch, drafts, cols, " + AddKeys(launch, run, "int batch, int drafts, int cols", perRowKeys) + ", offset";
            string summary = $"Verifies {(kind == SpeculativeKind.KSeq ? "i.i.d. drafts by K-SEQ" : "drafts drawn without replacement by recursive rejection sampling")} [batch, drafts] against target and draft probabilities [batch, cols]: the accepted slot [batch] (−1: none) and the emitted token [batch] (−1: invalid row)";
            WriteMethods(w, summary, " Returns the RNG offset for the next call.", "ulong", launch, run,
                string.Format(call, "null"), string.Format(call, "default"));
        }

        private static void WriteTree(IndentedWriter w, bool perRowKeys)
        {
            const string Args = "global::Kernels.DraftArgs";
            WriteEntryPoints(w,
                $"{FloatView} target, {FloatView} draft, {IntView} parents, {IntView} nodeTokens, {KeyView} keys, {DoubleView} uniforms, {IntView} accepted, {IntView} path, {IntView} emitted, {Args} args",
                "global::Kernels.DraftDevice.TreeRow(target, draft, parents, nodeTokens, keys, uniforms, accepted, path, emitted, args)",
                $"nint target, nint draft, nint parents, nint nodeTokens, nint keys, nint uniforms, nint accepted, nint path, nint emitted, {Args} args",
                "global::Kernels.DraftCpu.TreeRows(target, draft, parents, nodeTokens, keys, uniforms, accepted, path, emitted, args)");
            WriteDescriptor(w, "global::Kernels.TreeVerifier", $"{(perRowKeys ? "true" : "false")}, IlgpuKernel, CpuKernel");
            var launch = new List<string> { $"{Runtime} runtime", $"{FloatBuffer} target", $"{FloatBuffer} draft", $"{IntBuffer} parents", $"{IntBuffer} nodeTokens", $"{IntBuffer} accepted", $"{IntBuffer} path", $"{IntBuffer} emitted" };
            var run = new List<string> { $"{Runtime} runtime", "global::System.ReadOnlySpan<float> target", "global::System.ReadOnlySpan<float> draft", "global::System.ReadOnlySpan<int> parents", "global::System.ReadOnlySpan<int> nodeTokens", "global::System.Span<int> accepted", "global::System.Span<int> path", "global::System.Span<int> emitted" };
            string call = "runtime, target, draft, parents, nodeTokens, accepted, path, emitted, batch, nodes, cols, " + AddKeys(launch, run, "int batch, int nodes, int cols", perRowKeys) + ", offset";
            const string Summary = "Verifies token trees (parents and node tokens [batch, nodes]) against target and draft probabilities [batch, nodes, cols]: the accepted depth [batch] (−1: invalid row), the accepted path [batch, nodes] and the emitted tokens [batch, nodes] (−1 padded)";
            WriteMethods(w, Summary, " Returns the RNG offset for the next call.", "ulong", launch, run,
                string.Format(call, "null"), string.Format(call, "default"));
        }

        private static void WriteChain(IndentedWriter w, bool perRowKeys)
        {
            const string Args = "global::Kernels.ChainArgs";
            WriteEntryPoints(w,
                $"{FloatView} target, {FloatView} draft, {IntView} draftTokens, {KeyView} keys, {DoubleView} uniforms, {IntView} accepted, {IntView} emitted, {Args} args",
                "global::Kernels.ChainDevice.Row(target, draft, draftTokens, keys, uniforms, accepted, emitted, args)",
                $"nint target, nint draft, nint draftTokens, nint keys, nint uniforms, nint accepted, nint emitted, {Args} args",
                "global::Kernels.ChainCpu.Rows(target, draft, draftTokens, keys, uniforms, accepted, emitted, args)");
            WriteDescriptor(w, "global::Kernels.ChainVerifier", $"{(perRowKeys ? "true" : "false")}, IlgpuKernel, CpuKernel");

            var launch = new List<string> { $"{Runtime} runtime", $"{FloatBuffer} target", $"{FloatBuffer} draft", $"{IntBuffer} draftTokens", $"{IntBuffer} accepted", $"{IntBuffer} emitted" };
            var run = new List<string> { $"{Runtime} runtime", "global::System.ReadOnlySpan<float> target", "global::System.ReadOnlySpan<float> draft", "global::System.ReadOnlySpan<int> draftTokens", "global::System.Span<int> accepted", "global::System.Span<int> emitted" };
            string call = "runtime, target, draft, draftTokens, accepted, emitted, batch, length, cols, " + AddKeys(launch, run, "int batch, int length, int cols", perRowKeys) + ", offset";
            const string Summary = "Verifies drafted tokens [batch, length] against target probabilities [batch, length + 1, cols] and draft probabilities [batch, length, cols]: accepted counts [batch] and emitted tokens [batch, length + 1] (−1 padded)";
            WriteMethods(w, Summary, " Returns the RNG offset for the next call.", "ulong", launch, run,
                string.Format(call, "null"), string.Format(call, "default"));
        }

        /// <summary>
        /// Chain verification on logits: the transform, the pipeline's kernels (the truncation kernel's, specialised on
        /// the transform), the chain kernels and the fused CPU kernel, and launchers whose stage parameters are the
        /// declaration's, per request.
        /// </summary>
        private static void WriteLogitChain(IndentedWriter w, SpeculativeKernelInfo model)
        {
            const string Args = "global::Kernels.ChainArgs", Stages = "global::Kernels.DecodeArgs";
            string transform = Generated.TransformName;
            Generated.WriteTransform(w, model.Hierarchy.Name, model.Transform);
            w.Line();
            // The pipeline's kernels: the truncation kernel's, specialised on this transform.
            const string Names = "logits, temperatures, keys, topK, topP, minP, context, parameters, output, status, args";
            WriteEntryPoints(w,
                $"{FloatView} logits, {FloatView} temperatures, {KeyView} keys, {IntView} topK, {FloatView} topP, {FloatView} minP, {FloatView} context, {FloatView} parameters, {FloatView} output, {IntView} status, {Stages} args",
                $"global::Kernels.DecodeDevice.Truncate<{transform}>({Names})",
                $"nint logits, nint temperatures, nint keys, nint topK, nint topP, nint minP, nint context, nint parameters, nint output, nint status, {Stages} args",
                $"global::Kernels.TruncateCpu.Rows<{transform}>({Names})", "IlgpuStages", "CpuStages");
            w.Line();
            WriteEntryPoints(w,
                $"{FloatView} target, {FloatView} draft, {IntView} draftTokens, {KeyView} keys, {DoubleView} uniforms, {IntView} accepted, {IntView} emitted, {Args} args",
                "global::Kernels.ChainDevice.Row(target, draft, draftTokens, keys, uniforms, accepted, emitted, args)",
                $"nint target, nint draft, nint draftTokens, nint keys, nint uniforms, nint accepted, nint emitted, {Args} args",
                "global::Kernels.ChainCpu.Rows(target, draft, draftTokens, keys, uniforms, accepted, emitted, args)");
            w.Line();
            w.Line("/// <summary>The fused CPU kernel (cpu backend): the pipeline and the verification per request.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void CpuLogitKernel(nint targetLogits, nint draftLogits, nint draftTokens, nint keys, nint temperatures, nint topK, nint topP, nint minP, nint accepted, nint emitted, {Args} args, {Stages} stages) =>");
            w.Line($"    global::Kernels.ChainCpu.LogitRows<{transform}>(targetLogits, draftLogits, draftTokens, keys, temperatures, topK, topP, minP, accepted, emitted, args, stages);");
            string stages = $"new global::Kernels.DecodeStages(global::Kernels.TemperatureMode.{model.Temperature}, {Bool(model.TopK)}, {Bool(model.TopP)}, {Bool(model.MinP)}, false)";
            WriteDescriptor(w, "global::Kernels.ChainLogitVerifier",
                $"new global::Kernels.TruncationKernel({stages}, global::Kernels.TruncationOutput.Probabilities, IlgpuStages, CpuStages), " +
                $"new global::Kernels.ChainVerifier({Bool(model.PerRowKeys)}, IlgpuKernel, CpuKernel), CpuLogitKernel");

            var launch = new List<string> { $"{Runtime} runtime", $"{FloatBuffer} targetLogits", $"{FloatBuffer} draftLogits", $"{IntBuffer} draftTokens", $"{IntBuffer} accepted", $"{IntBuffer} emitted", "int batch, int length, int cols" };
            var run = new List<string> { $"{Runtime} runtime", "global::System.ReadOnlySpan<float> targetLogits", "global::System.ReadOnlySpan<float> draftLogits", "global::System.ReadOnlySpan<int> draftTokens", "global::System.Span<int> accepted", "global::System.Span<int> emitted", "int batch, int length, int cols" };
            var call = new List<string> { "runtime, targetLogits, draftLogits, draftTokens, accepted, emitted, batch, length, cols" };
            if (model.Temperature == TemperatureMode.Scalar)
                AddParameter(launch, run, call, "float temperature", "float temperature", "temperature: temperature");
            else if (model.Temperature == TemperatureMode.PerRow)
                AddParameter(launch, run, call, $"{FloatBuffer} temperatures", "global::System.ReadOnlySpan<float> temperatures", "temperatures: temperatures");
            foreach (var (present, type, name) in new[] { (model.TopK, "int", "topK"), (model.TopP, "float", "topP"), (model.MinP, "float", "minP") })
            {
                if (present)
                    AddParameter(launch, run, call, $"global::Kernels.Runtime.KernelBuffer<{type}> {name}", $"global::System.ReadOnlySpan<{type}> {name}", $"{name}: {name}");
            }
            if (model.PerRowKeys)
                AddParameter(launch, run, call, $"{KeyBuffer} keys", $"global::System.ReadOnlySpan<{Key}> keys", "keys: keys");
            else
                AddParameter(launch, run, call, $"{Key} key", $"{Key} key", "key: key");
            AddParameter(launch, run, call, "ulong offset", "ulong offset", "offset: offset");
            const string Summary = "Verifies drafted tokens [batch, length] against target logits [batch, length + 1, cols] and draft logits [batch, length, cols], both through this declaration's decode pipeline (stage parameters per request, [batch]): accepted counts [batch] and emitted tokens [batch, length + 1] (−1 padded)";
            string joined = string.Join(", ", call);
            WriteMethods(w, Summary, " Returns the RNG offset for the next call.", "ulong", launch, run, joined, joined);
        }

        private static void AddParameter(List<string> launch, List<string> run, List<string> call, string launchParameter, string runParameter, string argument)
        {
            launch.Add(launchParameter);
            run.Add(runParameter);
            call.Add(argument);
        }

        private static string Bool(bool value) => value ? "true" : "false";

        private static void WriteAcceptance(IndentedWriter w)
        {
            const string Args = "global::Kernels.AcceptanceArgs";
            WriteEntryPoints(w,
                $"{FloatView} target, {FloatView} draft, {FloatView} acceptance, {Args} args",
                "global::Kernels.AcceptanceDevice.Pair(target, draft, acceptance, args)",
                $"nint target, nint draft, nint acceptance, {Args} args",
                "global::Kernels.AcceptanceCpu.Pairs(target, draft, acceptance, args)");
            WriteDescriptor(w, "global::Kernels.ExpectedAcceptanceKernel", "IlgpuKernel, CpuKernel");
            var launch = new List<string> { $"{Runtime} runtime", $"{FloatBuffer} target", $"{FloatBuffer} draft", $"{FloatBuffer} acceptance", "int batch, int length, int cols" };
            var run = new List<string> { $"{Runtime} runtime", "global::System.ReadOnlySpan<float> target", "global::System.ReadOnlySpan<float> draft", "global::System.Span<float> acceptance", "int batch, int length, int cols" };
            const string Call = "runtime, target, draft, acceptance, batch, length, cols";
            WriteMethods(w, "Writes the expected acceptance Σ min(p, q) [batch, length] of target [batch, length + 1, cols] and draft [batch, length, cols] probabilities", "",
                "void", launch, run, Call, Call);
        }

        private static void WriteEntryPoints(IndentedWriter w, string ilgpuParameters, string ilgpuBody, string cpuParameters, string cpuBody,
            string ilgpuName = "IlgpuKernel", string cpuName = "CpuKernel")
        {
            w.Line("/// <summary>The ILGPU kernel (CUDA, OpenCL, ilgpu-cpu); the descriptor's Launch picks the grid.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line("[global::Kernels.KernelEntryPoint]");
            w.Line($"public static void {ilgpuName}({ilgpuParameters}) =>");
            w.Line($"    {ilgpuBody};");
            w.Line();
            w.Line("/// <summary>The CPU kernel (cpu backend); arguments are addresses of the data.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void {cpuName}({cpuParameters}) =>");
            w.Line($"    {cpuBody};");
        }

        private static void WriteDescriptor(IndentedWriter w, string descriptor, string arguments)
        {
            w.Line();
            w.Line("/// <summary>This kernel's descriptor: shape, both entry points, validation and dispatch.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static {descriptor} Kernel {{ get; }} = new {descriptor}({arguments});");
        }

        private static void WriteMethods(IndentedWriter w, string summary, string note, string returns, List<string> launch, List<string> run, string launchCall, string runCall)
        {
            w.Line();
            w.Line($"/// <summary>{summary}, on buffers of <paramref name=\"runtime\"/>. Checks every argument before launching.{note}</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static {returns} Launch({string.Join(", ", launch)}) =>");
            w.Line($"    Kernel.Launch({launchCall});");
            w.Line();
            w.Line($"/// <summary>{summary}, on host memory (zero-copy on the cpu backend).{note}</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static {returns} Run({string.Join(", ", run)}) =>");
            w.Line($"    Kernel.Run({runCall});");
        }
    }
}
