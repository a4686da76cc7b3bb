using System.Numerics.Tensors;
using Genie.Engine.Parallel;

namespace Genie.Engine.Kernels;

/// <summary>
/// Row-wise normalisations: layer norm, softmax and L2 normalisation, forward and backward.
/// Rows are contiguous and <c>dim</c> long.
/// </summary>
public static unsafe class Normalization
{
    private static int RowsPerItem(int dim) => Math.Max(1, (1 << 14) / Math.Max(1, dim));

    // ------------------------------------------------------------------ layer norm

    /// <summary>
    /// y = (x − mean) · rstd · w + b per row, rstd = 1/√(var + eps) with the biased variance.
    /// Saves mean and rstd (one per row) for the backward pass.
    /// </summary>
    public static void LayerNormForward(float* y, float* mean, float* rstd, float* x, float* w, float* b, int rows, int dim, float eps) =>
        Rows(x, dim, y, dim, mean, rstd, w, b, rows, 1, dim, eps);

    /// <summary>
    /// Layer norm in place over <paramref name="segments"/> consecutive segments of <paramref name="dim"/> floats
    /// in each of <paramref name="rows"/> rows that lie <paramref name="rowStride"/> floats apart, with one shared
    /// weight and bias (inference only: saves nothing for a backward pass). This is qk_norm on packed
    /// <c>[q | k | v]</c> rows without slicing them apart: x points at the q (or k) part of row 0, segments
    /// are the heads.
    /// </summary>
    public static void LayerNormSegmentsInPlace(float* x, float* w, float* b, int rows, int rowStride, int segments, int dim, float eps) =>
        Rows(x, rowStride, x, rowStride, null, null, w, b, rows, segments, dim, eps);

    // Both layer norms: segments of dim floats in rows xStride (yStride) apart, y may be x. Vectorised over
    // whole vectors of the widest width dividing dim (scalar lanes otherwise): sum, centred sum of squares,
    // then one fused normalise-scale-shift pass, all on registers. Mean and rstd are saved when non-null.
    private static void Rows(float* x, int xStride, float* y, int yStride, float* mean, float* rstd, float* w, float* b,
        int rows, int segments, int dim, float eps)
    {
        int bits = SimdPath.Bits;
        if (bits >= 512 && dim % 16 == 0) Rows<System.Runtime.Intrinsics.Vector512<float>, V512>(x, xStride, y, yStride, mean, rstd, w, b, rows, segments, dim, eps);
        else if (bits >= 256 && dim % 8 == 0) Rows<System.Runtime.Intrinsics.Vector256<float>, V256>(x, xStride, y, yStride, mean, rstd, w, b, rows, segments, dim, eps);
        else if (bits >= 128 && dim % 4 == 0) Rows<System.Runtime.Intrinsics.Vector128<float>, V128>(x, xStride, y, yStride, mean, rstd, w, b, rows, segments, dim, eps);
        else Rows<float, V1>(x, xStride, y, yStride, mean, rstd, w, b, rows, segments, dim, eps);
    }

    private static void Rows<TV, TOps>(float* x, int xStride, float* y, int yStride, float* mean, float* rstd, float* w, float* b,
        int rows, int segments, int dim, float eps)
        where TV : unmanaged where TOps : struct, IVec<TV>
    {
        float invDim = 1f / dim;
        Workers.ForRange(rows, RowsPerItem(segments * dim), (s, e) =>
        {
            for (int r = s; r < e; r++)
                for (int g = 0; g < segments; g++)
                {
                    float* xs = x + (long)r * xStride + (long)g * dim;
                    float* ys = y + (long)r * yStride + (long)g * dim;
                    var acc = TOps.Zero;
                    for (int c = 0; c < dim; c += TOps.Width) acc = TOps.Add(acc, TOps.Load(xs + c));
                    float m = TOps.SumAcross(acc) * invDim;
                    var vm = TOps.Create(m);
                    var sq = TOps.Zero;
                    for (int c = 0; c < dim; c += TOps.Width) { var d = TOps.Sub(TOps.Load(xs + c), vm); sq = TOps.Fma(d, d, sq); }
                    float rs = 1f / MathF.Sqrt(TOps.SumAcross(sq) * invDim + eps);
                    var vr = TOps.Create(rs);
                    for (int c = 0; c < dim; c += TOps.Width)
                    {
                        var xh = TOps.Mul(TOps.Sub(TOps.Load(xs + c), vm), vr);
                        TOps.Store(TOps.Fma(xh, TOps.Load(w + c), TOps.Load(b + c)), ys + c);
                    }
                    if (mean != null) { long i = (long)r * segments + g; mean[i] = m; rstd[i] = rs; }
                }
        });
    }

