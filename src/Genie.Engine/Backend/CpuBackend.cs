using Genie.Engine.Diagnostics;
using Genie.Engine.Kernels;
using Genie.Engine.Memory;

namespace Genie.Engine.Backend;

/// <summary>CPU memory from <see cref="BufferPool"/>: 64-byte aligned, recycled.</summary>
public sealed unsafe class CpuStorage : Storage
{
    private readonly long _capacity;

    internal CpuStorage(long floats)
    {
        Pointer = BufferPool.Rent(floats, out _capacity);
        Length = floats;
    }

    /// <summary>Address of the first float.</summary>
    public float* Pointer { get; private set; }
    /// <inheritdoc />
    public override IBackend Backend => CpuBackend.Instance;
    /// <inheritdoc />
    public override long Length { get; }

    /// <inheritdoc />
    public override void Dispose()
    {
        if (IsReleased) return;
        IsReleased = true;
        BufferPool.Return(Pointer, _capacity);
        Pointer = null;
        GC.SuppressFinalize(this);
    }

    /// <summary>Returns the memory of storage that was never released (a leak in the caller, but not of memory).</summary>
    ~CpuStorage()
    {
        if (!IsReleased && Pointer != null) BufferPool.Release(Pointer, _capacity);
    }
}

/// <summary>The CPU backend: every method adapts tensors to raw pointers and calls a kernel in <c>Kernels/</c>.</summary>
public sealed unsafe class CpuBackend : IBackend
{
    /// <summary>The single instance.</summary>
    public static readonly CpuBackend Instance = new();
    private CpuBackend() { }

    /// <inheritdoc />
    public string Name => "cpu";

    private static float* P(Tensor t) => t.Pointer;
    private static float* PN(Tensor? t) => t is null ? null : t.Pointer;
    private static int Cols(Tensor t) => t.Shape[^1];
    private static int Rows(Tensor t) => t.Size / Math.Max(1, t.Shape[^1]);

    /// <inheritdoc />
    public Storage Allocate(long floats) => new CpuStorage(floats);
    /// <inheritdoc />
    public void CopyIn(Tensor dst, ReadOnlySpan<float> src) => src.CopyTo(dst.Span);
    /// <inheritdoc />
    public void CopyOut(Tensor src, Span<float> dst) => src.Span.CopyTo(dst);
    /// <inheritdoc />
    public void Synchronize() { }

    /// <inheritdoc />
    public void Fill(Tensor x, float value)
    {
        using var _ = Profiler.Measure("Fill", 0);
        Elementwise.Fill(P(x), x.Size, value);
    }
    /// <inheritdoc />
    public void Copy(Tensor dst, Tensor src)
    {
        using var _ = Profiler.Measure("Copy", 0);
        Elementwise.Copy(P(dst), P(src), src.Size);
    }
    /// <inheritdoc />
    public void Axpy(Tensor y, Tensor x, float alpha)
    {
        using var _ = Profiler.Measure("Axpy", 0);
        Elementwise.Axpy(P(y), P(x), alpha, x.Size);
    }
    /// <inheritdoc />
    public void Scale(Tensor y, Tensor x, float alpha)
    {
        using var _ = Profiler.Measure("Scale", 0);
        Elementwise.Scale(P(y), P(x), alpha, x.Size);
    }
    /// <inheritdoc />
    public void Binary(BinaryOp op, Tensor y, Tensor a, Tensor b, BroadcastPlan plan)
    {
        using var _ = Profiler.Measure("Binary", 0);
        Elementwise.BinaryForward(op, P(y), P(a), P(b), plan);
    }
    /// <inheritdoc />
    public void BinaryBackward(BinaryOp op, Tensor? da, Tensor? db, Tensor dy, Tensor a, Tensor b, BroadcastPlan plan)
    {
        using var _ = Profiler.Measure("BinaryBackward", 0);
        Elementwise.BinaryBackward(op, PN(da), PN(db), P(dy), P(a), P(b), plan, b.Size);
    }
    /// <inheritdoc />
    public void AddRowVector(Tensor y, Tensor bias)
    {
        using var _ = Profiler.Measure("AddRowVector", 0);
        Elementwise.AddRowVector(P(y), P(bias), Rows(y), Cols(y));
    }
    /// <inheritdoc />
    public void SumRows(Tensor dsum, Tensor x)
    {
        using var _ = Profiler.Measure("SumRows", 0);
        Elementwise.SumRows(P(dsum), P(x), Rows(x), Cols(x));
    }
    /// <inheritdoc />
    public void Gelu(Tensor y, Tensor x)
    {
        using var _ = Profiler.Measure("Gelu", 0);
        Elementwise.GeluForward(P(y), P(x), x.Size);
    }
    /// <inheritdoc />
    public void GeluBackward(Tensor dx, Tensor dy, Tensor x)
    {
        using var _ = Profiler.Measure("GeluBackward", 0);
        Elementwise.GeluBackward(P(dx), P(dy), P(x), x.Size);
    }
    /// <inheritdoc />
    public void Sigmoid(Tensor y, Tensor x)
    {
        using var _ = Profiler.Measure("Sigmoid", 0);
        Elementwise.SigmoidForward(P(y), P(x), x.Size);
    }
    /// <inheritdoc />
    public void SigmoidBackward(Tensor dx, Tensor dy, Tensor y)
    {
        using var _ = Profiler.Measure("SigmoidBackward", 0);
        Elementwise.SigmoidBackward(P(dx), P(dy), P(y), y.Size);
    }

