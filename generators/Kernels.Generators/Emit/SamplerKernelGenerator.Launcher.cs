using System.Collections.Generic;
using Kernels.Generators.Helpers;
using Kernels.Generators.Models;

namespace Kernels.Generators;

public sealed partial class SamplerKernelGenerator
{
    internal static partial class Emit
    {
        private const string Runtime = "global::Kernels.Runtime.KernelRuntime";
        private const string FloatBuffer = "global::Kernels.Runtime.KernelBuffer<float>";
        private const string IntBuffer = "global::Kernels.Runtime.KernelBuffer<int>";
        private const string KeyBuffer = "global::Kernels.Runtime.KernelBuffer<global::Kernels.RngKey>";
        private const string Key = "global::Kernels.RngKey";

        // An absent optional buffer: null for Launch (buffers), default for Run (spans).
        private const string Absent = "\u0000absent";

        /// <summary>The descriptor and the typed Launch/Run methods: parameters follow the declaration.</summary>
        private static void WriteLauncher(IndentedWriter w, SamplerKernelInfo model, Shape shape)
        {
            if (model.Kind == SamplerKind.TopK)
            {
                WriteSelectionLauncher(w, shape);
                return;
            }
            w.Line();
            w.Line("/// <summary>This sampler's descriptor: shape, both entry points, validation and dispatch.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static {shape.Descriptor} Kernel {{ get; }} = new {shape.Descriptor}(");
            string temperature = $"global::Kernels.TemperatureMode.{model.Temperature}";
            string keys = model.PerRowKeys ? "true" : "false";
            switch (model.Kind)
            {
                case SamplerKind.Categorical:
                    w.Line($"    {temperature}, {keys}, {Bool(model.LogProbabilities)}, IlgpuKernel, CpuKernel);");
                    break;
                case SamplerKind.GumbelTopK:
                    w.Line($"    {temperature}, {keys}, IlgpuKernel, CpuKernel);");
                    break;
                case SamplerKind.TopH:
                case SamplerKind.Mirostat:
                    w.Line($"    global::Kernels.SamplerKind.{model.Kind}, {temperature}, {keys}, IlgpuKernel, CpuKernel, global::Kernels.TopHMode.{model.TopHMode});");
                    break;
                case SamplerKind.Decode:
                    w.Line($"    new global::Kernels.DecodeStages({temperature}, {Bool(model.TopK)}, {Bool(model.TopP)}, {Bool(model.MinP)}, {Bool(model.Probabilities)}, {Bool(TakesContext(model))}), {keys}, {Bool(model.PerRowOffsets)}, IlgpuKernel, CpuKernel);");
                    break;
                case SamplerKind.Truncate:
                    w.Line($"    new global::Kernels.DecodeStages({temperature}, {Bool(model.TopK)}, {Bool(model.TopP)}, {Bool(model.MinP)}, {Bool(model.Probabilities)}, {Bool(TakesContext(model))}), global::Kernels.TruncationOutput.{model.Output}, IlgpuKernel, CpuKernel);");
                    break;
                default:
                    w.Line($"    {temperature}, {keys}, global::Kernels.GumbelSoftmaxMode.{model.Mode}, IlgpuKernel, CpuKernel);");
                    break;
            }

            var launch = new List<string> { $"{Runtime} runtime", $"{FloatBuffer} logits" };
            var run = new List<string> { $"{Runtime} runtime", "global::System.ReadOnlySpan<float> logits" };
            var call = new List<string> { "runtime", "logits" };
            string summary;
            switch (model.Kind)
            {
                case SamplerKind.Decode:
                    summary = "Draws one token per row of logits [rows, cols] into tokens [rows] from the kept set of its stages (per-row parameters)";
                    launch.Add($"{IntBuffer} tokens");
                    run.Add("global::System.Span<int> tokens");
                    call.Add("tokens");
                    break;
                case SamplerKind.Truncate:
                    summary = model.Output == TruncationOutput.Masked
                        ? "Writes each row of logits [rows, cols] masked outside the kept set of its stages into output [rows, cols] (per-row parameters; a per-row status)"
                        : "Writes each row's renormalised probabilities over the kept set of its stages (0 outside) from logits [rows, cols] into output [rows, cols] (per-row parameters; a per-row status)";
                    launch.Add($"{FloatBuffer} output");
                    run.Add("global::System.Span<float> output");
                    call.Add("output");
                    break;
                case SamplerKind.TopH:
                case SamplerKind.Mirostat:
                    summary = model.Kind == SamplerKind.TopH
                        ? "Draws one token per row of logits [rows, cols] into tokens [rows] by Top-H (α per row, n per launch)"
                        : "Draws one token per row of logits [rows, cols] into tokens [rows] by Mirostat (τ, η per row; the state mu [rows] is read and updated)";
                    launch.Add($"{IntBuffer} tokens");
                    run.Add("global::System.Span<int> tokens");
                    call.Add("tokens");
                    break;
                case SamplerKind.Categorical:
                    summary = "Draws tokens [rows, samples] from logits [rows, cols]";
                    launch.Add($"{IntBuffer} tokens");
                    run.Add("global::System.Span<int> tokens");
                    call.Add("tokens");
                    break;
                case SamplerKind.GumbelTopK:
                    summary = "Draws k distinct indices per row of logits [rows, cols], in order, into indices [rows, k] with their perturbed keys in scores [rows, k]";
                    launch.Add($"{IntBuffer} indices");
                    launch.Add($"{FloatBuffer} scores");
                    run.Add("global::System.Span<int> indices");
                    run.Add("global::System.Span<float> scores");
                    call.Add("indices");
                    call.Add("scores");
                    break;
                default:
                    summary = model.Mode switch
                    {
                        GumbelSoftmaxMode.Hard => "Writes the one-hot Gumbel-max sample [rows, cols] of logits [rows, cols]",
                        GumbelSoftmaxMode.StraightThrough => "Writes the one-hot Gumbel-max sample [rows, cols] and the soft sample beside it (for the backward pass)",
                        _ => "Writes the Gumbel-softmax sample softmax((scale·z + g)/τ) [rows, cols] of logits [rows, cols]",
                    };
                    launch.Add($"{FloatBuffer} output");
                    run.Add("global::System.Span<float> output");
                    call.Add("output");
                    if (model.Mode == GumbelSoftmaxMode.StraightThrough)
                    {
                        launch.Add($"{FloatBuffer} soft");
                        run.Add("global::System.Span<float> soft");
                        call.Add("soft");
                    }
                    else
                    {
                        call.Add(Absent);
                    }
                    break;
            }
            foreach (var list in new[] { launch, run })
            {
                list.Add("int rows");
                list.Add("int cols");
            }
            call.Add("rows");
            call.Add("cols");
            if (model.Kind == SamplerKind.GumbelTopK)
            {
                launch.Add("int k");
                run.Add("int k");
                call.Add("k");
            }

            string temperatureName = model.Kind == SamplerKind.GumbelSoftmax ? "tau" : "temperature";
            switch (model.Temperature)
            {
                case TemperatureMode.Scalar:
                    launch.Add($"float {temperatureName}");
                    run.Add($"float {temperatureName}");
                    call.Add(temperatureName);
                    call.Add(Absent);
                    break;
                case TemperatureMode.PerRow:
                    launch.Add($"{FloatBuffer} {temperatureName}s");
                    run.Add($"global::System.ReadOnlySpan<float> {temperatureName}s");
                    call.Add("1f");
                    call.Add($"{temperatureName}s");
                    break;
                default:
                    call.Add("1f");
                    call.Add(Absent);
                    break;
            }
            bool randomised = model.Kind != SamplerKind.Truncate;
            if (model.Kind == SamplerKind.Decode || model.Kind == SamplerKind.Truncate)
            {
                AddStage(model.TopK, "int", "topK", launch, run, call);
                AddStage(model.TopP, "float", "topP", launch, run, call);
                AddStage(model.MinP, "float", "minP", launch, run, call);
                if (TakesContext(model))
                {
                    launch.Add($"{FloatBuffer} context");
                    launch.Add($"{FloatBuffer} parameters");
                    run.Add("global::System.ReadOnlySpan<float> context");
                    run.Add("global::System.ReadOnlySpan<float> parameters");
                }
            }
            if (model.Kind == SamplerKind.TopH)
            {
                AddStage(true, "float", "alpha", launch, run, call);
                call.AddRange(new[] { Absent, Absent, Absent });
            }
            else if (model.Kind == SamplerKind.Mirostat)
            {
                call.Add(Absent);
                AddStage(true, "float", "tau", launch, run, call);
                AddStage(true, "float", "eta", launch, run, call);
                launch.Add($"{FloatBuffer} mu");
                run.Add("global::System.Span<float> mu");
                call.Add("mu");
            }
            if (!randomised)
            {
                // Deterministic: no key, no offset.
            }
            else if (model.PerRowKeys)
            {
                launch.Add($"{KeyBuffer} keys");
                run.Add($"global::System.ReadOnlySpan<{Key}> keys");
                call.Add("default");
                call.Add("keys");
            }
            else
            {
                launch.Add($"{Key} key");
                run.Add($"{Key} key");
                call.Add("key");
                call.Add(Absent);
            }
            if (randomised)
            {
                launch.Add("ulong offset");
                run.Add("ulong offset");
                call.Add("offset");
            }
            if (model.PerRowOffsets)
            {
                launch.Add("global::Kernels.Runtime.KernelBuffer<ulong> offsets");
                run.Add("global::System.ReadOnlySpan<ulong> offsets");
            }

            switch (model.Kind)
            {
                case SamplerKind.Categorical:
                    if (model.LogProbabilities)
                    {
                        launch.Add($"{FloatBuffer} logProbs");
                        run.Add("global::System.Span<float> logProbs");
                        call.Add("logProbs");
                    }
                    else
                    {
                        call.Add(Absent);
                    }
                    launch.Add("int samples = 1");
                    run.Add("int samples = 1");
                    call.Add("samples");
                    break;
                case SamplerKind.TopH:
                case SamplerKind.Mirostat:
                    if (model.Kind == SamplerKind.TopH)
                    {
                        launch.Add("int topN = global::Kernels.AdaptiveRules.DefaultTopN");
                        run.Add("int topN = global::Kernels.AdaptiveRules.DefaultTopN");
                        call.Add("topN");
                    }
                    else
                    {
                        call.Add("global::Kernels.AdaptiveRules.DefaultTopN");
                    }
                    launch.Add($"{IntBuffer}? status = null");
                    run.Add("global::System.Span<int> status = default");
                    call.Add("status");
                    launch.Add($"{IntBuffer}? kept = null");
                    run.Add("global::System.Span<int> kept = default");
                    call.Add("kept");
                    break;
                case SamplerKind.Decode:
                case SamplerKind.Truncate:
                    launch.Add($"{IntBuffer}? status = null");
                    run.Add("global::System.Span<int> status = default");
                    call.Add("status");
                    if (model.PerRowOffsets)
                        call.Add("offsets: offsets");
                    if (TakesContext(model))
                    {
                        call.Add("context: context");
                        call.Add("parameters: parameters");
                    }
                    break;
                case SamplerKind.GumbelSoftmax:
                    launch.Add("float scale = 1f");
                    run.Add("float scale = 1f");
                    call.Add("scale");
                    break;
            }

            string launchCall = ReplaceDefaults(call, "null");
            string runCall = ReplaceDefaults(call, "default");

            string returns = randomised ? "ulong" : "void";
            string offsetNote = randomised ? " Returns the RNG offset for the next call." : "";
            w.Line();
            w.Line($"/// <summary>{summary}, on buffers of <paramref name=\"runtime\"/>. Checks every argument before launching.{offsetNote}</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static {returns} Launch({string.Join(", ", launch)}) =>");
            w.Line($"    Kernel.Launch({launchCall});");
            w.Line();
            w.Line($"/// <summary>{summary}, on host memory (zero-copy on the cpu backend).{offsetNote}</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static {returns} Run({string.Join(", ", run)}) =>");
            w.Line($"    Kernel.Run({runCall});");
        }