    /// <summary>
    /// Backward of layer norm: dx += rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·w; dw += Σ dy·x̂; db += Σ dy.
    /// dw and db are reduced over a fixed number of row chunks, then summed in order.
    /// </summary>
    public static void LayerNormBackward(float* dx, float* dw, float* db, float* dy, float* x, float* w, float* mean, float* rstd, int rows, int dim)
    {
        int chunks = Math.Clamp(rows / 32, 1, 16);
        var partial = new float[2 * chunks * dim];
        fixed (float* part = partial)
        {
            float* pb = part;
            Workers.For(chunks, c =>
            {
                int s = (int)((long)rows * c / chunks), e = (int)((long)rows * (c + 1) / chunks);
                var pdw = new Span<float>(pb + (long)2 * c * dim, dim);
                var pdb = new Span<float>(pb + (long)(2 * c + 1) * dim, dim);
                var xhat = new float[dim];
                var g = new float[dim];
                var ws = new ReadOnlySpan<float>(w, dim);
                for (int r = s; r < e; r++)
                {
                    var xs = new ReadOnlySpan<float>(x + (long)r * dim, dim);
                    var dys = new ReadOnlySpan<float>(dy + (long)r * dim, dim);
                    TensorPrimitives.Subtract(xs, mean[r], xhat);
                    TensorPrimitives.Multiply(xhat, rstd[r], xhat);
                    TensorPrimitives.Multiply(dys, ws, g);
                    float gMean = TensorPrimitives.Sum(g) / dim;
                    float gxMean = TensorPrimitives.Dot(g, xhat) / dim;
                    if (dx != null)
                    {
                        var dxs = new Span<float>(dx + (long)r * dim, dim);
                        // dx += rstd·(g − gMean − x̂·gxMean)
                        for (int i = 0; i < dim; i++) dxs[i] += rstd[r] * (g[i] - gMean - xhat[i] * gxMean);
                    }
                    TensorPrimitives.FusedMultiplyAdd(dys, xhat, pdw, pdw);
                    TensorPrimitives.Add(pdb, dys, pdb);
                }
            });
            for (int c = 0; c < chunks; c++)
            {
                if (dw != null) TensorPrimitives.Add(new Span<float>(dw, dim), new ReadOnlySpan<float>(pb + (long)2 * c * dim, dim), new Span<float>(dw, dim));
                if (db != null) TensorPrimitives.Add(new Span<float>(db, dim), new ReadOnlySpan<float>(pb + (long)(2 * c + 1) * dim, dim), new Span<float>(db, dim));
            }
        }
    }

    // ------------------------------------------------------------------ softmax

    /// <summary>y = softmax(x) over each row.</summary>
    public static void SoftmaxForward(float* y, float* x, int rows, int dim) =>
        Workers.ForRange(rows, RowsPerItem(dim), (s, e) =>
        {
            for (int r = s; r < e; r++)
                TensorPrimitives.SoftMax(new ReadOnlySpan<float>(x + (long)r * dim, dim), new Span<float>(y + (long)r * dim, dim));
        });

    /// <summary>dx += y ⊙ (dy − Σ dy⊙y), from the forward output y.</summary>
    public static void SoftmaxBackward(float* dx, float* dy, float* y, int rows, int dim) =>
        Workers.ForRange(rows, RowsPerItem(dim), (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                long o = (long)r * dim;
                var ys = new ReadOnlySpan<float>(y + o, dim);
                var dys = new ReadOnlySpan<float>(dy + o, dim);
                float dot = TensorPrimitives.Dot(ys, dys);
                for (int i = 0; i < dim; i++) dx[o + i] += ys[i] * (dys[i] - dot);
            }
        });

    // ------------------------------------------------------------------ L2 normalisation

    /// <summary>y = x / max(‖x‖, eps) per row; saves the divisor in <paramref name="norm"/>.</summary>
    public static void L2NormalizeForward(float* y, float* norm, float* x, int rows, int dim, float eps) =>
        Workers.ForRange(rows, RowsPerItem(dim), (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                var xs = new ReadOnlySpan<float>(x + (long)r * dim, dim);
                float n = MathF.Max(MathF.Sqrt(TensorPrimitives.Dot(xs, xs)), eps);
                norm[r] = n;
                TensorPrimitives.Multiply(xs, 1f / n, new Span<float>(y + (long)r * dim, dim));
            }
        });

    /// <summary>dx += (dy − y·(y·dy)) / norm (or dy / eps where the norm was clamped).</summary>
    public static void L2NormalizeBackward(float* dx, float* dy, float* y, float* norm, float* x, int rows, int dim, float eps) =>
        Workers.ForRange(rows, RowsPerItem(dim), (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                long o = (long)r * dim;
                var ys = new ReadOnlySpan<float>(y + o, dim);
                var dys = new ReadOnlySpan<float>(dy + o, dim);
                var xs = new ReadOnlySpan<float>(x + o, dim);
                float inv = 1f / norm[r];
                bool clamped = MathF.Sqrt(TensorPrimitives.Dot(xs, xs)) < eps;
                float dot = clamped ? 0f : TensorPrimitives.Dot(ys, dys);
                for (int i = 0; i < dim; i++) dx[o + i] += (dys[i] - ys[i] * dot) * inv;
            }
        });
}

/// <summary>Scalar double-precision oracles for <see cref="Normalization"/>.</summary>
internal static unsafe class NormalizationReference
{
    /// <summary>Layer norm, plain loops.</summary>
    public static void LayerNormForward(float* y, float* x, float* w, float* b, int rows, int dim, float eps)
    {
        for (int r = 0; r < rows; r++)
        {
            float* xr = x + (long)r * dim;
            double m = 0; for (int i = 0; i < dim; i++) m += xr[i];
            m /= dim;
            double v = 0; for (int i = 0; i < dim; i++) v += (xr[i] - m) * (xr[i] - m);
            v /= dim;
            double rs = 1 / Math.Sqrt(v + eps);
            for (int i = 0; i < dim; i++) y[(long)r * dim + i] = (float)((xr[i] - m) * rs * w[i] + b[i]);
        }
    }

    /// <summary>Softmax, plain loops.</summary>
    public static void SoftmaxForward(float* y, float* x, int rows, int dim)
    {
        for (int r = 0; r < rows; r++)
        {
            float* xr = x + (long)r * dim;
            double mx = double.NegativeInfinity; for (int i = 0; i < dim; i++) mx = Math.Max(mx, xr[i]);
            double s = 0; for (int i = 0; i < dim; i++) s += Math.Exp(xr[i] - mx);
            for (int i = 0; i < dim; i++) y[(long)r * dim + i] = (float)(Math.Exp(xr[i] - mx) / s);
        }
    }
}
