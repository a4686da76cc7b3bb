using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Genie.Engine.Parallel;

namespace Genie.Engine.Kernels;

/// <summary>
/// Single-precision GEMM, row-major: <c>C = alpha · op(A) · op(B) + beta · C</c>.
/// Oracle: <see cref="GemmReference"/>. The scheme is described in docs/kernels.md.
/// </summary>
/// <remarks>
/// Goto/BLIS blocking. For each block of NC columns and KC depth, the B block (KC × NC) is packed into
/// NR-wide micro-panels; for each block of MC rows the A block (MC × KC) is packed into MR-tall
/// micro-panels; then an MR × NR register-tile microkernel runs over every (MR, NR) tile, reading its
/// A micro-panel from L2 and its B micro-panel from L1. Packing makes all four layouts (NN, NT, TN, TT)
/// the same problem for the microkernel, and zero-pads ragged edges.
///
/// Determinism: every element of C is accumulated by one microkernel call per KC block, the k steps in
/// order, and the blocks in order (the first applies beta, later ones add). KC is a constant, so the
/// arithmetic for an element never depends on how the output was split across threads: results are
/// bit-identical for any <see cref="Workers.ThreadCount"/>.
///
/// Widths: a 12 × 32 tile of Vector512 accumulators (24 zmm) with AVX-512; 6 × 2W tiles for Vector256,
/// Vector128 and scalar (12 accumulators fit the 16 architectural registers of AVX2/SSE).
/// Matrix-vector-like shapes (fewer rows than half a tile) skip packing and run direct vector loops.
/// </remarks>
public static unsafe class Gemm
{
    /// <summary>Widest SIMD path the kernels may use (512, 256, 128, or 0 = scalar). Tests lower it to
    /// exercise the narrower paths; shared with <see cref="Attention"/>.</summary>
    internal static int MaxVectorBits { get => SimdPath.MaxVectorBits; set => SimdPath.MaxVectorBits = value; }

    /// <summary>Depth of a packed block. A B micro-panel is KC × NR floats (32 KiB at NR = 32): it stays in
    /// the 48 KiB L1 while the A micro-panels stream from L2. Fixed, never derived from the thread count,
    /// because it decides the summation order.</summary>
    internal const int KC = 256;

    /// <summary>Rows of a packed A block, in microkernel tiles (12 × 16 = 192 rows ≈ 192 KiB at KC = 256, in L2).</summary>
    internal const int MCTiles = 16;

    /// <summary>Columns of a packed B block (KC × NC ≈ 2 MiB; streamed from L2/L3 one micro-panel at a time).</summary>
    internal const int NC = 2048;

    /// <summary>See <see cref="GemmReference.Sgemm"/> for the argument conventions.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
        => SgemmBatched(transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);

