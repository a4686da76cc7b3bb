using System.Numerics.Tensors;
using Genie.Engine.Parallel;

namespace Genie.Engine.Kernels;

/// <summary>Binary element-wise operations that support broadcasting.</summary>
public enum BinaryOp
{
    /// <summary>y = a + b</summary>
    Add,
    /// <summary>y = a − b</summary>
    Subtract,
    /// <summary>y = a · b</summary>
    Multiply,
}

/// <summary>
/// How a tensor <c>b</c> broadcasts onto a tensor <c>a</c> of at least its rank (numpy rules, shapes aligned
/// on the right, every dimension of b equal to a's or 1). The elements of a are walked in blocks of
/// <see cref="Inner"/>: within a block b is either contiguous (<see cref="InnerBroadcast"/> false) or one
/// repeated value (true); <see cref="OffsetB"/> maps a block to b's offset.
/// </summary>
public sealed class BroadcastPlan
{
    /// <summary>Elements per block.</summary>
    public readonly int Inner;
    /// <summary>Number of blocks (a.Size / Inner).</summary>
    public readonly int Blocks;
    /// <summary>True if b is constant within a block.</summary>
    public readonly bool InnerBroadcast;
    private readonly int[] _dims;     // a's dims outside the inner block, outermost first
    private readonly int[] _bStrides; // b's stride for each of those dims (0 where broadcast)

    /// <summary>Builds the plan, or throws with both shapes if b cannot broadcast to a.</summary>
    public BroadcastPlan(int[] aShape, int[] bShape)
    {
        int ra = aShape.Length, rb = bShape.Length;
        if (rb > ra) throw Mismatch(aShape, bShape);
        var bFull = new int[ra];
        for (int d = 0; d < ra; d++) bFull[d] = d < ra - rb ? 1 : bShape[d - (ra - rb)];
        for (int d = 0; d < ra; d++)
            if (bFull[d] != aShape[d] && bFull[d] != 1) throw Mismatch(aShape, bShape);

        // b's contiguous strides, 0 on broadcast dims.
        var stride = new int[ra];
        int s = 1;
        for (int d = ra - 1; d >= 0; d--)
        {
            stride[d] = bFull[d] == aShape[d] && aShape[d] != 1 ? s : 0;
            s *= bFull[d];
        }

        // Inner block: the trailing run of dims sharing the last dim's status.
        // Size-1 dims of a never change status, so they are absorbed into whichever run they sit in.
        int last = ra - 1;
        while (last > 0 && aShape[last] == 1) last--;
        bool bcast = stride[last] == 0;
        int first = last;
        while (first > 0 && (aShape[first - 1] == 1 || (stride[first - 1] == 0) == bcast)) first--;
        long inner = 1;
        for (int d = first; d < ra; d++) inner *= aShape[d];
        Inner = (int)inner;
        InnerBroadcast = bcast && inner > 1 || Tensor.ShapeSize(bShape) == 1;
        Blocks = Inner == 0 ? 0 : Tensor.ShapeSize(aShape) / Inner;
        _dims = aShape[..first];
        _bStrides = stride[..first];
        if (Tensor.ShapeSize(bShape) == 1) { Inner = Tensor.ShapeSize(aShape); Blocks = Inner == 0 ? 0 : 1; _dims = []; _bStrides = []; InnerBroadcast = true; }
    }

    /// <summary>Offset into b of block <paramref name="block"/>.</summary>
    public int OffsetB(int block)
    {
        int off = 0;
        for (int d = _dims.Length - 1; d >= 0; d--)
        {
            int dim = _dims[d];
            off += block % dim * _bStrides[d];
            block /= dim;
        }
        return off;
    }

    private static ArgumentException Mismatch(int[] a, int[] b) =>
        new($"shape {Tensor.Format(b)} cannot broadcast to shape {Tensor.Format(a)}");
}

/// <summary>Element-wise kernels. Forward kernels write, backward kernels accumulate (see README).</summary>
public static unsafe class Elementwise
{
    private const int Grain = 1 << 15; // elements per parallel work item

    /// <summary>x[i] = value. Single-threaded: a store stream is memory-bound, and one core already fills at
    /// tens of GB/s, faster than waking a second thread for the sizes a step uses.</summary>
    public static void Fill(float* x, long n, float value)
    {
        for (long i = 0; i < n; i += int.MaxValue / 2)
        {
            var span = new Span<float>(x + i, (int)Math.Min(n - i, int.MaxValue / 2));
            if (value == 0f && !float.IsNegative(value)) span.Clear();   // memset: several times Fill's speed
            else span.Fill(value);
        }
    }

