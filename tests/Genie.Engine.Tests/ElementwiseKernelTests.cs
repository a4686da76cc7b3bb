using Genie.Core;
using Genie.Engine;
using Genie.Engine.Kernels;

namespace Genie.Engine.Tests;

/// <summary>The vectorised row and element-wise kernels against their scalar references on ragged sizes.</summary>
public unsafe class ElementwiseKernelTests
{
    private static float[] Random(int n, ulong seed, float scale = 3f)
    {
        var rng = new Rng(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = rng.NextNormal() * scale;
        return a;
    }

    private static void Close(float[] expected, float[] actual, float tol)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])), $"at {i}: {expected[i]} vs {actual[i]}");
    }

    [Theory]
    [InlineData(1)] [InlineData(7)] [InlineData(33)] [InlineData(257)] [InlineData(70_001)]
    public void Gelu_And_Sigmoid_MatchReference(int n)
    {
        var x = Random(n, (ulong)n);
        var fast = new float[n]; var slow = new float[n];
        fixed (float* px = x, pf = fast, ps = slow)
        {
            Elementwise.GeluForward(pf, px, n); ElementwiseReference.GeluForward(ps, px, n);
            Close(slow, fast, 1e-5f);
            Elementwise.SigmoidForward(pf, px, n); ElementwiseReference.SigmoidForward(ps, px, n);
            Close(slow, fast, 1e-5f);
        }
    }

    [Theory]
    [InlineData(512)] [InlineData(256)] [InlineData(128)] [InlineData(0)]
    public void Gelu_MatchesReferenceOnEveryVectorPath_IncludingLargeInputs(int bits)
    {
        var x = Random(1037, 5);
        x[3] = 30f; x[4] = -30f; x[5] = 1e4f; x[6] = -1e4f; x[7] = 0f; x[8] = 1e-7f;
        var fast = new float[x.Length]; var slow = new float[x.Length];
        int saved = SimdPath.MaxVectorBits;
        SimdPath.MaxVectorBits = bits;
        try
        {
            fixed (float* px = x, pf = fast, ps = slow) { Elementwise.GeluForward(pf, px, x.Length); ElementwiseReference.GeluForward(ps, px, x.Length); }
        }
        finally { SimdPath.MaxVectorBits = saved; }
        Close(slow, fast, 1e-5f);
    }

    [Theory]
    [InlineData(1, 1)] [InlineData(3, 7)] [InlineData(5, 33)] [InlineData(2, 257)] [InlineData(600, 64)] [InlineData(4, 8)] [InlineData(3, 20)]
    public void LayerNorm_And_Softmax_MatchReference(int rows, int dim)
    {
        var x = Random(rows * dim, 11); var w = Random(dim, 12, 1f); var b = Random(dim, 13, 1f);
        var fast = new float[rows * dim]; var slow = new float[rows * dim];
        var mean = new float[rows]; var rstd = new float[rows];
        fixed (float* px = x, pw = w, pb = b, pf = fast, ps = slow, pm = mean, pr = rstd)
        {
            NormalizationReference.LayerNormForward(ps, px, pw, pb, rows, dim, 1e-5f);
            int saved = SimdPath.MaxVectorBits;
            try
            {
                foreach (int bits in new[] { 512, 256, 128, 0 })
                {
                    SimdPath.MaxVectorBits = bits;
                    Array.Clear(fast);
                    Normalization.LayerNormForward(pf, pm, pr, px, pw, pb, rows, dim, 1e-5f);
                    Close(slow, fast, 1e-4f);
                    // The saved statistics are the row's mean and 1/√(var + eps).
                    for (int r = 0; r < rows; r++)
                    {
                        double m = 0, v = 0;
                        for (int i = 0; i < dim; i++) m += x[r * dim + i];
                        m /= dim;
                        for (int i = 0; i < dim; i++) v += (x[r * dim + i] - m) * (x[r * dim + i] - m);
                        Assert.Equal(m, mean[r], 1e-4);
                        Assert.Equal(1 / Math.Sqrt(v / dim + 1e-5), rstd[r], 1e-3 / Math.Sqrt(v / dim + 1e-5));
                    }
                }
            }
            finally { SimdPath.MaxVectorBits = saved; }
            Normalization.SoftmaxForward(pf, px, rows, dim);
            NormalizationReference.SoftmaxForward(ps, px, rows, dim);
            Close(slow, fast, 1e-5f);
        }
    }

    [Theory]
    [InlineData(5, 4, 32, 512)] [InlineData(3, 2, 16, 512)] [InlineData(7, 3, 8, 256)] [InlineData(4, 2, 12, 128)]
    [InlineData(3, 2, 5, 0)] [InlineData(1, 1, 7, 512)] [InlineData(300, 4, 32, 512)]
    public void LayerNormSegmentsInPlace_MatchesReferenceOnEachHead_AndLeavesTheRestAlone(int rows, int segments, int dim, int bits)
    {
        // Packed rows [q | k | v] of width 3·segments·dim; normalise the k part (offset segments·dim) in place.
        int width = 3 * segments * dim, offset = segments * dim;
        var x = Random(rows * width, 21); var w = Random(dim, 22, 1f); var b = Random(dim, 23, 1f);
        var got = (float[])x.Clone();
        var want = (float[])x.Clone();
        int saved = SimdPath.MaxVectorBits;
        SimdPath.MaxVectorBits = bits;
        try
        {
            fixed (float* pg = got, pw = w, pb = b, px = x, pr = want)
            {
                Normalization.LayerNormSegmentsInPlace(pg + offset, pw, pb, rows, width, segments, dim, 1e-5f);
                for (int r = 0; r < rows; r++)
                    NormalizationReference.LayerNormForward(pr + (long)r * width + offset, px + (long)r * width + offset, pw, pb, segments, dim, 1e-5f);
            }
        }
        finally { SimdPath.MaxVectorBits = saved; }
        Close(want, got, 1e-4f);
    }

    [Fact]
    public void BroadcastPlan_CoversTheShapesTheModelsUse()
    {
        // (B,T,N,D) + (T,1,D): temporal positions; (B,T,N,D) + (N,D): spatial positions; (R,D) * (R,1).
        foreach (var (a, b) in new (int[], int[])[] { ([2, 3, 4, 5], [3, 1, 5]), ([2, 3, 4, 5], [4, 5]), ([6, 5], [6, 1]), ([2, 1, 3], [1, 3]) })
        {
            var av = Random(Tensor.ShapeSize(a), 1); var bv = Random(Tensor.ShapeSize(b), 2);
            using var _ = new TensorScope();
            var y = Ops.Add(Tensor.From(av, a), Tensor.From(bv, b)).ToArray();
            // Reference: numpy broadcasting by explicit index arithmetic.
            var bFull = Enumerable.Repeat(1, a.Length - b.Length).Concat(b).ToArray();
            for (int i = 0; i < y.Length; i++)
            {
                int rem = i, bi = 0, bStride = 1;
                for (int d = a.Length - 1; d >= 0; d--)
                {
                    int idx = rem % a[d]; rem /= a[d];
                    if (bFull[d] != 1) bi += idx * bStride;
                    bStride *= bFull[d];
                }
                Assert.Equal(av[i] + bv[bi], y[i]);
            }
        }
    }
}