    /// <summary>
    /// <paramref name="batch"/> independent GEMMs; matrix <c>i</c> of A starts at <c>a + i·strideA</c>
    /// (a stride of 0 shares one matrix across the batch), likewise B and C.
    /// With an <paramref name="epilogue"/> (one matrix only), each finished tile of C also gets the bias, GELU and
    /// residual add it names (a linear layer, its activation and a residual add in one pass).
    /// </summary>
    public static void SgemmBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, long strideA, float* b, int ldb, long strideB, float beta, float* c, int ldc, long strideC, int batch,
        GemmEpilogue epilogue = default)
    {
        if (m <= 0 || n <= 0 || batch <= 0) return;
        if (!epilogue.IsNone && batch != 1) throw new ArgumentException("a GEMM epilogue applies to one matrix, not a batch");
        if (k <= 0)
        {
            for (int bi = 0; bi < batch; bi++) ScaleC(m, n, beta, c + bi * strideC, ldc);
            if (!epilogue.IsNone) epilogue.Apply(c, ldc, m, n);
            return;
        }
        var job = Job.Rent();
        job.Set(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch, epilogue);
        try
        {
            switch (job.Bits)
            {
                case 512: job.Plan<Vector512<float>, V512, Tile12x2<Vector512<float>, V512>>(); break;
                case 256: job.Plan<Vector256<float>, V256, Tile6x2<Vector256<float>, V256>>(); break;
                case 128: job.Plan<Vector128<float>, V128, Tile6x2<Vector128<float>, V128>>(); break;
                default: job.Plan<float, V1, Tile6x2<float, V1>>(); break;
            }
            Workers.For(job.Items, job.Body);
        }
        finally { job.Return(); }
    }

    /// <summary>Single-threaded GEMM, for use inside a parallel work item.</summary>
    public static void SgemmSerial(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        if (m <= 0 || n <= 0) return;
        if (k <= 0) { ScaleC(m, n, beta, c, ldc); return; }
        switch (SimdPath.Bits)
        {
            case 512: Serial<Vector512<float>, V512, Tile12x2<Vector512<float>, V512>>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); break;
            case 256: Serial<Vector256<float>, V256, Tile6x2<Vector256<float>, V256>>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); break;
            case 128: Serial<Vector128<float>, V128, Tile6x2<Vector128<float>, V128>>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); break;
            default: Serial<float, V1, Tile6x2<float, V1>>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); break;
        }
    }

    /// <summary>
    /// op(B) (K × N) packed once into the microkernel's panels, for many GEMMs that share it — an inference
    /// layer's weights used by several threads on their own row blocks (<see cref="SgemmSerial(int, float*, int, PackedB, float*, int, GemmEpilogue)"/>).
    /// Holds a copy: later changes to B are not seen. Packed for the SIMD width in use when it was made.
    /// </summary>
    public sealed class PackedB : IDisposable
    {
        internal readonly int Bits;
        internal float* Data;
        /// <summary>Depth K of op(B).</summary>
        public int K { get; }
        /// <summary>Columns N of op(B).</summary>
        public int N { get; }
        private readonly long _floats;

        internal PackedB(int k, int n, int bits, long floats)
        {
            K = k; N = n; Bits = bits; _floats = floats;
            Data = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(floats * 4), 64);
        }

        /// <summary>Frees the packed copy.</summary>
        public void Dispose()
        {
            if (Data != null) System.Runtime.InteropServices.NativeMemory.AlignedFree(Data);
            Data = null;
            GC.SuppressFinalize(this);
        }

        /// <summary>Frees the copy if it was never disposed.</summary>
        ~PackedB() { if (Data != null) System.Runtime.InteropServices.NativeMemory.AlignedFree(Data); }
    }

    /// <summary>Packs op(B) (K × N; B is N × K with <paramref name="transB"/>, as a linear layer's weight) once.</summary>
    public static PackedB PackB(bool transB, int k, int n, float* b, int ldb)
    {
        if (k <= 0 || n <= 0) throw new ArgumentException($"cannot pack an empty {k} x {n} matrix");
        int bits = SimdPath.Bits;
        int nr = bits switch
        {
            512 => Tile12x2<Vector512<float>, V512>.NR,
            256 => Tile6x2<Vector256<float>, V256>.NR,
            128 => Tile6x2<Vector128<float>, V128>.NR,
            _ => Tile6x2<float, V1>.NR,
        };
        // Blocks in the order the loop nest visits them: jc (NC columns) outer, pc (KC depth) inner.
        long floats = 0;
        for (int jc = 0; jc < n; jc += NC)
            for (int pc = 0; pc < k; pc += KC) floats += (long)Math.Min(KC, k - pc) * RoundUp(Math.Min(NC, n - jc), nr);
        var packed = new PackedB(k, n, bits, floats);
        float* dst = packed.Data;
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                if (transB) Pack.Panels(dst, b + (long)jc * ldb + pc, ldb, 1, nc, kc, nr);
                else Pack.Panels(dst, b + (long)pc * ldb + jc, 1, ldb, nc, kc, nr);
                dst += (long)kc * RoundUp(nc, nr);
            }
        }
        return packed;
    }

    /// <summary>
    /// Single-threaded C = A·op(B) (then the <paramref name="epilogue"/>) with B packed beforehand: the same
    /// blocked arithmetic as <see cref="Sgemm"/> on ≥ 6 rows, without packing B again. For use inside a
    /// parallel work item.
    /// </summary>
    public static void SgemmSerial(int m, float* a, int lda, PackedB b, float* c, int ldc, GemmEpilogue epilogue = default)
    {
        if (b.Data == null) throw new ObjectDisposedException(nameof(PackedB));
        if (b.Bits != SimdPath.Bits) throw new InvalidOperationException($"B was packed for {b.Bits}-bit vectors, the kernels now use {SimdPath.Bits}");
        if (m <= 0) return;
        switch (b.Bits)
        {
            case 512: BlockedPackedB<Tile12x2<Vector512<float>, V512>>(m, a, lda, b, c, ldc, epilogue); break;
            case 256: BlockedPackedB<Tile6x2<Vector256<float>, V256>>(m, a, lda, b, c, ldc, epilogue); break;
            case 128: BlockedPackedB<Tile6x2<Vector128<float>, V128>>(m, a, lda, b, c, ldc, epilogue); break;
            default: BlockedPackedB<Tile6x2<float, V1>>(m, a, lda, b, c, ldc, epilogue); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BlockedPackedB<K>(int m, float* a, long lda, PackedB packed, float* c, long ldc, GemmEpilogue epi)
        where K : struct, IMicroKernel
    {
        int MR = K.MR, NR = K.NR, MC = MCTiles * MR, n = packed.N, k = packed.K;
        var s = Scratch.ForThread;
        float* bp = packed.Data;
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                float betaBlock = pc == 0 ? 0f : 1f;
                bool lastBlock = pc + kc >= k;
                for (int ic = 0; ic < m; ic += MC)
                {
                    int mc = Math.Min(MC, m - ic);
                    float* ap = s.A.Get((long)kc * RoundUp(mc, MR));
                    Pack.Panels(ap, a + ic * lda + pc, lda, 1, mc, kc, MR);
                    Tiles<K>(mc, nc, kc, ap, (long)kc * MR, MR, bp, (long)kc * NR, c + ic * ldc + jc, ldc, 1f, betaBlock,
                        lastBlock ? epi.At(ic, jc) : default);
                }
                bp += (long)kc * RoundUp(nc, NR);
            }
        }
    }

    // C = beta·C for an empty inner dimension (beta = 0 writes zeros without reading).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleC(int m, int n, float beta, float* c, long ldc)
    {
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + i * ldc, n);
            if (beta == 0f) row.Clear();
            else System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }

    /// <summary>
    /// A handful of rows (matrix-vector-like products) would pay for packing all of B to use a few rows of
    /// each register tile; they run <see cref="Direct{TV,O}"/> instead, which streams B once per row with no
    /// packing. Narrow N with many rows stays packed: a zero-padded vector tile still beats scalar columns.
    /// </summary>
    private static bool UseDirect<K>(int m) where K : struct, IMicroKernel => 2 * m < K.MR;

    /// <summary>One GEMM on the calling thread: packed/blocked, or direct for degenerate shapes.</summary>
    internal static void Serial<TV, O, K>(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, long lda, float* b, long ldb, float beta, float* c, long ldc, GemmEpilogue epi = default)
        where TV : unmanaged where O : struct, IVec<TV> where K : struct, IMicroKernel
    {
        if (UseDirect<K>(m)) Direct<TV, O>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epi);
        else Blocked<TV, O, K>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epi);
    }

    /// <summary>The Goto/BLIS loop nest over one (sub-)matrix: jc (NC) → pc (KC, pack B) → ic (MC, pack A) → tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Blocked<TV, O, K>(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, long lda, float* b, long ldb, float beta, float* c, long ldc, GemmEpilogue epi = default)
        where TV : unmanaged where O : struct, IVec<TV> where K : struct, IMicroKernel
    {
        int MR = K.MR, NR = K.NR, MC = MCTiles * MR;
        var s = Scratch.ForThread;
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                // B block op(B)[pc.., jc..]: element (j, p) is b[j·ldb + p] if transposed, else b[p·ldb + j].
                float* bp = s.B.Get((long)kc * RoundUp(nc, NR));
                if (transB) Pack.Panels(bp, b + jc * ldb + pc, ldb, 1, nc, kc, NR);
                else Pack.Panels(bp, b + pc * ldb + jc, 1, ldb, nc, kc, NR);
                float betaBlock = pc == 0 ? beta : 1f; // later K blocks add to what the first one wrote
                bool lastBlock = pc + kc >= k;         // tiles are final after it: the epilogue runs on them
                for (int ic = 0; ic < m; ic += MC)
                {
                    int mc = Math.Min(MC, m - ic);
                    float* ap = s.A.Get((long)kc * RoundUp(mc, MR));
                    if (transA) Pack.Panels(ap, a + pc * lda + ic, 1, lda, mc, kc, MR);
                    else Pack.Panels(ap, a + ic * lda + pc, lda, 1, mc, kc, MR);
                    Tiles<K>(mc, nc, kc, ap, (long)kc * MR, MR, bp, (long)kc * NR, c + ic * ldc + jc, ldc, alpha, betaBlock,
                        lastBlock ? epi.At(ic, jc) : default);
                }
            }
        }
    }

    /// <summary>
    /// Runs the microkernel over an mc × nc block of C. Row panel i of A starts at <c>a + i·aPanel</c> and
    /// advances <c>aStep</c> floats per k step (packed: aPanel = kc·MR, aStep = MR; attention also passes
    /// unpacked probability tiles here). Column panel j of B starts at <c>b + j·bPanel</c> and advances NR
    /// floats per k step (packed with depth kc: bPanel = kc·NR; a panel packed deeper than kc also works).
    /// Edge tiles go through a small buffer so that they use exactly the same arithmetic as full ones.
    /// A non-empty <paramref name="epi"/> (offset to this block) is applied to each tile right after it is stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Tiles<K>(int mc, int nc, int kc, float* a, long aPanel, long aStep, float* b, long bPanel,
        float* c, long ldc, float alpha, float beta, GemmEpilogue epi = default) where K : struct, IMicroKernel
    {
        bool epilogue = !epi.IsNone;
        int MR = K.MR, NR = K.NR;
        for (int jr = 0; jr < nc; jr += NR)
        {
            int nr = Math.Min(NR, nc - jr);
            float* bPanelPtr = b + (jr / NR) * bPanel;
            for (int ir = 0; ir < mc; ir += MR)
            {
                int mr = Math.Min(MR, mc - ir);
                float* aPanelPtr = a + (ir / MR) * aPanel;
                float* ct = c + ir * ldc + jr;
                if (mr == MR && nr == NR) K.Run(kc, aPanelPtr, aStep, bPanelPtr, ct, ldc, alpha, beta);
                else EdgeTile<K>(mr, nr, kc, aPanelPtr, aStep, bPanelPtr, ct, ldc, alpha, beta);
                if (epilogue) epi.At(ir, jr).Apply(ct, ldc, mr, nr);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void EdgeTile<K>(int mr, int nr, int kc, float* a, long aStep, float* b, float* c, long ldc,
        float alpha, float beta) where K : struct, IMicroKernel
    {
        int NR = K.NR;
        float* t = Scratch.ForThread.Tile.Get(K.MR * NR);
        if (beta != 0f)
            for (int i = 0; i < mr; i++)
                for (int j = 0; j < nr; j++) t[i * NR + j] = c[i * ldc + j];
        K.Run(kc, a, aStep, b, t, NR, alpha, beta);
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr; j++) c[i * ldc + j] = t[i * NR + j];
    }

    /// <summary>
    /// Unpacked GEMM for degenerate shapes, one row of C at a time. Row i of op(A) is used in place (or
    /// gathered once when A is transposed). Not transposed B: rows of B are streamed with vector FMAs into
    /// up to four vector accumulators along N. Transposed B: each C element is a vector dot product along K.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Direct<TV, O>(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, long lda, float* b, long ldb, float beta, float* c, long ldc, GemmEpilogue epi = default)
        where TV : unmanaged where O : struct, IVec<TV>
    {
        int W = O.Width;
        float* gathered = transA ? Scratch.ForThread.Row.Get(k) : null;
        TV va = O.Create(alpha), vb = O.Create(beta);
        for (int i = 0; i < m; i++)
        {
            float* ar = a + i * lda;
            if (transA)
            {
                for (int p = 0; p < k; p++) gathered[p] = a[p * lda + i];
                ar = gathered;
            }
            float* cr = c + i * ldc;
            if (!transB)
            {
                int j = 0;
                for (; j + 4 * W <= n; j += 4 * W)
                {
                    TV s0 = O.Zero, s1 = O.Zero, s2 = O.Zero, s3 = O.Zero;
                    float* bp = b + j;
                    for (int p = 0; p < k; p++, bp += ldb)
                    {
                        TV av = O.Create(ar[p]);
                        s0 = O.Fma(av, O.Load(bp), s0); s1 = O.Fma(av, O.Load(bp + W), s1);
                        s2 = O.Fma(av, O.Load(bp + 2 * W), s2); s3 = O.Fma(av, O.Load(bp + 3 * W), s3);
                    }
                    StoreC<TV, O>(s0, cr + j, va, vb, beta); StoreC<TV, O>(s1, cr + j + W, va, vb, beta);
                    StoreC<TV, O>(s2, cr + j + 2 * W, va, vb, beta); StoreC<TV, O>(s3, cr + j + 3 * W, va, vb, beta);
                }
                for (; j + W <= n; j += W)
                {
                    TV s0 = O.Zero;
                    float* bp = b + j;
                    for (int p = 0; p < k; p++, bp += ldb) s0 = O.Fma(O.Create(ar[p]), O.Load(bp), s0);
                    StoreC<TV, O>(s0, cr + j, va, vb, beta);
                }
                for (; j < n; j++)
                {
                    float s0 = 0f;
                    for (int p = 0; p < k; p++) s0 = MathF.FusedMultiplyAdd(ar[p], b[p * ldb + j], s0);
                    cr[j] = beta == 0f ? alpha * s0 : MathF.FusedMultiplyAdd(s0, alpha, beta * cr[j]);
                }
            }
            else
            {
                for (int j = 0; j < n; j++)
                {
                    float s0 = Dot<TV, O>(ar, b + j * ldb, k);
                    cr[j] = beta == 0f ? alpha * s0 : MathF.FusedMultiplyAdd(s0, alpha, beta * cr[j]);
                }
            }
            if (!epi.IsNone) epi.At(i, 0).Apply(cr, ldc, 1, n);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreC<TV, O>(TV acc, float* c, TV va, TV vb, float beta) where TV : unmanaged where O : struct, IVec<TV>
    {
        if (beta == 0f) O.Store(O.Mul(acc, va), c);
        else O.Store(O.Fma(acc, va, O.Mul(vb, O.Load(c))), c);
    }

    /// <summary>Σ x[p]·y[p] with four vector accumulators, combined in a fixed order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float Dot<TV, O>(float* x, float* y, int k) where TV : unmanaged where O : struct, IVec<TV>
    {
        int W = O.Width, p = 0;
        TV s0 = O.Zero, s1 = O.Zero, s2 = O.Zero, s3 = O.Zero;
        for (; p + 4 * W <= k; p += 4 * W)
        {
            s0 = O.Fma(O.Load(x + p), O.Load(y + p), s0);
            s1 = O.Fma(O.Load(x + p + W), O.Load(y + p + W), s1);
            s2 = O.Fma(O.Load(x + p + 2 * W), O.Load(y + p + 2 * W), s2);
            s3 = O.Fma(O.Load(x + p + 3 * W), O.Load(y + p + 3 * W), s3);
        }
        for (; p + W <= k; p += W) s0 = O.Fma(O.Load(x + p), O.Load(y + p), s0);
        float s = O.SumAcross(O.Add(O.Add(s0, s1), O.Add(s2, s3)));
        for (; p < k; p++) s = MathF.FusedMultiplyAdd(x[p], y[p], s);
        return s;
    }

    internal static int RoundUp(int x, int to) => (x + to - 1) / to * to;

    /// <summary>Per-thread packing buffers, reused across calls (grow-only).</summary>
    internal sealed class Scratch
    {
        [ThreadStatic] private static Scratch? _current;
        public static Scratch ForThread => _current ??= new Scratch();
        public readonly AlignedBuffer A = new(), B = new(), Tile = new(), Row = new();
    }

    /// <summary>
    /// One parallel GEMM call: its arguments and the split of the output into work items. Each calling
    /// thread keeps one (so steady-state calls allocate nothing, not even a closure); <see cref="Body"/>
    /// is the cached delegate the workers run.
    /// </summary>
    private sealed class Job
    {
        [ThreadStatic] private static Job? _cached;
        private bool _busy;
        public readonly Workers.Body Body;
        public int Bits, Items;

        private bool _transA, _transB, _direct;
        private int _m, _n, _k, _batch;
        private float _alpha, _beta;
        private float* _a, _b, _c;
        private GemmEpilogue _epi;
        private long _lda, _ldb, _ldc, _strideA, _strideB, _strideC;
        // Work item = (matrix, row piece, column piece); pieces are whole register tiles except the last.
        private int _rowPieces, _colPieces, _rowsPer, _colsPer;

        private Job() { Body = RunItem; }

        public static Job Rent()
        {
            var j = _cached;
            if (j is null || j._busy) { j = new Job(); if (_cached is null) _cached = j; }
            j._busy = true;
            return j;
        }

        public void Return() { _busy = false; _a = _b = _c = null; _epi = default; }

        public void Set(bool transA, bool transB, int m, int n, int k, float alpha, float* a, long lda, long strideA,
            float* b, long ldb, long strideB, float beta, float* c, long ldc, long strideC, int batch, GemmEpilogue epi)
        {
            _epi = epi;
            _transA = transA; _transB = transB; _m = m; _n = n; _k = k; _alpha = alpha; _beta = beta;
            _a = a; _lda = lda; _strideA = strideA; _b = b; _ldb = ldb; _strideB = strideB; _c = c; _ldc = ldc; _strideC = strideC;
            _batch = batch;
            Bits = SimdPath.Bits;
        }

        /// <summary>
        /// Splits each matrix into row × column pieces. The split only decides which thread computes which
        /// tiles — never the arithmetic (see the class remarks) — so it may follow the thread count: one item
        /// per matrix on one thread (no duplicated packing), otherwise about one item per thread. Each row
        /// piece packs all of its B columns and each column piece all of its A rows, so the factorisation
        /// rows × cols of the pieces is the one that duplicates the least packing (rs·K·N + cs·M·K).
        /// </summary>
        public void Plan<TV, O, K>() where TV : unmanaged where O : struct, IVec<TV> where K : struct, IMicroKernel
        {
            _direct = UseDirect<K>(_m);
            int rowUnit = _direct ? 1 : K.MR, colUnit = _direct ? 4 * O.Width : K.NR;
            int rowTiles = (_m + rowUnit - 1) / rowUnit, colTiles = (_n + colUnit - 1) / colUnit;
            double flops = 2.0 * _m * _n * _k * _batch;
            int threads = Workers.ThreadCount;
            // Below ~0.25 MFLOP a second thread costs more to wake than it saves.
            int want = threads <= 1 || flops < 1 << 18 ? 1 : threads;
            int perMatrix = Math.Max(1, (want + _batch - 1) / _batch);
            int rs = 1, cs = 1;
            double bestCost = double.MaxValue;
            for (int r = 1; r <= perMatrix; r++)
            {
                int c = (perMatrix + r - 1) / r;
                if (r > rowTiles || c > colTiles) continue;
                double cost = (double)r * _n + (double)c * _m;
                if (cost < bestCost) { bestCost = cost; rs = r; cs = c; }
            }
            _rowsPer = (rowTiles + rs - 1) / rs * rowUnit;
            _colsPer = (colTiles + cs - 1) / cs * colUnit;
            _rowPieces = (_m + _rowsPer - 1) / _rowsPer;
            _colPieces = (_n + _colsPer - 1) / _colsPer;
            Items = _batch * _rowPieces * _colPieces;
        }

        private void RunItem(int item)
        {
            switch (Bits)
            {
                case 512: RunItem<Vector512<float>, V512, Tile12x2<Vector512<float>, V512>>(item); break;
                case 256: RunItem<Vector256<float>, V256, Tile6x2<Vector256<float>, V256>>(item); break;
                case 128: RunItem<Vector128<float>, V128, Tile6x2<Vector128<float>, V128>>(item); break;
                default: RunItem<float, V1, Tile6x2<float, V1>>(item); break;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void RunItem<TV, O, K>(int item) where TV : unmanaged where O : struct, IVec<TV> where K : struct, IMicroKernel
        {
            int perMatrix = _rowPieces * _colPieces;
            int bi = item / perMatrix, piece = item % perMatrix;
            int i0 = piece / _colPieces * _rowsPer, j0 = piece % _colPieces * _colsPer;
            int mi = Math.Min(_rowsPer, _m - i0), ni = Math.Min(_colsPer, _n - j0);
            float* a = _a + bi * _strideA + (_transA ? i0 : i0 * _lda);
            float* b = _b + bi * _strideB + (_transB ? j0 * _ldb : j0);
            float* c = _c + bi * _strideC + i0 * _ldc + j0;
            var epi = _epi.IsNone ? default : _epi.At(i0, j0);
            if (_direct) Direct<TV, O>(_transA, _transB, mi, ni, _k, _alpha, a, _lda, b, _ldb, _beta, c, _ldc, epi);
            else Blocked<TV, O, K>(_transA, _transB, mi, ni, _k, _alpha, a, _lda, b, _ldb, _beta, c, _ldc, epi);
        }
    }
}
