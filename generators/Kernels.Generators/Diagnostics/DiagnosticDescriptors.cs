using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Kernels.Generators.Diagnostics;

/// <summary>
/// Every diagnostic the generator reports. Ids: KRN0xxx declaration shape, KRN1xxx kernel families (KRN11xx samplers, KRN13xx sparse products, KRN14xx speculative decoding, KRN15xx attention),
/// KRN9xxx internal.
/// Each has a help page under docs/diagnostics/.
/// </summary>
internal static class DiagnosticDescriptors
{
    // Relative to the repository root (and to the package, which ships docs/diagnostics).
    private const string HelpRoot = "docs/diagnostics/";

    public static readonly DiagnosticDescriptor NotStaticPartialClass = Error(
        "KRN0001", "Kernels.Declaration",
        "Kernel declaration must be a static partial class",
        "'{0}' carries [{1}] but is not a 'static partial class'; declare it as 'static partial class {0}' so the generator can add the kernel to it");

    public static readonly DiagnosticDescriptor ContainingTypeNotPartial = Error(
        "KRN0002", "Kernels.Declaration",
        "Containing type of a kernel declaration must be partial",
        "'{0}' is nested in '{1}', which is not partial; mark '{1}' partial or move '{0}' out of it");

    public static readonly DiagnosticDescriptor GenericDeclaration = Error(
        "KRN0003", "Kernels.Declaration",
        "Kernel declarations cannot be generic",
        "'{0}' is generic or nested in a generic type; ILGPU kernels need closed types, so declare it in a non-generic class");

    public static readonly DiagnosticDescriptor TransformNotFound = Error(
        "KRN1001", "Kernels.Softmax",
        "Transform method not found",
        "Transform = \"{0}\" names no method of '{1}'; add 'static float {0}(float x)' to '{1}' or fix the name");

    public static readonly DiagnosticDescriptor TransformSignature = Error(
        "KRN1002", "Kernels.Softmax",
        "Transform method has the wrong signature",
        "Transform method '{0}' must be 'static float {0}(float x)', 'static float {0}(float x, int column)' or, for Decode and Truncate samplers, 'static float {0}(float x, int column, float context, float parameter)', with no ref/out parameters and no type parameters");

    public static readonly DiagnosticDescriptor TransformAmbiguous = Error(
        "KRN1003", "Kernels.Softmax",
        "Transform method is overloaded",
        "Transform = \"{0}\" matches {1} methods of '{2}'; keep one method of that name so the kernel is unambiguous");

    public static readonly DiagnosticDescriptor InvalidOption = Error(
        "KRN1004", "Kernels.Softmax",
        "Invalid kernel option",
        "{0} = {1} is not a defined value; use one of: {2}");

    public static readonly DiagnosticDescriptor TransformNotVectorised = new(
        "KRN1005", "Transform applied element by element on the CPU",
        "Transform '{0}' is fused into both kernels, but the CPU kernel applies it one element at a time because {1}; keep it to arithmetic, comparisons, conditionals, locals and Math/MathF Min, Max, Abs, Exp, Log, Tanh, Sqrt to vectorise it",
        "Kernels.Softmax", DiagnosticSeverity.Info, isEnabledByDefault: true, helpLinkUri: HelpRoot + "KRN1005.md");

    public static readonly DiagnosticDescriptor SamplerOptionNotApplicable = Error(
        "KRN1101", "Kernels.Sampler",
        "Sampler option does not apply to this kind",
        "{0} applies only to {1} samplers, but '{2}' declares a {3} sampler; remove {0} or change the kind");

    public static readonly DiagnosticDescriptor SamplerTransformNotPortable = new(
        "KRN1102", "Transform may break cross-backend identity of samples",
        "Transform '{0}' calls {1}, whose result differs by ulps between backends and between the scalar and vector kernels; the sampler stays exact, but the same seed can give a different sample on another backend near a tie",
        "Kernels.Sampler", DiagnosticSeverity.Info, isEnabledByDefault: true, helpLinkUri: HelpRoot + "KRN1102.md");

