using Genie.Core;
using Genie.Engine;
using Genie.Engine.Kernels;

namespace Genie.Engine.Tests;

/// <summary>Every differentiable op's backward rule against central finite differences.</summary>
public class OpGradientTests
{
    private static Rng R(ulong s = 1) => new(s);

    [Theory]
    [InlineData(new[] { 3, 5 }, new[] { 3, 5 })]
    [InlineData(new[] { 2, 3, 5 }, new[] { 5 })]
    [InlineData(new[] { 2, 3, 4, 5 }, new[] { 3, 1, 5 })]
    [InlineData(new[] { 4, 6 }, new[] { 4, 1 })]
    [InlineData(new[] { 4, 6 }, new[] { 1 })]
    public void Add_Sub_Mul_Broadcast_Gradients(int[] aShape, int[] bShape)
    {
        var rng = R();
        var a = GradCheck.Param(rng, 1f, aShape);
        var b = GradCheck.Param(rng, 1f, bShape);
        GradCheck.Check(() => Ops.Add(a, b), [a, b]);
        GradCheck.Check(() => Ops.Sub(a, b), [a, b]);
        GradCheck.Check(() => Ops.Mul(a, b), [a, b]);
        GradCheck.Check(() => Ops.Add(b, a), [a, b]);
    }

    [Fact]
    public void Scale_Gelu_Sigmoid_Softmax_Gradients()
    {
        var x = GradCheck.Param(R(2), 1.5f, 3, 7);
        GradCheck.Check(() => Ops.Scale(x, -2.5f), [x]);
        GradCheck.Check(() => Ops.Gelu(x), [x]);
        GradCheck.Check(() => Ops.Sigmoid(x), [x]);
        GradCheck.Check(() => Ops.Softmax(x), [x]);
    }

    [Fact]
    public void Sum_Mean_Gradients()
    {
        var x = GradCheck.Param(R(3), 1f, 4, 5);
        GradCheck.Check(() => Ops.Sum(x), [x]);
        GradCheck.Check(() => Ops.Mean(Ops.Mul(x, x)), [x]);
    }

    [Theory]
    [InlineData(false, false, false)]
    [InlineData(false, true, false)]
    [InlineData(true, false, false)]
    [InlineData(true, true, false)]
    [InlineData(false, false, true)]
    [InlineData(false, true, true)]
    [InlineData(true, false, true)]
    [InlineData(true, true, true)]
    public void MatMul_AllLayouts_Batched_And_SharedB_Gradients(bool transA, bool transB, bool sharedB)
    {
        var rng = R(4);
        int batch = 2, m = 3, k = 4, n = 5;
        var a = GradCheck.Param(rng, 1f, transA ? [batch, k, m] : [batch, m, k]);
        int[] bShape = transB ? [n, k] : [k, n];
        var b = GradCheck.Param(rng, 1f, sharedB ? bShape : [batch, .. bShape]);
        GradCheck.Check(() => Ops.MatMul(a, b, transA, transB), [a, b]);
    }

    [Fact]
    public void Linear_Gradients()
    {
        var rng = R(5);
        var x = GradCheck.Param(rng, 1f, 2, 3, 6);
        var w = GradCheck.Param(rng, 0.5f, 4, 6);
        var b = GradCheck.Param(rng, 0.5f, 4);
        GradCheck.Check(() => Ops.Linear(x, w, b), [x, w, b]);
    }

    [Fact]
    public void LayerNorm_Gradients()
    {
        var rng = R(6);
        var x = GradCheck.Param(rng, 2f, 5, 8);
        var w = GradCheck.Param(rng, 1f, 8);
        var b = GradCheck.Param(rng, 1f, 8);
        GradCheck.Check(() => Ops.LayerNorm(x, w, b), [x, w, b]);
    }

