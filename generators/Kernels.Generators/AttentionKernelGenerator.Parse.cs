using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Kernels.Generators.Diagnostics;
using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;

namespace Kernels.Generators;

public sealed partial class AttentionKernelGenerator
{
    /// <summary>Symbol → model. Never throws: failures become KRN9001.</summary>
    internal static class Parse
    {
        public const int MaxHeadDim = 256;
        public const int DefaultChunkKeys = 256;

        public static ParseResult<AttentionKernelInfo> Run(GeneratorAttributeSyntaxContext context, CancellationToken token) =>
            Declarations.Parse(context, (type, diagnostics) => Build(context, type, diagnostics, token));

        private static AttentionKernelInfo? Build(GeneratorAttributeSyntaxContext context, INamedTypeSymbol type, List<DiagnosticInfo> diagnostics, CancellationToken token)
        {
            var attribute = context.Attributes[0];
            var hierarchy = Declarations.GetHierarchy(type, context.TargetNode, "AttentionKernel", diagnostics);
            var location = attribute.ApplicationSyntaxReference?.GetSyntax(token).GetLocation() ?? type.Locations.FirstOrDefault();
            var kind = (AttentionKind)(attribute.ConstructorArguments.FirstOrDefault().Value as int? ?? 0);
            int headDim = 0, groupSize = 0, chunkKeys = 0;
            var masks = AttentionMasks.None;
            bool sink = false;
            var set = new HashSet<string>();
            foreach (var pair in attribute.NamedArguments)
            {
                // An argument that does not bind (a compile error the compiler reports) has no value: keep the default.
                switch (pair.Key)
                {
                    case "HeadDim" when pair.Value.Value is int value: headDim = value; set.Add(pair.Key); break;
                    case "GroupSize" when pair.Value.Value is int value: groupSize = value; set.Add(pair.Key); break;
                    case "ChunkKeys" when pair.Value.Value is int value: chunkKeys = value; set.Add(pair.Key); break;
                    case "Masks" when pair.Value.Value is int value: masks = (AttentionMasks)value; set.Add(pair.Key); break;
                    case "Sink" when pair.Value.Value is bool value: sink = value; set.Add(pair.Key); break;
                }
            }

            string name = type.Name;
            if (!Enum.IsDefined(typeof(AttentionKind), kind))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, location,
                    "Kind", ((int)kind).ToString(), string.Join(", ", Enum.GetNames(typeof(AttentionKind)))));
                return null;
            }
            if (((int)masks & ~(int)(AttentionMasks.Length | AttentionMasks.Causal)) != 0)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, location,
                    "Masks", ((int)masks).ToString(), string.Join(", ", Enum.GetNames(typeof(AttentionMasks)))));
            if (groupSize < 0)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.AttentionGroupSizeInvalid, location, name, groupSize.ToString()));

            if (kind == AttentionKind.HyperAttention || kind == AttentionKind.Linear)
                CheckApproximation(diagnostics, location, kind, name, headDim, set, masks, sink);
            else if (kind == AttentionKind.Block)
            {
                if (headDim < 0 || headDim > MaxHeadDim)
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.AttentionHeadDimInvalid, location, name, headDim.ToString(), "Block", "0 (any) or 1 to 256"));
                if (set.Contains("ChunkKeys"))
                    NotApplicable(diagnostics, location, "ChunkKeys", kind, name, "block attention tiles its keys by the group size (ILGPU) and 64-key tiles (CPU)");
                if (set.Contains("Masks") && masks != AttentionMasks.None)
                    NotApplicable(diagnostics, location, "Masks", kind, name, "block-attention masks are per-call options (BlockAttentionOptions.Causal, KeyLength)");
                if (sink)
                    NotApplicable(diagnostics, location, "Sink", kind, name, "a sink logit is a decode option; merge a state (O = 0, LSE = sink) with AttentionMerge instead");
            }
            else
            {
                if (headDim is not (64 or 128))
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.AttentionHeadDimInvalid, location, name, headDim.ToString(), "Decode", "64 and 128 (declare HeadDim = 64 or HeadDim = 128)"));
                if (chunkKeys != 0 && (chunkKeys < 16 || chunkKeys > 4096 || (chunkKeys & (chunkKeys - 1)) != 0))
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.AttentionChunkInvalid, location, name, chunkKeys.ToString()));
                if ((masks & AttentionMasks.Causal) != 0)
                    NotApplicable(diagnostics, location, "AttentionMasks.Causal", kind, name, "a decode query at position p sees keys 0..p, so its causal mask is the length p + 1: declare Masks = AttentionMasks.Length");
            }
            return hierarchy is null ? null
                : new AttentionKernelInfo(hierarchy, kind, headDim, groupSize, chunkKeys == 0 ? DefaultChunkKeys : chunkKeys, masks, sink);
        }

        // HyperAttention and linear attention: HeadDim 0 (any) or 1 to 256; their other options are per-call arguments.
        private static void CheckApproximation(List<DiagnosticInfo> diagnostics, Location? location, AttentionKind kind, string name,
            int headDim, HashSet<string> set, AttentionMasks masks, bool sink)
        {
            if (headDim < 0 || headDim > MaxHeadDim)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.AttentionHeadDimInvalid, location, name, headDim.ToString(), kind.ToString(), "0 (any) or 1 to 256"));
            string why = kind == AttentionKind.HyperAttention
                ? "HyperAttention runs its diagonal blocks and residual as virtual heads with their own grouping; causality and the parameters are per call (HyperAttentionOptions)"
                : "linear attention has no GQA, chunks or sinks; causality is a per-call argument";
            if (set.Contains("GroupSize"))
                NotApplicable(diagnostics, location, "GroupSize", kind, name, why);
            if (set.Contains("ChunkKeys"))
                NotApplicable(diagnostics, location, "ChunkKeys", kind, name, why);
            if (set.Contains("Masks") && masks != AttentionMasks.None)
                NotApplicable(diagnostics, location, "Masks", kind, name, why);
            if (sink)
                NotApplicable(diagnostics, location, "Sink", kind, name, why);
        }

        private static void NotApplicable(List<DiagnosticInfo> diagnostics, Location? location, string option, AttentionKind kind, string name, string why) =>
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.AttentionOptionNotApplicable, location, option, kind.ToString(), name, why));
    }
}
