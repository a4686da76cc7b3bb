using Genie.Engine.Autograd;
using Genie.Engine.Backend;

namespace Genie.Engine;

public static partial class Ops
{
    /// <summary>
    /// Batched matrix product op(a)·op(b). a is (..., M, K), or (..., K, M) with <paramref name="transA"/>;
    /// b is (K, N) shared by every batch entry, or (..., K, N) with the same batch dimensions as a
    /// ((N, K) / (..., N, K) with <paramref name="transB"/>). The result is (..., M, N).
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        if (a.Rank < 2 || b.Rank < 2) throw new ArgumentException($"matmul needs matrices, got {a.ShapeString} and {b.ShapeString}");
        int m = transA ? a.Shape[^1] : a.Shape[^2];
        int k = transA ? a.Shape[^2] : a.Shape[^1];
        int kb = transB ? b.Shape[^1] : b.Shape[^2];
        int n = transB ? b.Shape[^2] : b.Shape[^1];
        if (k != kb) throw new ArgumentException($"matmul inner dimensions differ: {a.ShapeString}{(transA ? "ᵀ" : "")} · {b.ShapeString}{(transB ? "ᵀ" : "")}");
        int batch = a.Size / (m * k == 0 ? 1 : m * k);
        bool shared = b.Rank == 2;
        if (!shared && (b.Rank != a.Rank || !a.Shape.AsSpan(0, a.Rank - 2).SequenceEqual(b.Shape.AsSpan(0, b.Rank - 2))))
            throw new ArgumentException($"matmul batch dimensions differ: {a.ShapeString} · {b.ShapeString}");

        var outShape = (int[])a.Shape.Clone();
        outShape[^2] = m;
        outShape[^1] = n;
        var c = Tensor.Empty(outShape);
        var be = a.Backend;

        // A shared B with an untransposed batch of A is one tall product: (batch·M, K)·(K, N).
        if (shared && !transA) be.MatMul(c, a, b, new MatMulShape(false, transB, 1, batch * m, n, k, 0, 0, 0), 1f, 0f);
        else be.MatMul(c, a, b, new MatMulShape(transA, transB, batch, m, n, k, (long)m * k, shared ? 0 : (long)k * n, (long)m * n), 1f, 0f);

