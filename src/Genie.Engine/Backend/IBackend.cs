using Genie.Engine.Kernels;

namespace Genie.Engine.Backend;

/// <summary>Shape of a (batched) matrix product on contiguous operands; leading dimensions follow from it.</summary>
/// <param name="TransA">A is stored (K, M) instead of (M, K).</param>
/// <param name="TransB">B is stored (N, K) instead of (K, N).</param>
/// <param name="Batch">Number of products.</param>
/// <param name="M">Rows of C.</param>
/// <param name="N">Columns of C.</param>
/// <param name="K">Inner dimension.</param>
/// <param name="StrideA">Floats between consecutive A matrices (0 = shared).</param>
/// <param name="StrideB">Floats between consecutive B matrices (0 = shared).</param>
/// <param name="StrideC">Floats between consecutive C matrices.</param>
public readonly record struct MatMulShape(bool TransA, bool TransB, int Batch, int M, int N, int K, long StrideA, long StrideB, long StrideC)
{
    /// <summary>Leading dimension of A.</summary>
    public int Lda => TransA ? M : K;
    /// <summary>Leading dimension of B.</summary>
    public int Ldb => TransB ? K : N;
    /// <summary>FLOPs of the product (2·M·N·K per batch entry).</summary>
    public double Flops => 2.0 * Batch * M * N * K;
}

/// <summary>Hyper-parameters of one AdamW update.</summary>
public readonly record struct AdamWStep(float LearningRate, float Beta1, float Beta2, float Eps, float WeightDecay, int Step);

/// <summary>
/// The seam between the autograd ops and the hardware: memory (allocate, copy in and out, synchronise) and
/// one method per kernel family. <see cref="Ops"/> calls only this interface, so a CUDA backend can live in
/// its own project and be selected with <see cref="Backends.Default"/> without touching model code.
/// Forward methods write their outputs; backward methods accumulate into gradient tensors.
/// Integer inputs (token ids, targets) and masks are host spans; a device backend uploads them.
/// </summary>
public interface IBackend
{
    /// <summary>Short name, e.g. "cpu".</summary>
    string Name { get; }

    // --- memory ---
    /// <summary>Allocates storage for at least <paramref name="floats"/> values (contents undefined).</summary>
    Storage Allocate(long floats);
    /// <summary>Copies host values into a tensor.</summary>
    void CopyIn(Tensor dst, ReadOnlySpan<float> src);
    /// <summary>Copies a tensor's values to the host.</summary>
    void CopyOut(Tensor src, Span<float> dst);
    /// <summary>Waits for queued work (a no-op on the CPU).</summary>
    void Synchronize();

    // --- element-wise ---
    /// <summary>x = value.</summary>
    void Fill(Tensor x, float value);
    /// <summary>dst = src (same size).</summary>
    void Copy(Tensor dst, Tensor src);
    /// <summary>y += alpha · x (same size).</summary>
    void Axpy(Tensor y, Tensor x, float alpha);
    /// <summary>y = alpha · x (same size; may alias).</summary>
    void Scale(Tensor y, Tensor x, float alpha);
    /// <summary>y = a (op) broadcast(b).</summary>
    void Binary(BinaryOp op, Tensor y, Tensor a, Tensor b, BroadcastPlan plan);
    /// <summary>da += ∂y/∂a·dy, db += reduce(∂y/∂b·dy).</summary>
    void BinaryBackward(BinaryOp op, Tensor? da, Tensor? db, Tensor dy, Tensor a, Tensor b, BroadcastPlan plan);
    /// <summary>y (rows, cols) += bias (cols) on every row.</summary>
    void AddRowVector(Tensor y, Tensor bias);
    /// <summary>dsum (cols) += Σ over rows of x (rows, cols).</summary>
    void SumRows(Tensor dsum, Tensor x);
    /// <summary>y = GELU(x), tanh form.</summary>
    void Gelu(Tensor y, Tensor x);
    /// <summary>dx += dy · GELU'(x).</summary>
    void GeluBackward(Tensor dx, Tensor dy, Tensor x);
    /// <summary>y = sigmoid(x).</summary>
    void Sigmoid(Tensor y, Tensor x);
    /// <summary>dx += dy · y(1 − y).</summary>
    void SigmoidBackward(Tensor dx, Tensor dy, Tensor y);

    // --- matrix products ---
    /// <summary>c = alpha · op(a)·op(b) + beta · c.</summary>
    void MatMul(Tensor c, Tensor a, Tensor b, MatMulShape shape, float alpha, float beta);
    /// <summary>Inference-only linear layer with its epilogue fused into the GEMM: y = act(x·wᵀ + b) + residual
    /// over rows, w (out, in), act GELU or none; <paramref name="b"/> and <paramref name="residual"/> (y's shape,
    /// not y itself) may be null.</summary>
    void LinearFused(Tensor y, Tensor x, Tensor w, Tensor? b, bool gelu, Tensor? residual);

