using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kernels.Cpu;

namespace Kernels;

/// <summary>
/// The CPU side of linear attention: heads spread over cores; per token, the features φ(k) and φ(q) (m values) are
/// computed once into stack buffers, then every state row S[f, :] is updated and read in the same sweep, eight value
/// columns at a time: S[f, :] += φ(k)_f·v, o += φ(q)_f·S[f, :], so the state is read and written once per token.
/// </summary>
public static unsafe class LinearAttentionCpu
{
    private const int Lanes = 8;

    /// <summary>
    /// Runs one launch: <paramref name="state"/> holds S [heads, m, dv] followed by z [heads, m]. Queries, keys, values
    /// and outputs are [heads, tokens, ·]; outputs are normalised in place (0 where the denominator is 0).
    /// </summary>
    public static void Run<TDim>(nint q, nint k, nint v, nint o, nint state, nint projection, LinearAttentionArgs args)
        where TDim : struct, IHeadDim
    {
        long work = (long)args.Tokens * args.Features * (args.ValueDim + args.HeadDim);
        RowScheduler.For(args.Heads, (int)Math.Min(work, int.MaxValue),
            new Job<TDim>((float*)q, (float*)k, (float*)v, (float*)o, (float*)state, (float*)projection, args));
    }

    private readonly struct Job<TDim>(float* q, float* k, float* v, float* o, float* state, float* projection, LinearAttentionArgs args) : IRowJob
        where TDim : struct, IHeadDim
    {
        public void Run(int start, int end)
        {
            for (int head = start; head < end; head++)
                Head<TDim>(q, k, v, o, state, projection, head, args);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Head<TDim>(float* q, float* k, float* v, float* o, float* state, float* projection, int head, LinearAttentionArgs args)
        where TDim : struct, IHeadDim
    {
        int d = default(TDim).Resolve(args.HeadDim), dv = args.ValueDim;
        int m = args.Map == (int)LinearFeatureMap.EluPlusOne ? d : args.Features;
        bool update = args.Update != 0, query = args.Query != 0;
        float* s = state + (long)head * m * dv;
        float* z = state + (long)args.Heads * m * dv + (long)head * m;
        float* phiK = stackalloc float[m];
        float* phiQ = stackalloc float[m];
        float* scaled = stackalloc float[d];
        int full = dv - dv % Lanes;
        for (int i = 0; i < args.Tokens; i++)
        {
            long row = (long)head * args.Tokens + i;
            float* vr = v + row * dv;
            float* or = o + row * dv;
            if (update) Features(k + row * d, phiK, scaled, d, projection, args);
            if (query)
            {
                Features(q + row * d, phiQ, scaled, d, projection, args);
                new Span<float>(or, dv).Clear();
            }
            float den = 0f;
            for (int f = 0; f < m; f++)
            {
                float* sr = s + (long)f * dv;
                var a = Vector256.Create(update ? phiK[f] : 0f);
                var b = Vector256.Create(query ? phiQ[f] : 0f);
                int c = 0;
                for (; c < full; c += Lanes)
                {
                    var sv = Vector256.Load(sr + c);
                    if (update)
                    {
                        sv = Vector256.FusedMultiplyAdd(a, Vector256.Load(vr + c), sv);
                        Vector256.Store(sv, sr + c);
                    }
                    if (query)
                        Vector256.Store(Vector256.FusedMultiplyAdd(b, sv, Vector256.Load(or + c)), or + c);
                }
                for (; c < dv; c++)
                {
                    if (update) sr[c] = MathF.FusedMultiplyAdd(phiK[f], vr[c], sr[c]);
                    if (query) or[c] = MathF.FusedMultiplyAdd(phiQ[f], sr[c], or[c]);
                }
                if (update) z[f] += phiK[f];
                if (query) den = MathF.FusedMultiplyAdd(phiQ[f], z[f], den);
            }
            if (query)
                LinearAttentionMath.Normalise(or, dv, den);
        }
    }

    // φ(x) for one token into phi[0..m); scaled is scratch of d floats.
    private static void Features(float* x, float* phi, float* scaled, int d, float* projection, LinearAttentionArgs args)
    {
        if (args.Map == (int)LinearFeatureMap.EluPlusOne)
        {
            for (int j = 0; j < d; j++)
                phi[j] = LinearAttentionMath.EluPlusOne(x[j]);
            return;
        }
        float half = 0f;
        for (int j = 0; j < d; j++)
        {
            scaled[j] = x[j] * args.InputScale;
            half = MathF.FusedMultiplyAdd(scaled[j], scaled[j], half);
        }
        half *= 0.5f;
        int full = d - d % Lanes;
        for (int f = 0; f < args.Features; f++)
        {
            float* w = projection + (long)f * d;
            var acc = Vector256<float>.Zero;
            int j = 0;
            for (; j < full; j += Lanes)
                acc = Vector256.FusedMultiplyAdd(Vector256.Load(w + j), Vector256.Load(scaled + j), acc);
            float dot = Vector256.Sum(acc);
            for (; j < d; j++)
                dot = MathF.FusedMultiplyAdd(w[j], scaled[j], dot);
            phi[f] = LinearAttentionMath.RandomFeature(dot, half);
        }
    }
}
