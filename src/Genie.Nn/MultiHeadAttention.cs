using Genie.Core;
using Genie.Engine;
using Genie.Engine.Autograd;
using Genie.Engine.Kernels;

namespace Genie.Nn;

/// <summary>Which axis of a (B, T, N, D) video tensor an attention layer mixes.</summary>
public enum AttentionAxis
{
    /// <summary>Over the N tokens of each frame (bidirectional).</summary>
    Spatial,
    /// <summary>Over the T frames at each token position (causal: t attends to ≤ t).</summary>
    Temporal,
}

/// <summary>
/// Multi-head self-attention as ARCHITECTURE.md §2 pins it: qkv = Linear(D, 3D) split as [q | k | v] into
/// heads of D/nh; with qk_norm, q and k each pass a LayerNorm over the head width (shared across heads);
/// scores q·kᵀ/√(D/nh); softmax; Linear(D, D). Works on (B, T, N, D) tensors along one axis, without
/// permuting them: the fused kernel reads the sequences in place (<see cref="AttentionShape"/>).
/// </summary>
public sealed class MultiHeadAttention : Module
{
    private readonly Linear _qkv, _proj;
    private readonly LayerNorm? _qNorm, _kNorm;
    private readonly SpatialRotary? _rotary;

    /// <summary>Model width D.</summary>
    public int Dim { get; }
    /// <summary>Number of heads nh.</summary>
    public int Heads { get; }
    /// <summary>Head width D / nh.</summary>
    public int HeadDim => Dim / Heads;

    /// <summary>An attention layer of width <paramref name="dim"/> with <paramref name="heads"/> heads; with
    /// <paramref name="rotary"/>, its spatial attention turns q and k by the tokens' 2D positions (after qk_norm).</summary>
    public MultiHeadAttention(int dim, int heads, bool qkNorm, Rng rng, float outStd = Initializers.Std, SpatialRotary? rotary = null)
    {
        if (dim % heads != 0) throw new ArgumentException($"width {dim} is not divisible by {heads} heads");
        if (rotary is not null && (rotary.HeadDim != dim / heads || rotary.Heads > heads))
            throw new ArgumentException($"spatial rotary for {rotary.Heads} heads of width {rotary.HeadDim} does not fit {heads} heads of width {dim / heads}");
        _rotary = rotary;
        Dim = dim;
        Heads = heads;
        _qkv = Child("qkv", new Linear(dim, 3 * dim, rng));
        _proj = Child("proj", new Linear(dim, dim, rng, std: outStd));
        if (qkNorm)
        {
            _qNorm = Child("q_norm", new LayerNorm(dim / heads));
            _kNorm = Child("k_norm", new LayerNorm(dim / heads));
        }
    }

    /// <summary>
    /// x_BTND → (B, T, N, D), attending along <paramref name="axis"/>. With <paramref name="cache"/> (temporal
    /// only), the keys and values of all T frames are also stored in it for frame-by-frame inference. A
    /// <paramref name="residual"/> (B, T, N, D) is added to the output (in the projection's epilogue).
    /// </summary>
    public Tensor Forward(Tensor x_BTND, AttentionAxis axis, KvCache? cache = null, Tensor? residual = null)
    {
        int b = x_BTND.Shape[0], t = x_BTND.Shape[1], n = x_BTND.Shape[2];
        var qkv = Qkv(_qkv.Forward(x_BTND));                       // (B, T, N, 3D)
        if (axis == AttentionAxis.Spatial && _rotary is not null) qkv = Turn(qkv, _rotary);
        var shape = axis == AttentionAxis.Spatial
            ? AttentionShape.Spatial(b * t, n, Heads, HeadDim)
            : AttentionShape.Temporal(b, t, n, Heads, HeadDim);
        if (cache is not null) qkv.Backend.AttentionCacheFill(cache.K, cache.V, qkv);
        return _proj.Forward(Ops.Attention(qkv, shape), gelu: false, residual);
    }

    /// <summary>
    /// Temporal attention for one new frame x_B1ND against the <paramref name="past"/> frames held in
    /// <paramref name="cache"/> (inference only). With <paramref name="commit"/> the frame joins the cache.
    /// A <paramref name="residual"/> is added to the output.
    /// </summary>
    public Tensor ForwardCached(Tensor x_B1ND, KvCache cache, int past, bool commit, Tensor? residual = null)
    {
        var qkv = Qkv(_qkv.Forward(x_B1ND));                       // (B, 1, N, 3D)
        var shape = (int[])qkv.Shape.Clone();
        shape[^1] = Dim;
        var y = Tensor.Empty(shape);
        qkv.Backend.AttentionDecode(y, qkv, cache.K, cache.V, past, Heads, commit);
        return _proj.Forward(y, gelu: false, residual);
    }

    // q and k of the rotated heads turned by their tokens' 2D positions: in place at inference, as Qkv normalises.
    private Tensor Turn(Tensor qkv, SpatialRotary r)
    {
        if (Tape.ShouldRecord(qkv)) return Ops.Rotary(qkv, r.Cos, r.Sin, Heads, r.Heads);
        qkv.Backend.Rotary(qkv, qkv, r.Cos, r.Sin, Heads, r.Heads);
        return qkv;
    }

    /// <summary>The projected [q | k | v] rows (..., 3D), with q and k normalised per head when qk_norm is on.</summary>
    internal Tensor Qkv(Tensor qkv)
    {
        if (_qNorm is null) return qkv;
        int d = Dim;
        if (!Tape.ShouldRecord(qkv, _qNorm.Weight))
        {
            // Inference: normalise the q and k heads in place in the packed rows (no slices, no concat).
            qkv.Backend.LayerNormSegmentsInPlace(qkv, 0, this.Heads, _qNorm.Weight, _qNorm.Bias, _qNorm.Eps);
            qkv.Backend.LayerNormSegmentsInPlace(qkv, d, this.Heads, _kNorm!.Weight, _kNorm.Bias, _kNorm.Eps);
            return qkv;
        }
        var shape = qkv.Shape;
        Tensor Heads(Tensor part, LayerNorm norm) =>
            Ops.Reshape(norm.Forward(Ops.Reshape(part, [-1, HeadDim])), [.. shape[..^1], d]);
        var q = Heads(Ops.Slice(qkv, -1, 0, d), _qNorm);
        var k = Heads(Ops.Slice(qkv, -1, d, d), _kNorm!);
        var v = Ops.Slice(qkv, -1, 2 * d, d);
        return Ops.Concat(-1, q, k, v);
    }

}

/// <summary>Keys and values of one temporal-attention layer for the frames seen so far: (B, T_max, N, D) each.</summary>
public sealed class KvCache(Tensor k, Tensor v)
{
    /// <summary>Cached keys (B, T_max, N, D).</summary>
    public Tensor K { get; } = k;
    /// <summary>Cached values (B, T_max, N, D).</summary>
    public Tensor V { get; } = v;
}
