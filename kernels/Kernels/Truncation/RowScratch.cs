using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kernels.Cpu;

namespace Kernels;

/// <summary>
/// Per-thread staging of the CPU truncation kernels (decode, Top-H and Mirostat): the row's w and mass, the gathered
/// candidates, order composites and the top-k collector, grown to the widest row seen. The arrays live on the pinned
/// heap, so their addresses are taken once, without <c>fixed</c>.
/// </summary>
internal sealed unsafe class RowScratch
{
    [ThreadStatic] private static RowScratch? t_current;

    private float[] _w = [], _e = [], _candidateW = [], _candidateE = [];
    private int[] _candidateCols = [];
    private ulong[] _composites = [];

    /// <summary>The collector of the top k columns.</summary>
    public readonly TopKCollector TopK = new();

    /// <summary>This thread's scratch, holding rows of <paramref name="cols"/> columns.</summary>
    public static RowScratch For(int cols)
    {
        var scratch = t_current ??= new RowScratch();
        int padded = DecodeCpu.Pad(cols);
        if (scratch._w.Length < padded)
        {
            scratch._w = Pinned<float>(padded);
            scratch._e = Pinned<float>(padded);
            // Candidates: at most one per column, touched only as far as they are used.
            scratch._candidateW = Pinned<float>(padded);
            scratch._candidateE = Pinned<float>(padded);
            scratch._candidateCols = Pinned<int>(padded);
        }
        return scratch;
    }

    /// <summary>The staging row and the candidate lists.</summary>
    public Buffers Rows => new(Address(_w), Address(_e), Address(_candidateW), Address(_candidateE), Address(_candidateCols));

    /// <summary>One order composite per staged column (allocated on first use: only Top-H and Mirostat sort the row's top).</summary>
    public ulong* Composites
    {
        get
        {
            if (_composites.Length < _w.Length)
                _composites = Pinned<ulong>(_w.Length);
            return Address(_composites);
        }
    }

    private static T[] Pinned<T>(int length) where T : unmanaged => GC.AllocateUninitializedArray<T>(length, pinned: true);

    private static T* Address<T>(T[] array) where T : unmanaged => (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));

    /// <summary>Addresses of the staging row (w, e) and of the candidates (w, e, column), padded to eight lanes.</summary>
    internal readonly struct Buffers(float* w, float* e, float* candidateW, float* candidateE, int* candidateCols)
    {
        public readonly float* W = w;
        public readonly float* E = e;
        public readonly float* CandidateW = candidateW;
        public readonly float* CandidateE = candidateE;
        public readonly int* CandidateCols = candidateCols;
    }
}
