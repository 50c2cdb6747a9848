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
                else
                    WriteChain(w, model.PerRowKeys);
            });

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
            string shape = "int batch, int length, int cols";
            string keyCall;
            if (perRowKeys)
            {
                launch.Add(shape + $", {KeyBuffer} keys");
                run.Add(shape + $", global::System.ReadOnlySpan<{Key}> keys");
                keyCall = "default, keys";
            }
            else
            {
                launch.Add(shape + $", {Key} key");
                run.Add(shape + $", {Key} key");
                keyCall = "key, {0}";
            }
            launch.Add("ulong offset");
            run.Add("ulong offset");
            string call = "runtime, target, draft, draftTokens, accepted, emitted, batch, length, cols, " + keyCall + ", offset";
            const string Summary = "Verifies drafted tokens [batch, length] against target probabilities [batch, length + 1, cols] and draft probabilities [batch, length, cols]: accepted counts [batch] and emitted tokens [batch, length + 1] (−1 padded)";
            WriteMethods(w, Summary, " Returns the RNG offset for the next call.", "ulong", launch, run,
                string.Format(call, "null"), string.Format(call, "default"));
        }

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

        private static void WriteEntryPoints(IndentedWriter w, string ilgpuParameters, string ilgpuBody, string cpuParameters, string cpuBody)
        {
            w.Line("/// <summary>The ILGPU kernel (CUDA, OpenCL, ilgpu-cpu); the descriptor's Launch picks the grid.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line("[global::Kernels.KernelEntryPoint]");
            w.Line($"public static void IlgpuKernel({ilgpuParameters}) =>");
            w.Line($"    {ilgpuBody};");
            w.Line();
            w.Line("/// <summary>The CPU kernel (cpu backend); arguments are addresses of the data.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void CpuKernel({cpuParameters}) =>");
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
