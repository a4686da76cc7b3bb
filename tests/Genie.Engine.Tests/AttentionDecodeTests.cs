using Genie.Core;
using Genie.Engine;
using Genie.Engine.Kernels;

namespace Genie.Engine.Tests;

/// <summary>The KV-cache decode kernel against the reference attention over the whole clip.</summary>
public unsafe class AttentionDecodeTests
{
    [Theory]
    [InlineData(2, 5, 3, 2, 32, 512)]
    [InlineData(1, 4, 7, 3, 8, 512)]
    [InlineData(2, 3, 2, 2, 8, 256)]
    [InlineData(1, 6, 3, 2, 12, 128)]
    [InlineData(1, 3, 4, 1, 5, 0)]
    [InlineData(1, 1, 4, 2, 16, 512)]
    public void Decode_MatchesReferenceAttentionAtTheLastFrame(int batch, int frames, int tokens, int heads, int headDim, int bits)
    {
        int d = heads * headDim, tmax = frames + 2;
        var rng = new Rng((ulong)(frames * 100 + headDim));
        var qkv = new float[batch * frames * tokens * 3 * d];
        for (int i = 0; i < qkv.Length; i++) qkv[i] = rng.NextNormal();
        var reference = new float[batch * frames * tokens * d];
        var kCache = new float[batch * tmax * tokens * d];
        var vCache = new float[batch * tmax * tokens * d];
        var last = new float[batch * tokens * 3 * d];     // the last frame's rows, (B·N, 3D)
        var output = new float[batch * tokens * d];
        int saved = SimdPath.MaxVectorBits;
        SimdPath.MaxVectorBits = bits;
        try
        {
            fixed (float* pq = qkv, pr = reference, pk = kCache, pv = vCache, pl = last, po = output)
            {
                AttentionReference.Forward(pr, null, pq, AttentionShape.Temporal(batch, frames, tokens, heads, headDim));
                // Cache frames 0..T−2 of every clip, then decode frame T−1 and commit it.
                for (int b = 0; b < batch; b++)
                    AttentionDecode.Fill(pk + (long)b * tmax * tokens * d, pv + (long)b * tmax * tokens * d,
                        pq + (long)b * frames * tokens * 3 * d, 1, frames - 1, tokens, tmax, d);
                for (int b = 0; b < batch; b++)
                    Array.Copy(qkv, ((b * frames) + frames - 1) * tokens * 3 * d, last, b * tokens * 3 * d, tokens * 3 * d);
                AttentionDecode.Forward(po, pl, pk, pv, batch, tokens, tmax, frames - 1, heads, headDim, commit: true);
            }
        }
        finally { SimdPath.MaxVectorBits = saved; }
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < tokens * d; i++)
            {
                float want = reference[((b * frames) + frames - 1) * tokens * d + i], got = output[b * tokens * d + i];
                Assert.True(Math.Abs(want - got) < 1e-4f, $"clip {b} element {i}: {got} vs reference {want}");
            }
        // The commit wrote the frame's keys and values at position T−1.
        for (int b = 0; b < batch; b++)
            for (int n = 0; n < tokens; n++)
                for (int c = 0; c < d; c++)
                {
                    Assert.Equal(last[(b * tokens + n) * 3 * d + d + c], kCache[((b * tmax + frames - 1) * tokens + n) * d + c]);
                    Assert.Equal(last[(b * tokens + n) * 3 * d + 2 * d + c], vCache[((b * tmax + frames - 1) * tokens + n) * d + c]);
                }
    }
}