    // --- row-wise normalisations (rows of the last dimension) ---
    /// <summary>Softmax over the last dimension.</summary>
    void Softmax(Tensor y, Tensor x);
    /// <summary>dx += softmax backward, from output y.</summary>
    void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y);
    /// <summary>Layer norm over the last dimension; saves per-row mean and rstd.</summary>
    void LayerNorm(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor w, Tensor b, float eps);
    /// <summary>Layer-norm backward (any gradient may be null).</summary>
    void LayerNormBackward(Tensor? dx, Tensor? dw, Tensor? db, Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd);
    /// <summary>Inference-only layer norm in place of the <paramref name="segments"/> consecutive segments of
    /// w.Size floats that start at column <paramref name="offset"/> of every row of <paramref name="x"/> (qk_norm
    /// on packed [q | k | v] rows, one segment per head).</summary>
    void LayerNormSegmentsInPlace(Tensor x, int offset, int segments, Tensor w, Tensor b, float eps);
    /// <summary>y = x / max(‖x‖, eps) per row; saves the per-row divisor.</summary>
    void L2Normalize(Tensor y, Tensor norm, Tensor x, float eps);
    /// <summary>dx += L2-normalisation backward.</summary>
    void L2NormalizeBackward(Tensor dx, Tensor dy, Tensor y, Tensor norm, Tensor x, float eps);

    // --- attention ---
    /// <summary>Fused multi-head attention forward over packed qkv; saves logsumexp.</summary>
    void Attention(Tensor output, Tensor lse, Tensor qkv, AttentionShape shape);
    /// <summary>dqkv += attention backward.</summary>
    void AttentionBackward(Tensor dqkv, Tensor dout, Tensor qkv, Tensor output, Tensor lse, AttentionShape shape);
    /// <summary>Temporal attention of one new frame (packed qkv (B, 1, N, 3D)) over cached k/v (B, T_max, N, D)
    /// of <paramref name="past"/> frames; with <paramref name="commit"/> the frame's k/v join the cache.</summary>
    void AttentionDecode(Tensor output, Tensor qkv, Tensor kCache, Tensor vCache, int past, int heads, bool commit);
    /// <summary>Copies the k/v parts of full-clip packed qkv (B, T, N, 3D) into cache frames [0, T).</summary>
    void AttentionCacheFill(Tensor kCache, Tensor vCache, Tensor qkv);
    /// <summary>y = packed qkv rows x (…, 3D) with the pairs of the first <paramref name="ropeHeads"/> q and k heads
    /// rotated by the angles whose cosines and sines are <paramref name="cos"/>, <paramref name="sin"/> (period, hd/2) at
    /// the row's position (row mod period); y may be x.</summary>
    void Rotary(Tensor y, Tensor x, Tensor cos, Tensor sin, int heads, int ropeHeads);
    /// <summary>dx += rotary positions backward (the transposed rotation).</summary>
    void RotaryBackward(Tensor dx, Tensor dy, Tensor cos, Tensor sin, int heads, int ropeHeads);

    // --- losses and reductions ---
    /// <summary>Per-row cross-entropy (0 where masked out); saves logsumexp per row.</summary>
    void CrossEntropy(Tensor loss, Tensor lse, Tensor logits, ReadOnlySpan<int> targets, ReadOnlySpan<float> mask);
    /// <summary>dlogits += g·mask·(softmax − onehot).</summary>
    void CrossEntropyBackward(Tensor dlogits, Tensor logits, Tensor lse, ReadOnlySpan<int> targets, ReadOnlySpan<float> mask, float g);
    /// <summary>Σ (a − b)².</summary>
    double SquaredErrorSum(Tensor a, Tensor b);
    /// <summary>da += k(a − b); db −= k(a − b).</summary>
    void SquaredErrorBackward(Tensor? da, Tensor? db, Tensor a, Tensor b, float k);
    /// <summary>Σ x.</summary>
    double Sum(Tensor x);
    /// <summary>Σ x².</summary>
    double SumOfSquares(Tensor x);
    /// <summary>Index of the largest value in every row of the last dimension.</summary>
    void ArgMaxRows(Span<int> ids, Tensor x);

    // --- indexing and layout ---
    /// <summary>y[i] = table[ids[i]] (rows of the last dimension).</summary>
    void GatherRows(Tensor y, Tensor table, ReadOnlySpan<int> ids);
    /// <summary>dtable[ids[i]] += dy[i].</summary>
    void ScatterAddRows(Tensor dtable, Tensor dy, ReadOnlySpan<int> ids);
    /// <summary>Strided block copy (or accumulate) between two tensors, offsets and strides in floats.</summary>
    void CopyBlocks(Tensor dst, long dstOffset, long dstStride, Tensor src, long srcOffset, long srcStride, int blocks, int len, bool accumulate);
    /// <summary>y = permute(x) (or y += with accumulate); y's axis i is x's axis perm[i].</summary>
    void Permute(Tensor y, Tensor x, int[] perm, bool accumulate);

    // --- sampling (inference) ---
    /// <summary>MaskGIT's head for play: the linear layer <paramref name="weight"/> (K, D) + <paramref name="bias"/>,
    /// prepared once, whose logits are made and sampled only for the rows still to sample.</summary>
    IMaskedHead CreateMaskedHead(Tensor weight, Tensor? bias);

    // --- optimiser ---
    /// <summary>One AdamW step on a parameter with its gradient and moment buffers.</summary>
    void AdamW(Tensor p, Tensor g, Tensor m, Tensor v, AdamWStep step);
}

/// <summary>Selects the backend new tensors are created on.</summary>
public static class Backends
{
    /// <summary>The backend of <see cref="Tensor.Empty(int[])"/> and parameters. The CPU unless changed.</summary>
    public static IBackend Default { get; set; } = CpuBackend.Instance;
}