    /// <inheritdoc />
    public void MatMul(Tensor c, Tensor a, Tensor b, MatMulShape s, float alpha, float beta)
    {
        using var _ = Profiler.Measure(s.TransA ? (s.TransB ? "MatMul TT" : "MatMul TN") : (s.TransB ? "MatMul NT" : "MatMul NN"), s.Flops);
        Gemm.SgemmBatched(s.TransA, s.TransB, s.M, s.N, s.K, alpha, P(a), s.Lda, s.StrideA, P(b), s.Ldb, s.StrideB, beta, P(c), s.N, s.StrideC, s.Batch);
    }

    /// <inheritdoc />
    public IMaskedHead CreateMaskedHead(Tensor weight, Tensor? bias) => new CpuMaskedHead(weight, bias);

    /// <inheritdoc />
    public void LinearFused(Tensor y, Tensor x, Tensor w, Tensor? b, bool gelu, Tensor? residual)
    {
        int rows = Rows(x), inF = Cols(x), outF = w.Shape[0];
        using var _ = Profiler.Measure("Linear+epilogue", 2.0 * rows * outF * inF);
        var epi = new GemmEpilogue(b is null ? null : P(b), gelu, residual is null ? null : P(residual), outF);
        Gemm.SgemmBatched(false, true, rows, outF, inF, 1f, P(x), inF, 0, P(w), inF, 0, 0f, P(y), outF, 0, 1, epi);
    }

