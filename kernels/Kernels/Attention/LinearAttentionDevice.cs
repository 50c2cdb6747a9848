using ILGPU;

namespace Kernels;

/// <summary>
/// The ILGPU side of linear attention: one group per head, one loop over the tokens with two barriers at fixed sites.
/// Per token the group computes φ(k) and φ(q) into shared memory (threads over features), then each thread owns value
/// columns c (and the thread of column dv owns the denominator column z): S[f, c] += φ(k)_f·v_c, acc += φ(q)_f·S[f, c].
/// After the loop each thread divides its columns by the denominators (one more barrier).
/// </summary>
public static class LinearAttentionDevice
{
    /// <summary>The largest feature count m (shared memory holds φ(k) and φ(q) of one token).</summary>
    public const int MaxFeatures = 256;

    /// <summary>
    /// The kernel for head dimension <typeparamref name="TDim"/>: launch one group per head. <paramref name="state"/>
    /// holds S [heads, m, dv] then z [heads, m]; <paramref name="denominators"/> [heads·tokens] is scratch.
    /// </summary>
    public static void Kernel<TDim>(ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> o,
        ArrayView<float> state, ArrayView<float> denominators, ArrayView<float> projection, LinearAttentionArgs args)
        where TDim : struct, IHeadDim
    {
        var phiK = SharedMemory.Allocate<float>(MaxFeatures);
        var phiQ = SharedMemory.Allocate<float>(MaxFeatures);
        int head = Grid.IdxX;
        int tid = Group.IdxX;
        int size = Group.DimX;
        int d = default(TDim).Resolve(args.HeadDim), dv = args.ValueDim;
        int m = args.Map == (int)LinearFeatureMap.EluPlusOne ? d : args.Features;
        long sBase = (long)head * m * dv;
        long zBase = (long)args.Heads * m * dv + (long)head * m;
        for (int i = 0; i < args.Tokens; i++)
        {
            long row = (long)head * args.Tokens + i;
            for (int first = 0; first < m; first += size)
            {
                int f = first + tid;
                if (f < m)
                {
                    if (args.Update != 0) phiK[f] = Feature(k, row * d, f, d, projection, args);
                    if (args.Query != 0) phiQ[f] = Feature(q, row * d, f, d, projection, args);
                }
            }
            Group.Barrier();
            for (int first = 0; first <= dv; first += size)
            {
                int c = first + tid;
                if (c <= dv)
                {
                    bool value = c < dv;
                    float vc = value ? (args.Update != 0 ? v[row * dv + c] : 0f) : 1f;
                    long at = value ? sBase + c : zBase;
                    long stride = value ? dv : 1;
                    float acc = 0f;
                    for (int f = 0; f < m; f++)
                    {
                        float s = state[at + f * stride];
                        if (args.Update != 0)
                        {
                            s += phiK[f] * vc;
                            state[at + f * stride] = s;
                        }
                        acc += phiQ[f] * s;
                    }
                    if (args.Query != 0)
                    {
                        if (value) o[row * dv + c] = acc;
                        else denominators[row] = acc;
                    }
                }
            }
            Group.Barrier();
        }
        if (args.Query == 0)
            return;
        for (int i = 0; i < args.Tokens; i++)
        {
            long row = (long)head * args.Tokens + i;
            // A group-uniform trip count with the bound inside (PoCL 3.1 miscompiles thread-dependent loops in kernels
            // with barriers: threads past the end wrote once).
            for (int first = 0; first < dv; first += size)
            {
                int c = first + tid;
                if (c < dv)
                    o[row * dv + c] = LinearAttentionMath.Ratio(o[row * dv + c], denominators[row]);
            }
        }
    }

    private static float Feature(ArrayView<float> x, long start, int f, int d, ArrayView<float> projection, LinearAttentionArgs args)
    {
        if (args.Map == (int)LinearFeatureMap.EluPlusOne)
            return LinearAttentionMath.EluPlusOne(x[start + f]);
        float dot = 0f, half = 0f;
        long w = (long)f * d;
        for (int j = 0; j < d; j++)
        {
            float xj = x[start + j] * args.InputScale;
            dot += projection[w + j] * xj;
            half += xj * xj;
        }
        return LinearAttentionMath.RandomFeature(dot, 0.5f * half);
    }
}