    [Fact]
    public void L2Normalize_Gradients()
    {
        var x = GradCheck.Param(R(7), 1f, 6, 5);
        GradCheck.Check(() => Ops.L2Normalize(x), [x]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attention_Spatial_Gradients(bool causal)
    {
        int frames = 2, tokens = 5, heads = 2, hd = 3;
        var qkv = GradCheck.Param(R(8), 1f, frames * tokens, 3 * heads * hd);
        var shape = AttentionShape.Spatial(frames, tokens, heads, hd, causal);
        GradCheck.Check(() => Ops.Attention(qkv, shape), [qkv]);
    }

    [Fact]
    public void Attention_Temporal_Causal_Gradients()
    {
        int batch = 2, frames = 4, tokens = 3, heads = 2, hd = 2;
        var qkv = GradCheck.Param(R(9), 1f, batch * frames * tokens, 3 * heads * hd);
        var shape = AttentionShape.Temporal(batch, frames, tokens, heads, hd);
        GradCheck.Check(() => Ops.Attention(qkv, shape), [qkv]);
    }

    [Fact]
    public void Rotary_Gradients()
    {
        // 2 frames of 3 token rows, 2 heads of width 4, the first turned: the rotated q, k and the copied rest.
        int period = 3, heads = 2, hd = 4;
        var qkv = GradCheck.Param(R(11), 1f, 2 * period, 3 * heads * hd);
        var angles = Enumerable.Range(0, period * hd / 2).Select(i => 0.7f * i - 1f).ToArray();
        var cos = Tensor.From(angles.Select(MathF.Cos).ToArray(), period, hd / 2);
        var sin = Tensor.From(angles.Select(MathF.Sin).ToArray(), period, hd / 2);
        GradCheck.Check(() => Ops.Rotary(qkv, cos, sin, heads, ropeHeads: 1), [qkv]);
    }

    [Fact]
    public void CrossEntropy_Masked_Gradients()
    {
        var logits = GradCheck.Param(R(10), 2f, 6, 5);
        int[] targets = [0, 4, 2, 2, 1, 3];
        float[] mask = [1, 0, 1, 1, 0, 1];
        GradCheck.Check(() => Ops.CrossEntropy(logits, targets, mask), [logits]);
        GradCheck.Check(() => Ops.CrossEntropy(logits, targets), [logits]);
        // Mask entries are weights: the gradient check holds for them too, and weight 3 on a row counts it three times.
        float[] weights = [3, 0, 1, 0.5f, 0, 1];
        GradCheck.Check(() => Ops.CrossEntropy(logits, targets, weights), [logits]);
        var rows = logits.ToArray();
        var tripled = Tensor.From([.. rows[0..5], .. rows[0..5], .. rows[0..5], .. rows[10..15]], 4, 5);
        float weighted = Ops.CrossEntropy(Tensor.From(rows, 6, 5), targets, [3, 0, 1, 0, 0, 0]).Item();
        Assert.Equal(Ops.CrossEntropy(tripled, [0, 0, 0, 2]).Item(), weighted, 5);
    }

    [Fact]
    public void Mse_Gradients()
    {
        var rng = R(11);
        var a = GradCheck.Param(rng, 1f, 3, 4);
        var b = GradCheck.Param(rng, 1f, 3, 4);
        GradCheck.Check(() => Ops.MseLoss(a, b), [a, b]);
    }

    [Fact]
    public void Reshape_Permute_Slice_Concat_Gradients()
    {
        var rng = R(12);
        var x = GradCheck.Param(rng, 1f, 2, 3, 4);
        var z = GradCheck.Param(rng, 1f, 2, 2, 4);
        GradCheck.Check(() => Ops.Mul(Ops.Reshape(x, [6, -1]), Ops.Reshape(x, [6, 4])), [x]);
        GradCheck.Check(() => Ops.Permute(x, 2, 0, 1), [x]);
        GradCheck.Check(() => Ops.Transpose(x, 0, 1), [x]);
        GradCheck.Check(() => Ops.Slice(x, 1, 1, 2), [x]);
        GradCheck.Check(() => Ops.Slice(x, -1, 0, 3), [x]);
        GradCheck.Check(() => Ops.Concat(1, x, z, x), [x, z]);
    }

    [Fact]
    public void GatherRows_WithRepeatedIds_Gradients()
    {
        var table = GradCheck.Param(R(13), 1f, 5, 3);
        int[] ids = [4, 0, 4, 2, 4];
        GradCheck.Check(() => Ops.GatherRows(table, ids), [table]);
        GradCheck.Check(() => Ops.Embedding(table, ids, 5), [table]);
    }

    [Fact]
    public void VectorQuantize_Gradients_And_StraightThrough()
    {
        var rng = R(14);
        var e = GradCheck.Param(rng, 1f, 7, 4);
        var codebook = GradCheck.Param(rng, 1f, 5, 4);
        // Loss term: numerically the loss is (1+β)·mse(e, q); the stop-gradients give the encoder output only
        // the commitment part (β) and the codebook only the codebook part (1).
        const float beta = 0.25f;
        GradCheck.Check(() => Ops.VectorQuantize(e, codebook, beta).Loss, [e, codebook], eps: 1e-3f,
            expectedRatio: [beta / (1 + beta), 1 / (1 + beta)]);
        // Quantized output: straight-through. Its value is the chosen code, its gradient with respect to e is
        // exactly that of L2Normalize(e), and the codebook receives nothing through it.
        var w = Tensor.Persistent(7, 4);
        Init.Normal(w, rng, 1f);
        float[] viaVq, viaNorm;
        foreach (var p in new[] { e, codebook }) p.ZeroGrad();
        using (new TensorScope())
        {
            var vq = Ops.VectorQuantize(e, codebook);
            var cn = Ops.L2Normalize(codebook.Detach()).ToArray();
            var qv = vq.Quantized.ToArray();
            for (int r = 0; r < 7; r++)
                for (int c = 0; c < 4; c++) Assert.Equal(cn[vq.Ids[r] * 4 + c], qv[r * 4 + c], 5);
            Ops.Sum(Ops.Mul(vq.Quantized, w)).Backward();
        }
        Assert.All(codebook.Grad!.ToArray(), g => Assert.Equal(0f, g));
        viaVq = e.Grad!.ToArray();
        e.ZeroGrad();
        using (new TensorScope()) Ops.Sum(Ops.Mul(Ops.L2Normalize(e), w)).Backward();
        viaNorm = e.Grad!.ToArray();
        Assert.Equal(viaNorm, viaVq);
        Assert.Contains(viaVq, g => Math.Abs(g) > 1e-3);
    }
}