    /// <inheritdoc />
    public void Softmax(Tensor y, Tensor x)
    {
        using var _ = Profiler.Measure("Softmax", 0);
        Normalization.SoftmaxForward(P(y), P(x), Rows(x), Cols(x));
    }
    /// <inheritdoc />
    public void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y)
    {
        using var _ = Profiler.Measure("SoftmaxBackward", 0);
        Normalization.SoftmaxBackward(P(dx), P(dy), P(y), Rows(y), Cols(y));
    }
    /// <inheritdoc />
    public void LayerNorm(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor w, Tensor b, float eps)
    {
        using var _ = Profiler.Measure("LayerNorm", 0);
        Normalization.LayerNormForward(P(y), P(mean), P(rstd), P(x), P(w), P(b), Rows(x), Cols(x), eps);
    }
    /// <inheritdoc />
    public void LayerNormBackward(Tensor? dx, Tensor? dw, Tensor? db, Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd)
    {
        using var _ = Profiler.Measure("LayerNormBackward", 0);
        Normalization.LayerNormBackward(PN(dx), PN(dw), PN(db), P(dy), P(x), P(w), P(mean), P(rstd), Rows(x), Cols(x));
    }

    /// <inheritdoc />
    public void LayerNormSegmentsInPlace(Tensor x, int offset, int segments, Tensor w, Tensor b, float eps)
    {
        using var _ = Profiler.Measure("LayerNormSegments", 0);
        int dim = w.Size, cols = Cols(x);
        if (b.Size != dim || offset < 0 || offset + segments * dim > cols)
            throw new ArgumentException($"segment layer norm: {segments} segments of weight {w.ShapeString} / bias {b.ShapeString} from column {offset} do not fit rows of {x.ShapeString}");
        Normalization.LayerNormSegmentsInPlace(P(x) + offset, P(w), P(b), Rows(x), cols, segments, dim, eps);
    }
    /// <inheritdoc />
    public void L2Normalize(Tensor y, Tensor norm, Tensor x, float eps)
    {
        using var _ = Profiler.Measure("L2Normalize", 0);
        Normalization.L2NormalizeForward(P(y), P(norm), P(x), Rows(x), Cols(x), eps);
    }
    /// <inheritdoc />
    public void L2NormalizeBackward(Tensor dx, Tensor dy, Tensor y, Tensor norm, Tensor x, float eps)
    {
        using var _ = Profiler.Measure("L2NormalizeBackward", 0);
        Normalization.L2NormalizeBackward(P(dx), P(dy), P(y), P(norm), P(x), Rows(x), Cols(x), eps);
    }

    /// <inheritdoc />
    public void Attention(Tensor output, Tensor lse, Tensor qkv, AttentionShape shape)
    {
        using var _ = Profiler.Measure("Attention", shape.ForwardFlops);
        Kernels.Attention.Forward(P(output), P(lse), P(qkv), shape);
    }
    /// <inheritdoc />
    public void AttentionBackward(Tensor dqkv, Tensor dout, Tensor qkv, Tensor output, Tensor lse, AttentionShape shape)
    {
        using var _ = Profiler.Measure("AttentionBackward", 2.5 * shape.ForwardFlops);
        Kernels.Attention.Backward(P(dqkv), P(dout), P(qkv), P(output), P(lse), shape);
    }

    /// <inheritdoc />
    public void AttentionDecode(Tensor output, Tensor qkv, Tensor kCache, Tensor vCache, int past, int heads, bool commit)
    {
        using var _prof = Profiler.Measure("AttentionDecode", 0);
        int b = kCache.Shape[0], tmax = kCache.Shape[1], n = kCache.Shape[2], d = kCache.Shape[3];
        if (qkv.Size != b * n * 3 * d || output.Size != b * n * d)
            throw new ArgumentException($"decode attention: qkv {qkv.ShapeString} / output {output.ShapeString} do not match cache {kCache.ShapeString}");
        Kernels.AttentionDecode.Forward(P(output), P(qkv), P(kCache), P(vCache), b, n, tmax, past, heads, d / heads, commit);
    }

    /// <inheritdoc />
    public void AttentionCacheFill(Tensor kCache, Tensor vCache, Tensor qkv)
    {
        using var _prof = Profiler.Measure("AttentionCacheFill", 0);
        int b = kCache.Shape[0], tmax = kCache.Shape[1], n = kCache.Shape[2], d = kCache.Shape[3];
        int frames = qkv.Size / (b * n * 3 * d);
        if (frames > tmax || qkv.Size != b * frames * n * 3 * d) throw new ArgumentException($"cache fill: qkv {qkv.ShapeString} does not fit cache {kCache.ShapeString}");
        Kernels.AttentionDecode.Fill(P(kCache), P(vCache), P(qkv), b, frames, n, tmax, d);
    }

    /// <inheritdoc />
    public void Rotary(Tensor y, Tensor x, Tensor cos, Tensor sin, int heads, int ropeHeads)
    {
        using var _ = Profiler.Measure("Rotary", 0);
        var (dim, hd, period) = RotaryShape(y, x, cos, sin, heads, ropeHeads);
        Kernels.Rotary.Forward(P(y), P(x), P(cos), P(sin), Rows(x), dim, hd, ropeHeads, period);
    }
    /// <inheritdoc />
    public void RotaryBackward(Tensor dx, Tensor dy, Tensor cos, Tensor sin, int heads, int ropeHeads)
    {
        using var _ = Profiler.Measure("RotaryBackward", 0);
        var (dim, hd, period) = RotaryShape(dx, dy, cos, sin, heads, ropeHeads);
        Kernels.Rotary.Backward(P(dx), P(dy), P(cos), P(sin), Rows(dy), dim, hd, ropeHeads, period);
    }

    // Width D, head width and period of a rotary call, checked against the packed rows and the tables.
    private static (int Dim, int HeadDim, int Period) RotaryShape(Tensor y, Tensor x, Tensor cos, Tensor sin, int heads, int ropeHeads)
    {
        int cols = Cols(x);
        if (cols % 3 != 0 || heads < 1 || (cols / 3) % heads != 0 || (cols / 3 / heads) % 2 != 0 || ropeHeads < 0 || ropeHeads > heads)
            throw new ArgumentException($"rotary: rows {x.ShapeString} are not packed [q | k | v] of {heads} heads of even width, or {ropeHeads} rotated heads");
        int dim = cols / 3, hd = dim / heads;
        if (y.Size != x.Size || cos.Rank != 2 || cos.Shape[0] < 1 || cos.Shape[1] != hd / 2 || sin.Rank != 2 || sin.Shape[0] != cos.Shape[0] || sin.Shape[1] != hd / 2 || Rows(x) % cos.Shape[0] != 0)
            throw new ArgumentException($"rotary: tables {cos.ShapeString} / {sin.ShapeString} do not fit rows {x.ShapeString} (output {y.ShapeString}) of head width {hd}");
        return (dim, hd, cos.Shape[0]);
    }

    /// <inheritdoc />
    public void CrossEntropy(Tensor loss, Tensor lse, Tensor logits, ReadOnlySpan<int> targets, ReadOnlySpan<float> mask)
    {
        using var _prof = Profiler.Measure("CrossEntropy", 0);
        fixed (int* t = targets)
        fixed (float* m = mask)
            Loss.CrossEntropyForward(P(loss), P(lse), P(logits), t, mask.IsEmpty ? null : m, Rows(logits), Cols(logits));
    }

    /// <inheritdoc />
    public void CrossEntropyBackward(Tensor dlogits, Tensor logits, Tensor lse, ReadOnlySpan<int> targets, ReadOnlySpan<float> mask, float g)
    {
        using var _prof = Profiler.Measure("CrossEntropyBackward", 0);
        fixed (int* t = targets)
        fixed (float* m = mask)
            Loss.CrossEntropyBackward(P(dlogits), P(logits), P(lse), t, mask.IsEmpty ? null : m, g, Rows(logits), Cols(logits));
    }

    /// <inheritdoc />
    public double SquaredErrorSum(Tensor a, Tensor b)
    {
        using var _ = Profiler.Measure("SquaredErrorSum", 0);
        return Loss.SquaredErrorSum(P(a), P(b), a.Size);
    }
    /// <inheritdoc />
    public void SquaredErrorBackward(Tensor? da, Tensor? db, Tensor a, Tensor b, float k)
    {
        using var _ = Profiler.Measure("SquaredErrorBackward", 0);
        Loss.SquaredErrorBackward(PN(da), PN(db), P(a), P(b), k, a.Size);
    }
    /// <inheritdoc />
    public double Sum(Tensor x)
    {
        using var _ = Profiler.Measure("Sum", 0);
        return Loss.Sum(P(x), x.Size);
    }
    /// <inheritdoc />
    public double SumOfSquares(Tensor x)
    {
        using var _ = Profiler.Measure("SumOfSquares", 0);
        return Loss.SumOfSquares(P(x), x.Size);
    }
    /// <inheritdoc />
    public void ArgMaxRows(Span<int> ids, Tensor x)
    {
        using var _prof = Profiler.Measure("ArgMaxRows", 0);
        fixed (int* i = ids) Indexing.ArgMaxRows(i, P(x), Rows(x), Cols(x));
    }

    /// <inheritdoc />
    public void GatherRows(Tensor y, Tensor table, ReadOnlySpan<int> ids)
    {
        using var _prof = Profiler.Measure("GatherRows", 0);
        fixed (int* i = ids) Indexing.GatherRows(P(y), P(table), i, ids.Length, Rows(table), Cols(table));
    }

    /// <inheritdoc />
    public void ScatterAddRows(Tensor dtable, Tensor dy, ReadOnlySpan<int> ids)
    {
        using var _prof = Profiler.Measure("ScatterAddRows", 0);
        fixed (int* i = ids) Indexing.ScatterAddRows(P(dtable), P(dy), i, ids.Length, Cols(dtable));
    }

    /// <inheritdoc />
    public void CopyBlocks(Tensor dst, long dstOffset, long dstStride, Tensor src, long srcOffset, long srcStride, int blocks, int len, bool accumulate)
    {
        using var _ = Profiler.Measure("CopyBlocks", 0);
        Indexing.CopyBlocks(P(dst) + dstOffset, dstStride, P(src) + srcOffset, srcStride, blocks, len, accumulate);
    }

    /// <inheritdoc />
    public void Permute(Tensor y, Tensor x, int[] perm, bool accumulate)
    {
        using var _ = Profiler.Measure("Permute", 0);
        Indexing.Permute(P(y), P(x), x.Shape, perm, accumulate);
    }

    /// <inheritdoc />
    public void AdamW(Tensor p, Tensor g, Tensor m, Tensor v, AdamWStep s)
    {
        using var _ = Profiler.Measure("AdamW", 0);
        Optimizer.AdamW(P(p), P(g), P(m), P(v), p.Size, s.LearningRate, s.Beta1, s.Beta2, s.Eps, s.WeightDecay, s.Step);
    }
}