        if (Tape.ShouldRecord(a, b))
            Tape.Record("matmul", c, () =>
            {
                var dc = c.Grad!;
                if (a.RequiresGrad)
                {
                    var da = a.GradOrZeros();
                    if (!transA)
                    {
                        // dA (M,K) += dC (M,N) · op(B)ᵀ
                        if (shared) be.MatMul(da, dc, b, new MatMulShape(false, !transB, 1, batch * m, k, n, 0, 0, 0), 1f, 1f);
                        else be.MatMul(da, dc, b, new MatMulShape(false, !transB, batch, m, k, n, (long)m * n, (long)n * k, (long)m * k), 1f, 1f);
                    }
                    else
                    {
                        // dA stored (K,M) += op(B) · dCᵀ
                        be.MatMul(da, b, dc, new MatMulShape(transB, true, batch, k, m, n, shared ? 0 : (long)k * n, (long)m * n, (long)k * m), 1f, 1f);
                    }
                }
                if (b.RequiresGrad)
                {
                    var db = b.GradOrZeros();
                    if (shared)
                    {
                        // Shared B: its gradient sums over the batch.
                        if (!transA)
                        {
                            if (!transB) be.MatMul(db, a, dc, new MatMulShape(true, false, 1, k, n, batch * m, 0, 0, 0), 1f, 1f);
                            else be.MatMul(db, dc, a, new MatMulShape(true, false, 1, n, k, batch * m, 0, 0, 0), 1f, 1f);
                        }
                        else
                        {
                            // Rare: transposed batched A with a shared B; accumulate one batch entry at a time.
                            for (int i = 0; i < batch; i++) AccumulateSharedGradTransA(be, db, a, dc, i, m, n, k, transB);
                        }
                    }
                    else
                    {
                        if (!transB)
                            // dB (K,N) += op(A)ᵀ · dC
                            be.MatMul(db, a, dc, new MatMulShape(!transA, false, batch, k, n, m, (long)m * k, (long)m * n, (long)k * n), 1f, 1f);
                        else
                            // dB stored (N,K) += dCᵀ · op(A)
                            be.MatMul(db, dc, a, new MatMulShape(true, transA, batch, n, k, m, (long)m * n, (long)m * k, (long)n * k), 1f, 1f);
                    }
                }
            });
        return c;
    }

    private static void AccumulateSharedGradTransA(IBackend be, Tensor db, Tensor a, Tensor dc, int i, int m, int n, int k, bool transB)
    {
        // A_i stored (K, M) at offset i·K·M, dC_i (M, N) at offset i·M·N.
        var ai = Sub2(a, (long)i * k * m, [k, m]);
        var dci = Sub2(dc, (long)i * m * n, [m, n]);
        if (!transB) be.MatMul(db, ai, dci, new MatMulShape(false, false, 1, k, n, m, 0, 0, 0), 1f, 1f);
        else be.MatMul(db, dci, ai, new MatMulShape(true, true, 1, n, k, m, 0, 0, 0), 1f, 1f);
    }

    private static Tensor Sub2(Tensor t, long offset, int[] shape)
    {
        var flat = t.View([t.Size]);
        return flat.RowsView((int)offset, Tensor.ShapeSize(shape)).View(shape);
    }

    /// <summary>
    /// y = x·Wᵀ + b, with x (..., in), W (out, in) as PyTorch stores it, b (out) or null; y is (..., out).
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor w, Tensor? b)
    {
        if (!Tape.ShouldRecord(x, w, b)) return Linear(x, w, b, false, null); // inference: the bias joins the GEMM's store
        var outShape = LinearOutputShape(x, w, b);
        int inF = w.Shape[1], outF = w.Shape[0], rows = x.Size / inF;
        var y = Tensor.Empty(outShape);
        var be = x.Backend;
        be.MatMul(y, x, w, new MatMulShape(false, true, 1, rows, outF, inF, 0, 0, 0), 1f, 0f);
        if (b is not null) be.AddRowVector(y, b);
        Tape.Record("linear", y, () =>
        {
            var dy = y.Grad!;
            if (x.RequiresGrad) be.MatMul(x.GradOrZeros(), dy, w, new MatMulShape(false, false, 1, rows, inF, outF, 0, 0, 0), 1f, 1f);
            if (w.RequiresGrad) be.MatMul(w.GradOrZeros(), dy, x, new MatMulShape(true, false, 1, outF, inF, rows, 0, 0, 0), 1f, 1f);
            if (b is not null && b.RequiresGrad) be.SumRows(b.GradOrZeros(), dy);
        });
        return y;
    }

    /// <summary>
    /// A linear layer with what follows it: act(x·Wᵀ + b) + residual, act GELU (tanh) when <paramref name="gelu"/>,
    /// <paramref name="residual"/> (the output's shape) optional. When no input records gradients (inference) it is
    /// one GEMM whose epilogue adds the bias, applies GELU and adds the residual on each tile while it is in cache;
    /// otherwise the same is composed from <see cref="Linear(Tensor, Tensor, Tensor?)"/>, <see cref="Gelu"/> and
    /// <see cref="Add"/> so that backward works. Both give the same values (bit for bit on whole vectors).
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor w, Tensor? b, bool gelu, Tensor? residual)
    {
        if (Tape.ShouldRecord(x, w, b, residual))
        {
            var y = Linear(x, w, b);
            if (gelu) y = Gelu(y);
            return residual is null ? y : Add(residual, y);
        }
        var outShape = LinearOutputShape(x, w, b);
        if (residual is not null && !residual.Shape.AsSpan().SequenceEqual(outShape))
            throw new ArgumentException($"linear: residual {residual.ShapeString} does not match the output ({string.Join(", ", outShape)})");
        var result = Tensor.Empty(outShape);
        x.Backend.LinearFused(result, x, w, b, gelu, residual);
        return result;
    }

    // (..., out) for x (..., in), w (out, in) and b (out) or null; a clear error when they do not fit.
    private static int[] LinearOutputShape(Tensor x, Tensor w, Tensor? b)
    {
        if (w.Rank != 2 || x.Shape[^1] != w.Shape[1]) throw new ArgumentException($"linear: input {x.ShapeString} does not match weight {w.ShapeString} (out, in)");
        if (b is not null && (b.Rank != 1 || b.Shape[0] != w.Shape[0])) throw new ArgumentException($"linear: bias {b.ShapeString} does not match weight {w.ShapeString}");
        var outShape = (int[])x.Shape.Clone();
        outShape[^1] = w.Shape[0];
        return outShape;
    }
}