        // Top-k selection takes no temperature, key or offset, and returns nothing.
        private static void WriteSelectionLauncher(IndentedWriter w, Shape shape)
        {
            const string summary = "Writes the k largest transformed logits of each row of logits [rows, cols] and their columns into values and indices [rows, k], in the order (ties: lowest column first)";
            w.Line();
            w.Line("/// <summary>This selection's descriptor: both entry points, validation and dispatch.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static {shape.Descriptor} Kernel {{ get; }} = new {shape.Descriptor}(IlgpuKernel, CpuKernel);");
            w.Line();
            w.Line($"/// <summary>{summary}, on buffers of <paramref name=\"runtime\"/>. Checks every argument before launching.</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void Launch({Runtime} runtime, {FloatBuffer} logits, {FloatBuffer} values, {IntBuffer} indices, int rows, int cols, int k) =>");
            w.Line("    Kernel.Launch(runtime, logits, values, indices, rows, cols, k);");
            w.Line();
            w.Line($"/// <summary>{summary}, on host memory (zero-copy on the cpu backend).</summary>");
            w.Line(Generated.CodeAttribute);
            w.Line($"public static void Run({Runtime} runtime, global::System.ReadOnlySpan<float> logits, global::System.Span<float> values, global::System.Span<int> indices, int rows, int cols, int k) =>");
            w.Line("    Kernel.Run(runtime, logits, values, indices, rows, cols, k);");
        }

        private static string Bool(bool value) => value ? "true" : "false";

        // Whether the user transform takes a per-element context and a per-row parameter (Decode and Truncate only).
        private static bool TakesContext(SamplerKernelInfo model) => model.Transform is { TakesContext: true };

        // A per-row stage parameter: a buffer/span when the declaration names the stage, absent otherwise.
        private static void AddStage(bool present, string type, string name, List<string> launch, List<string> run, List<string> call)
        {
            if (present)
            {
                launch.Add($"global::Kernels.Runtime.KernelBuffer<{type}> {name}");
                run.Add($"global::System.ReadOnlySpan<{type}> {name}");
                call.Add(name);
            }
            else
            {
                call.Add(Absent);
            }
        }

        private static string ReplaceDefaults(List<string> call, string absent)
        {
            var items = new List<string>(call.Count);
            foreach (var item in call)
                items.Add(item == Absent ? absent : item);
            return string.Join(", ", items);
        }
    }
}