    /// <summary>y[i] = x[i].</summary>
    public static void Copy(float* y, float* x, long n) =>
        Buffer.MemoryCopy(x, y, n * 4, n * 4);

    /// <summary>y[i] += alpha · x[i].</summary>
    public static void Axpy(float* y, float* x, float alpha, int n)
    {
        if (n < Grain) { AxpySerial(y, x, alpha, n); return; }
        Workers.ForRange(n, Grain, (s, e) => AxpySerial(y + s, x + s, alpha, e - s));
    }

    private static void AxpySerial(float* y, float* x, float alpha, int n)
    {
        var ys = new Span<float>(y, n);
        if (alpha == 1f) TensorPrimitives.Add(ys, new ReadOnlySpan<float>(x, n), ys);
        else TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(x, n), alpha, ys, ys);
    }

    /// <summary>y[i] = alpha · x[i] (y may alias x).</summary>
    public static void Scale(float* y, float* x, float alpha, int n) =>
        Workers.ForRange(n, Grain, (s, e) => TensorPrimitives.Multiply(new ReadOnlySpan<float>(x + s, e - s), alpha, new Span<float>(y + s, e - s)));

    // ------------------------------------------------------------------ broadcasting binary ops

    /// <summary>y = a (op) broadcast(b); y and a have a's shape.</summary>
    public static void BinaryForward(BinaryOp op, float* y, float* a, float* b, BroadcastPlan plan)
    {
        int inner = plan.Inner;
        int blocksPerItem = Math.Max(1, Grain / Math.Max(1, inner));
        Workers.ForRange(plan.Blocks, blocksPerItem, (s, e) =>
        {
            for (int blk = s; blk < e; blk++)
            {
                var ys = new Span<float>(y + (long)blk * inner, inner);
                var xs = new ReadOnlySpan<float>(a + (long)blk * inner, inner);
                float* bp = b + plan.OffsetB(blk);
                if (plan.InnerBroadcast)
                {
                    float bv = *bp;
                    switch (op)
                    {
                        case BinaryOp.Add: TensorPrimitives.Add(xs, bv, ys); break;
                        case BinaryOp.Subtract: TensorPrimitives.Subtract(xs, bv, ys); break;
                        default: TensorPrimitives.Multiply(xs, bv, ys); break;
                    }
                }
                else
                {
                    var bs = new ReadOnlySpan<float>(bp, inner);
                    switch (op)
                    {
                        case BinaryOp.Add: TensorPrimitives.Add(xs, bs, ys); break;
                        case BinaryOp.Subtract: TensorPrimitives.Subtract(xs, bs, ys); break;
                        default: TensorPrimitives.Multiply(xs, bs, ys); break;
                    }
                }
            }
        });
    }

    /// <summary>
    /// Backward of <see cref="BinaryForward"/>: da += ∂/∂a, db += ∂/∂b reduced over the broadcast
    /// dimensions. Either gradient may be null. a and b are the forward inputs (needed for multiply only).
    /// </summary>
    public static void BinaryBackward(BinaryOp op, float* da, float* db, float* dy, float* a, float* b, BroadcastPlan plan, int bSize)
    {
        int inner = plan.Inner;
        int blocks = plan.Blocks;
        if (da != null)
        {
            int blocksPerItem = Math.Max(1, Grain / Math.Max(1, inner));
            Workers.ForRange(blocks, blocksPerItem, (s, e) =>
            {
                for (int blk = s; blk < e; blk++)
                {
                    long o = (long)blk * inner;
                    var das = new Span<float>(da + o, inner);
                    var dys = new ReadOnlySpan<float>(dy + o, inner);
                    if (op != BinaryOp.Multiply) { TensorPrimitives.Add(das, dys, das); continue; }
                    float* bp = b + plan.OffsetB(blk);
                    if (plan.InnerBroadcast) TensorPrimitives.MultiplyAdd(dys, *bp, das, das);
                    else TensorPrimitives.MultiplyAdd(dys, new ReadOnlySpan<float>(bp, inner), das, das);
                }
            });
        }
        if (db == null) return;
        // db: every block adds into db at its offset. Blocks are split into a fixed number of chunks
        // (a function of the sizes only); each chunk reduces into its own partial, partials are summed in order.
        float sign = op == BinaryOp.Subtract ? -1f : 1f;
        int chunks = Math.Clamp(blocks / 64, 1, 16);
        if ((long)chunks * bSize > 1 << 24) chunks = 1;
        var partial = chunks == 1 ? null : new float[(long)chunks * bSize];
        fixed (float* part = partial)
        {
            float* partBase = part;
            Workers.For(chunks, c =>
            {
                float* acc = chunks == 1 ? db : partBase + (long)c * bSize;
                int s = (int)((long)blocks * c / chunks), e = (int)((long)blocks * (c + 1) / chunks);
                for (int blk = s; blk < e; blk++)
                {
                    long o = (long)blk * inner;
                    var dys = new ReadOnlySpan<float>(dy + o, inner);
                    float* accp = acc + plan.OffsetB(blk);
                    if (plan.InnerBroadcast)
                    {
                        float v = op == BinaryOp.Multiply ? TensorPrimitives.Dot(dys, new ReadOnlySpan<float>(a + o, inner)) : TensorPrimitives.Sum(dys);
                        *accp += sign * v;
                    }
                    else
                    {
                        var accs = new Span<float>(accp, inner);
                        if (op == BinaryOp.Multiply) TensorPrimitives.FusedMultiplyAdd(dys, new ReadOnlySpan<float>(a + o, inner), accs, accs);
                        else if (sign > 0) TensorPrimitives.Add(accs, dys, accs);
                        else TensorPrimitives.Subtract(accs, dys, accs);
                    }
                }
            });
            if (chunks > 1)
                for (int c = 0; c < chunks; c++)
                    TensorPrimitives.Add(new Span<float>(db, bSize), new ReadOnlySpan<float>(partBase + (long)c * bSize, bSize), new Span<float>(db, bSize));
        }
    }

    // ------------------------------------------------------------------ bias rows

    /// <summary>y[r, :] += bias[:] for r in [0, rows).</summary>
    public static void AddRowVector(float* y, float* bias, int rows, int cols)
    {
        int rowsPerItem = Math.Max(1, Grain / Math.Max(1, cols));
        Workers.ForRange(rows, rowsPerItem, (s, e) =>
        {
            var bsp = new ReadOnlySpan<float>(bias, cols);
            for (int r = s; r < e; r++)
            {
                var ys = new Span<float>(y + (long)r * cols, cols);
                TensorPrimitives.Add(ys, bsp, ys);
            }
        });
    }

    /// <summary>dsum[:] += Σ_r x[r, :]. Columns are split across threads; rows are summed in order.</summary>
    public static void SumRows(float* dsum, float* x, int rows, int cols)
    {
        const int colBlock = 64;
        int items = (cols + colBlock - 1) / colBlock;
        Workers.For(items, it =>
        {
            int c0 = it * colBlock, n = Math.Min(colBlock, cols - c0);
            var acc = new Span<float>(dsum + c0, n);
            for (int r = 0; r < rows; r++) TensorPrimitives.Add(acc, new ReadOnlySpan<float>(x + (long)r * cols + c0, n), acc);
        });
    }

    // ------------------------------------------------------------------ activations

    private const float GeluC = 0.7978845608028654f; // sqrt(2/pi)
    private const float GeluA = 0.044715f;

    /// <summary>
    /// y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) — the tanh form of GELU. One pass over x in whole vectors,
    /// with tanh(u) = 1 − 2/(exp(2u) + 1) on the kernels' vector exp; the ragged tail in scalar code.
    /// </summary>
    public static void GeluForward(float* y, float* x, int n)
    {
        int bits = SimdPath.Bits;
        if (bits >= 512) GeluVector<System.Runtime.Intrinsics.Vector512<float>, V512>(y, x, n);
        else if (bits >= 256) GeluVector<System.Runtime.Intrinsics.Vector256<float>, V256>(y, x, n);
        else if (bits >= 128) GeluVector<System.Runtime.Intrinsics.Vector128<float>, V128>(y, x, n);
        else GeluVector<float, V1>(y, x, n);
    }

    private static void GeluVector<TV, TOps>(float* y, float* x, int n) where TV : unmanaged where TOps : struct, IVec<TV>
    {
        Workers.ForRange(n, Grain, (s, e) =>
        {
            int i = s;
            for (; i + TOps.Width <= e; i += TOps.Width) TOps.Store(Gelu<TV, TOps>(TOps.Load(x + i)), y + i);
            for (; i < e; i++) y[i] = Gelu(x[i]);
        });
    }

    /// <summary>GELU (tanh form) of each lane; what <see cref="GeluForward"/> computes on whole vectors.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static TV Gelu<TV, TOps>(TV v) where TV : unmanaged where TOps : struct, IVec<TV>
    {
        var one = TOps.Create(1f);
        var u = TOps.Mul(v, TOps.Fma(TOps.Mul(v, v), TOps.Create(GeluA * GeluC), TOps.Create(GeluC))); // √(2/π)·(x + 0.044715·x³)
        var ex = TOps.Exp(TOps.Add(u, u));
        var t = TOps.Sub(one, TOps.Div(TOps.Create(2f), TOps.Add(ex, one)));                          // tanh(u)
        return TOps.Mul(TOps.Mul(TOps.Create(0.5f), v), TOps.Add(one, t));
    }

    /// <summary>GELU (tanh form) of one value; what <see cref="GeluForward"/> computes on a ragged tail.</summary>
    internal static float Gelu(float v) => 0.5f * v * (1f + MathF.Tanh(GeluC * (v + GeluA * v * v * v)));

    /// <summary>
    /// dx += dy · GELU'(x), with GELU'(x) = ½(1 + t) + ½·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²),
    /// t = tanh(√(2/π)(x + 0.044715·x³)). Vectorised in chunks through TensorPrimitives.
    /// </summary>
    public static void GeluBackward(float* dx, float* dy, float* x, int n) =>
        Workers.ForRange(n, Grain, (s, e) =>
        {
            const int chunk = 1024;
            Span<float> a = stackalloc float[chunk], t = stackalloc float[chunk], b = stackalloc float[chunk];
            for (int i = s; i < e; i += chunk)
            {
                int m = Math.Min(chunk, e - i);
                var xs = new ReadOnlySpan<float>(x + i, m);
                Span<float> A = a[..m], T = t[..m], B = b[..m];
                TensorPrimitives.Multiply(xs, xs, A);                  // x²
                TensorPrimitives.Multiply(A, GeluA, T);
                TensorPrimitives.Add(T, 1f, T);                        // 1 + a·x²
                TensorPrimitives.Multiply(T, xs, T);                   // x + a·x³
                TensorPrimitives.Multiply(T, GeluC, T);
                TensorPrimitives.Tanh(T, T);                           // t
                TensorPrimitives.Multiply(A, 3f * GeluA, B);
                TensorPrimitives.Add(B, 1f, B);                        // 1 + 3a·x²
                TensorPrimitives.Multiply(B, xs, B);
                TensorPrimitives.Multiply(B, 0.5f * GeluC, B);         // ½·c·x·(1 + 3a·x²)
                TensorPrimitives.Multiply(T, T, A);
                TensorPrimitives.Subtract(1f, A, A);                   // 1 − t²
                TensorPrimitives.Multiply(B, A, B);
                TensorPrimitives.Multiply(T, 0.5f, T);
                TensorPrimitives.Add(T, 0.5f, T);                      // ½(1 + t)
                TensorPrimitives.Add(B, T, B);                         // GELU'(x)
                var dxs = new Span<float>(dx + i, m);
                TensorPrimitives.FusedMultiplyAdd(new ReadOnlySpan<float>(dy + i, m), B, dxs, dxs);
            }
        });

    /// <summary>y = 1 / (1 + e^−x).</summary>
    public static void SigmoidForward(float* y, float* x, int n) =>
        Workers.ForRange(n, Grain, (s, e) => TensorPrimitives.Sigmoid(new ReadOnlySpan<float>(x + s, e - s), new Span<float>(y + s, e - s)));

    /// <summary>dx += dy · y · (1 − y), from the forward output y.</summary>
    public static void SigmoidBackward(float* dx, float* dy, float* y, int n) =>
        Workers.ForRange(n, Grain, (s, e) =>
        {
            for (int i = s; i < e; i++) dx[i] += dy[i] * y[i] * (1f - y[i]);
        });
}

/// <summary>Scalar oracles for the element-wise kernels.</summary>
internal static unsafe class ElementwiseReference
{
    /// <summary>Scalar GELU (tanh form), in double precision.</summary>
    public static void GeluForward(float* y, float* x, int n)
    {
        for (int i = 0; i < n; i++)
        {
            double v = x[i];
            y[i] = (float)(0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))));
        }
    }

    /// <summary>Scalar sigmoid.</summary>
    public static void SigmoidForward(float* y, float* x, int n)
    {
        for (int i = 0; i < n; i++) y[i] = (float)(1 / (1 + Math.Exp(-x[i])));
    }
}
