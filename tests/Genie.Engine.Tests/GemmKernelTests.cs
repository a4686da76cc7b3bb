using Genie.Engine.Kernels;

namespace Genie.Engine.Tests;

/// <summary>
/// The packed GEMM against the scalar <see cref="GemmReference"/> on ragged sizes (not multiples of the
/// 12×32 / 6×16 / 6×8 register tiles, K across the KC = 256 block edge, rows across the MC block edge),
/// every layout, alpha/beta, batching, each SIMD path, and bit-identity across thread counts.
/// </summary>
[Collection(KernelGlobalsCollection.Name)]
public unsafe class GemmKernelTests
{
    // (m, n, k): few rows (direct path), single tile, ragged tiles, K > KC, M > MC, N > NC.
    public static TheoryData<int, int, int> Sizes => new()
    {
        { 1, 1, 1 }, { 7, 7, 7 }, { 1, 33, 17 }, { 33, 1, 17 }, { 5, 40, 9 }, { 33, 17, 5 },
        { 12, 32, 16 }, { 13, 40, 257 }, { 257, 33, 7 }, { 37, 45, 513 }, { 200, 70, 31 }, { 12, 2100, 3 },
        { 13, 2100, 40 }, { 100, 300, 300 }, // shared-B mode: several NC blocks; B packed by several threads
    };

    public enum Mode { Parallel, Serial, Batched }

