using System;

namespace Kernels;

/// <summary>
/// Declares an attention kernel on a <c>static partial class</c>. The generator adds the ILGPU kernel(s) (CUDA, OpenCL,
/// <c>ilgpu-cpu</c>), the CPU kernel (<c>cpu</c>) and typed <c>Launch</c>/<c>Run</c> methods that validate their
/// arguments and dispatch on the runtime's backend, specialised on the options below.
/// </summary>
/// <remarks>
/// <see cref="AttentionKind.Block"/>: <see cref="HeadDim"/> (0 = any up to 256) and <see cref="GroupSize"/> apply; masks
/// are per-call options (<see cref="BlockAttentionOptions"/>). <see cref="AttentionKind.Decode"/>: <see cref="HeadDim"/>
/// must be 64 or 128; <see cref="ChunkKeys"/>, <see cref="GroupSize"/>, <see cref="Masks"/> (<see cref="AttentionMasks.Length"/>)
/// and <see cref="Sink"/> apply. <see cref="AttentionKind.HyperAttention"/> and <see cref="AttentionKind.Linear"/>: only
/// <see cref="HeadDim"/> (0 = any) applies; the declaration gets a <c>Create</c> factory. Options that do not apply to the kind, and values out of range, are compile-time
/// errors (KRN1501–KRN1504).
/// </remarks>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class AttentionKernelAttribute : Attribute
{
    /// <summary>Declares an attention kernel of the given kind.</summary>
    public AttentionKernelAttribute(AttentionKind kind = AttentionKind.Block) => Kind = kind;

    /// <summary>The kernel generated.</summary>
    public AttentionKind Kind { get; }

    /// <summary>
    /// The head dimension, a compile-time constant of the generated kernels (their loops over d have a constant bound).
    /// Block: 0 (any, given per call) or 1 to 256. Decode: 64 or 128.
    /// </summary>
    public int HeadDim { get; set; }

    /// <summary>
    /// Query heads per key/value head (the GQA ratio), checked on every call; 0 accepts any ratio.
    /// </summary>
    public int GroupSize { get; set; }

    /// <summary>
    /// Decode: keys per chunk, a power of two from 16 to 4096 (0 = 256). The CPU kernel scores a chunk of keys for every
    /// query of a GQA group before reading the chunk's values; the ILGPU kernel gives each chunk its own group
    /// (flash-decoding split) and merges the partial states.
    /// </summary>
    public int ChunkKeys { get; set; }

    /// <summary>
    /// Decode: <see cref="AttentionMasks.Length"/> adds a per-sequence length buffer [Batch] to the launcher (sequence b
    /// attends its first lengths[b] keys). A decode query at position p sees keys 0..p: its causal mask is the length p + 1.
    /// </summary>
    public AttentionMasks Masks { get; set; }

    /// <summary>
    /// Decode: adds a learned sink logit per query head [Heads] to the launcher. It joins the softmax denominator only
    /// (the online softmax starts from m = sink, l = 1 and no value).
    /// </summary>
    public bool Sink { get; set; }
}
