using Genie.Engine.Autograd;
using Genie.Engine.Kernels;

namespace Genie.Engine;

public static partial class Ops
{
    /// <summary>Layer norm over the last dimension with learned weight and bias (ARCHITECTURE.md §2: eps 1e-5).</summary>
    public static Tensor LayerNorm(Tensor x, Tensor w, Tensor b, float eps = 1e-5f)
    {
        int dim = x.Shape[^1];
        if (w.Size != dim || b.Size != dim) throw new ArgumentException($"layer norm: weight {w.ShapeString} / bias {b.ShapeString} do not match input {x.ShapeString}");
        int rows = x.Size / dim;
        var y = Tensor.Empty(x.Shape);
        var mean = Tensor.Empty(rows);
        var rstd = Tensor.Empty(rows);
        x.Backend.LayerNorm(y, mean, rstd, x, w, b, eps);
        if (Tape.ShouldRecord(x, w) || Tape.ShouldRecord(b))
            Tape.Record("layernorm", y, () => x.Backend.LayerNormBackward(
                x.RequiresGrad ? x.GradOrZeros() : null, w.RequiresGrad ? w.GradOrZeros() : null, b.RequiresGrad ? b.GradOrZeros() : null,
                y.Grad!, x, w, mean, rstd));
        return y;
    }

    /// <summary>Each row of the last dimension divided by its L2 norm (clamped below by eps).</summary>
    public static Tensor L2Normalize(Tensor x, float eps = 1e-12f)
    {
        int rows = x.Size / x.Shape[^1];
        var y = Tensor.Empty(x.Shape);
        var norm = Tensor.Empty(rows);
        x.Backend.L2Normalize(y, norm, x, eps);
        if (Tape.ShouldRecord(x))
            Tape.Record("l2normalize", y, () => x.Backend.L2NormalizeBackward(x.GradOrZeros(), y.Grad!, y, norm, x, eps));
        return y;
    }

    /// <summary>
    /// Fused multi-head attention over packed <c>[q | k | v]</c> rows (width 3·D): softmax(q·kᵀ/√hd)·v per
    /// sequence and head, with the sequences laid out as <paramref name="shape"/> says. Returns rows of width D
    /// in the same order as the input rows.
    /// </summary>
    public static Tensor Attention(Tensor qkv, AttentionShape shape)
    {
        int d = shape.Dim;
        if (qkv.Shape[^1] != 3 * d) throw new ArgumentException($"attention: packed qkv {qkv.ShapeString} must end in 3·D = {3 * d}");
        int rows = qkv.Size / (3 * d);
        if (rows != shape.Rows) throw new ArgumentException($"attention: {rows} token rows in {qkv.ShapeString}, but the layout covers {shape.NumSeq} sequences of {shape.SeqLen}");
        var outShape = (int[])qkv.Shape.Clone();
        outShape[^1] = d;
        var y = Tensor.Empty(outShape);
        var lse = Tensor.Empty(shape.NumSeq, shape.Heads, shape.SeqLen);
        qkv.Backend.Attention(y, lse, qkv, shape);
        if (Tape.ShouldRecord(qkv))
            Tape.Record("attention", y, () => qkv.Backend.AttentionBackward(qkv.GradOrZeros(), y.Grad!, qkv, y, lse, shape));
        return y;
    }

    /// <summary>
    /// Rotary positions on packed <c>[q | k | v]</c> rows (…, 3D) of <paramref name="heads"/> heads: the first
    /// <paramref name="ropeHeads"/> heads of q and of k have their column pairs (2i, 2i + 1) rotated by the angle whose
    /// cosine and sine <paramref name="cos"/>, <paramref name="sin"/> (period, hd/2) hold for the row's position (row
    /// mod period), so their scores depend on the difference of positions only. v and the other heads pass unchanged.
    /// </summary>
    public static Tensor Rotary(Tensor qkv, Tensor cos, Tensor sin, int heads, int ropeHeads)
    {
        var y = Tensor.Empty(qkv.Shape);
        qkv.Backend.Rotary(y, qkv, cos, sin, heads, ropeHeads);
        if (Tape.ShouldRecord(qkv))
            Tape.Record("rotary", y, () => qkv.Backend.RotaryBackward(qkv.GradOrZeros(), y.Grad!, cos, sin, heads, ropeHeads));
        return y;
    }
}