    /// <summary>Runs C = alpha·op(A)·op(B) + beta·C with leading dimensions wider than the matrices.</summary>
    private static float[] Run(Mode mode, bool transA, bool transB, int m, int n, int k, float alpha, float beta,
        float[] a, float[] b, float[] c0, bool reference = false)
    {
        int lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 1, ldc = n + 2;
        var c = (float[])c0.Clone();
        fixed (float* pa = a, pb = b, pc = c)
        {
            if (reference) GemmReference.Sgemm(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            else if (mode == Mode.Serial) Gemm.SgemmSerial(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            else if (mode == Mode.Batched) Gemm.SgemmBatched(transA, transB, m, n, k, alpha, pa, lda, 0, pb, ldb, 0, beta, pc, ldc, 0, 1);
            else Gemm.Sgemm(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        }
        return c;
    }

    private static (float[] a, float[] b, float[] c) Inputs(bool transA, bool transB, int m, int n, int k, int seed)
    {
        int lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 1, ldc = n + 2;
        return (TestData.Uniform(seed, (long)(transA ? k : m) * lda), TestData.Uniform(seed + 1, (long)(transB ? n : k) * ldb),
            TestData.Uniform(seed + 2, (long)m * ldc));
    }

    /// <summary>Checks the fast result against the reference, element by element, with a forward error
    /// bound: a few fp32 roundings per term of Σ|alpha·a·b| + |beta·c| (computed by the reference on |inputs|).</summary>
    private static void Check(Mode mode, bool transA, bool transB, int m, int n, int k, float alpha, float beta, int seed = 7)
    {
        var (a, b, c) = Inputs(transA, transB, m, n, k, seed);
        var got = Run(mode, transA, transB, m, n, k, alpha, beta, a, b, c);
        var want = Run(mode, transA, transB, m, n, k, alpha, beta, a, b, c, reference: true);
        var bound = Run(mode, transA, transB, m, n, k, MathF.Abs(alpha), MathF.Abs(beta), TestData.Abs(a), TestData.Abs(b), TestData.Abs(c), reference: true);
        int ldc = n + 2;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                long x = (long)i * ldc + j;
                double tol = 4 * (k + 2) * 6e-8 * bound[x] + 1e-30;
                Assert.True(Math.Abs(got[x] - want[x]) <= tol,
                    $"{(transA ? 'T' : 'N')}{(transB ? 'T' : 'N')} m={m} n={n} k={k} C[{i},{j}] = {got[x]}, reference {want[x]}");
            }
        // Padding columns of C (between n and ldc) must be untouched.
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc; j++) Assert.Equal(c[(long)i * ldc + j], got[(long)i * ldc + j]);
    }

    [Theory, MemberData(nameof(Sizes))]
    public void Gemm_NN_MatchesReference(int m, int n, int k) => Check(Mode.Parallel, false, false, m, n, k, 1f, 0f);

    [Theory, MemberData(nameof(Sizes))]
    public void Gemm_NT_MatchesReference(int m, int n, int k) => Check(Mode.Parallel, false, true, m, n, k, 1f, 0f);

    [Theory, MemberData(nameof(Sizes))]
    public void Gemm_TN_MatchesReference(int m, int n, int k) => Check(Mode.Parallel, true, false, m, n, k, 1f, 0f);

    [Theory, MemberData(nameof(Sizes))]
    public void Gemm_TT_MatchesReference(int m, int n, int k) => Check(Mode.Parallel, true, true, m, n, k, 1f, 0f);

    [Theory]
    [InlineData(0.5f, -1.5f)]
    [InlineData(1f, 1f)]
    [InlineData(-2f, 0.25f)]
    [InlineData(0f, 2f)]
    public void Gemm_AlphaBeta_MatchesReference(float alpha, float beta)
    {
        foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) })
        {
            Check(Mode.Parallel, ta, tb, 37, 45, 300, alpha, beta);
            Check(Mode.Serial, ta, tb, 13, 70, 9, alpha, beta);
            Check(Mode.Parallel, ta, tb, 3, 50, 20, alpha, beta); // direct path
        }
    }

    [Fact]
    public void Gemm_BetaZero_DoesNotReadC()
    {
        foreach (var (m, n, k) in new[] { (37, 45, 300), (3, 50, 20), (50, 3, 20), (12, 32, 16) })
            foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) })
            {
                var (a, b, _) = Inputs(ta, tb, m, n, k, 3);
                var nan = Enumerable.Repeat(float.NaN, m * (n + 2)).ToArray();
                var zeros = new float[m * (n + 2)];
                var got = Run(Mode.Parallel, ta, tb, m, n, k, 1.25f, 0f, a, b, nan);
                var want = Run(Mode.Parallel, ta, tb, m, n, k, 1.25f, 0f, a, b, zeros);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                        Assert.Equal(want[i * (n + 2) + j], got[i * (n + 2) + j]);
            }
    }

    [Fact]
    public void Gemm_EmptyK_ScalesC()
    {
        var c = TestData.Uniform(1, 6 * 7);
        var got = (float[])c.Clone();
        fixed (float* p = got) Gemm.Sgemm(false, false, 6, 5, 0, 1f, null, 1, null, 5, 0.5f, p, 7);
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 7; j++) Assert.Equal(j < 5 ? c[i * 7 + j] * 0.5f : c[i * 7 + j], got[i * 7 + j]);
    }

    [Theory]
    [InlineData(false, false, false, 3)]
    [InlineData(false, true, false, 3)]
    [InlineData(true, false, true, 3)]
    [InlineData(true, true, true, 3)]
    [InlineData(false, false, true, 9)]
    [InlineData(true, true, false, 9)]
    public void Gemm_Batched_StridesAndSharedOperands_MatchReference(bool transA, bool transB, bool shareA, int batch)
    {
        // One operand shared (stride 0), the other strided with a gap between matrices. A batch of 3 splits
        // each matrix across the threads; a batch of 9 gives each thread whole matrices.
        const int m = 29, n = 37, k = 41;
        int lda = transA ? m : k, ldb = transB ? k : n, ldc = n;
        long sizeA = (long)(transA ? k : m) * lda + 5, sizeB = (long)(transB ? n : k) * ldb + 7, sizeC = (long)m * ldc + 3;
        long strideA = shareA ? 0 : sizeA, strideB = shareA ? sizeB : 0;
        var a = TestData.Uniform(11, shareA ? sizeA : sizeA * batch);
        var b = TestData.Uniform(12, shareA ? sizeB * batch : sizeB);
        var c = TestData.Uniform(13, sizeC * batch);
        var got = (float[])c.Clone();
        var want = (float[])c.Clone();
        fixed (float* pa = a, pb = b, pc = got, pw = want)
        {
            Gemm.SgemmBatched(transA, transB, m, n, k, 0.75f, pa, lda, strideA, pb, ldb, strideB, 0.5f, pc, ldc, sizeC, batch);
            for (int i = 0; i < batch; i++)
                GemmReference.Sgemm(transA, transB, m, n, k, 0.75f, pa + i * strideA, lda, pb + i * strideB, ldb, 0.5f, pw + i * sizeC, ldc);
        }
        for (int i = 0; i < got.Length; i++) Assert.True(Math.Abs(got[i] - want[i]) <= 1e-4 * (1 + Math.Abs(want[i])), $"element {i}: {got[i]} vs {want[i]}");
    }

    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(128)]
    [InlineData(0)]
    public void Gemm_EachSimdPath_MatchesReference(int bits)
    {
        using var _ = new KernelSettings(maxVectorBits: bits);
        foreach (var (m, n, k) in new[] { (1, 7, 5), (7, 33, 17), (33, 17, 5), (13, 40, 257), (50, 3, 20), (45, 29, 300) })
            foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) })
            {
                Check(Mode.Parallel, ta, tb, m, n, k, 1f, 0f);
                Check(Mode.Serial, ta, tb, m, n, k, -0.5f, 1.5f);
            }
    }

    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(0)]
    public void Gemm_ThreadCount_BitIdentical(int bits)
    {
        using var _ = new KernelSettings(maxVectorBits: bits);
        foreach (var (m, n, k) in new[] { (257, 300, 270), (3, 500, 40), (600, 40, 33) })
            foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) })
            {
                var (a, b, c) = Inputs(ta, tb, m, n, k, 5);
                float[] one, two, three, serial;
                using (new KernelSettings(threads: 1)) one = Run(Mode.Parallel, ta, tb, m, n, k, 1f, 0.5f, a, b, c);
                using (new KernelSettings(threads: 2)) two = Run(Mode.Parallel, ta, tb, m, n, k, 1f, 0.5f, a, b, c);
                using (new KernelSettings(threads: 3)) three = Run(Mode.Batched, ta, tb, m, n, k, 1f, 0.5f, a, b, c);
                serial = Run(Mode.Serial, ta, tb, m, n, k, 1f, 0.5f, a, b, c);
                Assert.True(TestData.BitEqual(one, two), $"1 vs 2 threads differ at {m}x{n}x{k}");
                Assert.True(TestData.BitEqual(one, three), $"1 vs 3 threads differ at {m}x{n}x{k}");
                Assert.True(TestData.BitEqual(one, serial), $"parallel vs serial differ at {m}x{n}x{k}");
            }
        // A batch sharing B, split per matrix (batch ≥ 2 × threads) or within matrices (batch < threads).
        foreach (int batch in new[] { 1, 3, 8 })
        {
            int m = 70, n = 90, k = 300;
            var a = TestData.Uniform(21, (long)batch * m * k);
            var b = TestData.Uniform(22, (long)k * n);
            float[] Batched(int threads)
            {
                var c = new float[batch * m * n];
                using var _ = new KernelSettings(threads: threads);
                fixed (float* pa = a, pb = b, pc = c)
                    Gemm.SgemmBatched(false, true, m, n, k, 1f, pa, k, (long)m * k, pb, k, 0, 0f, pc, n, (long)m * n, batch);
                return c;
            }
            var ref1 = Batched(1);
            Assert.True(TestData.BitEqual(ref1, Batched(2)), $"batch {batch}: 1 vs 2 threads differ");
            Assert.True(TestData.BitEqual(ref1, Batched(3)), $"batch {batch}: 1 vs 3 threads differ");
        }
    }

    // ------------------------------------------------------------------ epilogue: bias, GELU, residual

    /// <summary>C = op(A)·Bᵀ (a linear layer, leading dimensions wider than the matrices) with the epilogue fused.</summary>
    private static float[] Linear(int m, int n, int k, float[] a, float[] w, float[] bias, bool gelu, float[]? res, bool fuse)
    {
        int lda = k + 3, ldb = k + 1, ldc = n + 2, ldr = n + 5;
        var c = TestData.Uniform(99, (long)m * ldc); // garbage that beta = 0 must overwrite, padding that must survive
        fixed (float* pa = a, pw = w, pbias = bias, pc = c, pr = res)
        {
            if (fuse)
                Gemm.SgemmBatched(false, true, m, n, k, 1f, pa, lda, 0, pw, ldb, 0, 0f, pc, ldc, 0, 1,
                    new GemmEpilogue(pbias, gelu, res is null ? null : pr, ldr));
            else
            {
                Gemm.Sgemm(false, true, m, n, k, 1f, pa, lda, pw, ldb, 0f, pc, ldc);
                for (int i = 0; i < m; i++)
                {
                    float* row = pc + (long)i * ldc;
                    GemmEpilogueReference.Apply(row, 1, n, pbias, gelu, res is null ? null : pr + (long)i * ldr, ldr);
                }
            }
        }
        return c;
    }

    [Theory]
    [InlineData(1, 40, 17)] [InlineData(5, 33, 9)] [InlineData(13, 45, 300)] [InlineData(37, 70, 31)] [InlineData(12, 2100, 3)] [InlineData(64, 96, 128)]
    public void GemmEpilogue_BiasGeluResidual_MatchesTheReferenceSteps_OnEveryPath(int m, int n, int k)
    {
        var a = TestData.Uniform(1, (long)m * (k + 3));
        var w = TestData.Uniform(2, (long)n * (k + 1));
        var bias = TestData.Uniform(3, n);
        var res = TestData.Uniform(4, (long)m * (n + 5));
        foreach (int bits in new[] { 512, 256, 128, 0 })
            foreach (int threads in new[] { 1, 2 })
                foreach (var (gelu, withRes) in new[] { (false, false), (true, false), (false, true), (true, true) })
                {
                    using var _ = new KernelSettings(threads: threads, maxVectorBits: bits);
                    var got = Linear(m, n, k, a, w, bias, gelu, withRes ? res : null, fuse: true);
                    var want = Linear(m, n, k, a, w, bias, gelu, withRes ? res : null, fuse: false);
                    int ldc = n + 2;
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < ldc; j++)
                        {
                            long x = (long)i * ldc + j;
                            double tol = j < n ? 2e-6 * (1 + Math.Abs(want[x])) : 0; // padding: untouched
                            Assert.True(Math.Abs(got[x] - want[x]) <= tol,
                                $"bits {bits} threads {threads} gelu {gelu} residual {withRes}: C[{i},{j}] = {got[x]}, reference {want[x]}");
                        }
                }
    }

    [Fact]
    public void GemmEpilogue_IsBitIdenticalToTheSeparateKernels_OnWholeVectors()
    {
        // What a linear layer did before fusion: GEMM, then AddRowVector, GeluForward, and the residual add.
        int m = 50, n = 96, k = 70;
        var a = TestData.Uniform(5, (long)m * k); var w = TestData.Uniform(6, (long)n * k);
        var bias = TestData.Uniform(7, n); var res = TestData.Uniform(8, (long)m * n);
        var fused = new float[m * n]; var separate = new float[m * n]; var act = new float[m * n];
        fixed (float* pa = a, pw = w, pb = bias, pr = res, pf = fused, ps = separate, pg = act)
        {
            Gemm.SgemmBatched(false, true, m, n, k, 1f, pa, k, 0, pw, k, 0, 0f, pf, n, 0, 1, new GemmEpilogue(pb, true, pr, n));
            Gemm.Sgemm(false, true, m, n, k, 1f, pa, k, pw, k, 0f, ps, n);
            Elementwise.AddRowVector(ps, pb, m, n);
            Elementwise.GeluForward(pg, ps, m * n);
            for (int i = 0; i < m * n; i++) ps[i] = pr[i] + pg[i];
        }
        Assert.True(TestData.BitEqual(fused, separate), "fused epilogue differs from GEMM + bias + GELU + residual");
    }

    [Theory]
    [InlineData(6, 40, 17)] [InlineData(16, 1024, 128)] [InlineData(13, 45, 300)] [InlineData(200, 2100, 9)] [InlineData(1, 33, 7)]
    public void PackedB_GivesTheSameProductAsSgemm_OnEveryPath(int m, int n, int k)
    {
        var a = TestData.Uniform(1, (long)m * (k + 3));
        var w = TestData.Uniform(2, (long)n * (k + 1));
        var bias = TestData.Uniform(3, n);
        foreach (int bits in new[] { 512, 256, 128, 0 })
        {
            using var _ = new KernelSettings(maxVectorBits: bits);
            int lda = k + 3, ldb = k + 1, ldc = n + 2;
            var got = TestData.Uniform(9, (long)m * ldc); var want = (float[])got.Clone(); var exact = (float[])got.Clone();
            fixed (float* pa = a, pw = w, pb = bias, pg = got, pr = want, pe = exact)
            {
                using var packed = Gemm.PackB(true, k, n, pw, ldb);
                Gemm.SgemmSerial(m, pa, lda, packed, pg, ldc, new GemmEpilogue(pb, false, null, 0));
                Gemm.SgemmBatched(false, true, m, n, k, 1f, pa, lda, 0, pw, ldb, 0, 0f, pr, ldc, 0, 1, new GemmEpilogue(pb, false, null, 0));
                GemmReference.Sgemm(false, true, m, n, k, 1f, pa, lda, pw, ldb, 0f, pe, ldc);
                for (int i = 0; i < m; i++) GemmEpilogueReference.Apply(pe + (long)i * ldc, 1, n, pb, false, null, 0);
            }
            for (int i = 0; i < m; i++)
                for (int j = 0; j < ldc; j++)
                {
                    long x = (long)i * ldc + j;
                    if (j >= n) { Assert.Equal(want[x], got[x]); continue; }          // padding untouched
                    // Packed once or per call, the blocked arithmetic is the same (bit for bit from 6 rows up,
                    // where Sgemm also blocks); both are close to the reference.
                    if (m >= 6) Assert.Equal(want[x], got[x]);
                    Assert.True(Math.Abs(got[x] - exact[x]) <= 1e-5 * (k + 2), $"bits {bits}: C[{i},{j}] = {got[x]}, reference {exact[x]}");
                }
        }
    }

    [Fact]
    public void PackedB_RefusesAnotherSimdWidth()
    {
        var w = TestData.Uniform(2, 8 * 8);
        var a = TestData.Uniform(1, 8 * 8);
        var c = new float[8 * 8];
        fixed (float* pw = w, pa = a, pc = c)
        {
            Gemm.PackedB packed;
            using (new KernelSettings(maxVectorBits: 256)) packed = Gemm.PackB(true, 8, 8, pw, 8);
            using (new KernelSettings(maxVectorBits: 128))
            {
                float* pa2 = pa, pc2 = pc;
                Assert.Throws<InvalidOperationException>(() => Gemm.SgemmSerial(8, pa2, 8, packed, pc2, 8));
            }
            packed.Dispose();
        }
    }
}