    public static readonly DiagnosticDescriptor TransformContextNotApplicable = Error(
        "KRN1103", "Kernels.Sampler",
        "Transform takes a per-request context this kernel does not have",
        "Transform '{0}' takes a context and a parameter, which only Decode and Truncate samplers pass (per-element context [rows, cols] and per-row parameters [rows]); '{1}' declares {2}: drop the two parameters or change the kind");

    public static readonly DiagnosticDescriptor SparsePatternInvalid = Error(
        "KRN1301", "Kernels.Sparse",
        "Invalid N:M sparsity pattern",
        "'{0}' declares pattern {1}:{2}; N:M products need 1 <= N <= M <= 32 (N kept in every group of M, N = M for dense)");

    public static readonly DiagnosticDescriptor SpeculativeOptionNotApplicable = Error(
        "KRN1401", "Kernels.Speculative",
        "Speculative-decoding option does not apply to this kind",
        "{0} applies only to verification kernels (Chain, RecursiveRejection, KSeq, Tree), but '{1}' declares a {2} kernel, which draws no random numbers; remove {0}");

    public static readonly DiagnosticDescriptor SpeculativeStageNotApplicable = Error(
        "KRN1402", "Kernels.Speculative",
        "Logit stage applies only to chain verification",
        "{0} is a logit stage, which only Chain verification takes (target and draft logits through the same decode pipeline); '{1}' declares a {2} kernel, whose inputs are probabilities: remove {0}, or process the rows first (a Truncate sampler) and verify its probabilities");

    public static readonly DiagnosticDescriptor AttentionHeadDimInvalid = Error(
        "KRN1501", "Kernels.Attention",
        "Unsupported attention head dimension",
        "'{0}' declares HeadDim = {1}; {2} attention kernels support {3}");

    public static readonly DiagnosticDescriptor AttentionChunkInvalid = Error(
        "KRN1502", "Kernels.Attention",
        "Invalid attention chunk size",
        "'{0}' declares ChunkKeys = {1}; use a power of two from 16 to 4096, or 0 for the default (256)");

    public static readonly DiagnosticDescriptor AttentionGroupSizeInvalid = Error(
        "KRN1503", "Kernels.Attention",
        "Invalid GQA group size",
        "'{0}' declares GroupSize = {1}; use the number of query heads per key/value head (1 or more), or 0 to accept any");

    public static readonly DiagnosticDescriptor AttentionOptionNotApplicable = Error(
        "KRN1504", "Kernels.Attention",
        "Attention option does not apply to this kind",
        "{0} does not apply to {1} attention kernels ('{2}'): {3}");

    public static readonly DiagnosticDescriptor InternalError = Error(
        "KRN9001", "Kernels.Generator",
        "The Kernels generator failed",
        "The Kernels generator failed on '{0}': {1}. This is a bug in Kernels; please report it with the declaration.");

    public static IEnumerable<DiagnosticDescriptor> All => new[]
    {
        NotStaticPartialClass, ContainingTypeNotPartial, GenericDeclaration, TransformNotFound, TransformSignature,
        TransformAmbiguous, InvalidOption, TransformNotVectorised, SamplerOptionNotApplicable, SamplerTransformNotPortable, TransformContextNotApplicable,
        SparsePatternInvalid, SpeculativeOptionNotApplicable, SpeculativeStageNotApplicable, AttentionHeadDimInvalid, AttentionChunkInvalid,
        AttentionGroupSizeInvalid, AttentionOptionNotApplicable, InternalError,
    };

    public static DiagnosticDescriptor ById(string id) => All.First(d => d.Id == id);

    private static DiagnosticDescriptor Error(string id, string category, string title, string message) =>
        new(id, title, message, category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpRoot + id + ".md");
}
