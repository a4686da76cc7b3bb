using Genie.Core;
using Genie.Engine;
using Genie.Engine.Autograd;
using Genie.Engine.Tests;
using Genie.Nn;

namespace Genie.Nn.Tests;

public class SpatialRotaryTests
{
    [Fact]
    public void TurnedScores_DependOnTheTokensOffsetOnly_AndTheOffsetTokenIsNotTurned()
    {
        // One frame: an extra token, then a 4×5 grid. Every token has the same q and the same k, so before turning all
        // scores are equal; after, a turned head's score q_i·k_j depends on (Δrow, Δcol) alone, an unturned head's not at all.
        int gh = 4, gw = 5, offset = 1, heads = 2, hd = 8, d = heads * hd, n = offset + gh * gw;
        var rot = new SpatialRotary(gh, gw, offset, hd, heads: 1);
        var rng = new Rng(3);
        var q = Enumerable.Range(0, d).Select(_ => rng.NextNormal()).ToArray();
        var k = Enumerable.Range(0, d).Select(_ => rng.NextNormal()).ToArray();
        var v = Enumerable.Range(0, d).Select(_ => rng.NextNormal()).ToArray();
        var row = q.Concat(k).Concat(v).ToArray();
        var packed = Enumerable.Range(0, n).SelectMany(_ => row).ToArray();
        float[] y;
        using (new TensorScope())
        using (Tape.NoGrad())
            y = Ops.Rotary(Tensor.From(packed, n, 3 * d), rot.Cos, rot.Sin, heads, rot.Heads).ToArray();
        double Score(int i, int j, int h) =>
            Enumerable.Range(0, hd).Sum(c => (double)y[i * 3 * d + h * hd + c] * y[j * 3 * d + d + h * hd + c]);
        int Grid(int r, int c) => offset + r * gw + c;
        Assert.Equal(row, y[..(3 * d)]);                                               // the extra token: angle 0
        Assert.Equal(v, y[(Grid(2, 3) * 3 * d + 2 * d)..(Grid(2, 3) * 3 * d + 3 * d)]); // v is never turned
        for (int dr = -1; dr <= 1; dr++)
        for (int dc = -2; dc <= 2; dc++)
        {
            double at00 = Score(Grid(1, 2), Grid(1 + dr, 2 + dc), 0);
            Assert.Equal(at00, Score(Grid(2, 2), Grid(2 + dr, 2 + dc), 0), 4);          // same offset elsewhere
            Assert.Equal(Score(0, 0, 1), Score(Grid(1, 2), Grid(1 + dr, 2 + dc), 1), 4);  // head 1 is not turned
        }
        Assert.NotEqual(Score(Grid(1, 2), Grid(1, 3), 0), Score(Grid(1, 2), Grid(2, 2), 0), 3); // right ≠ down
    }

    [Fact]
    public void Transformer_WithRotary_FrameByFrameEqualsTheWholeClip_AndDiffersWithout()
    {
        // 2×2 grid after one extra token (5 rows a frame); ForwardFrame through the cache must match Forward.
        var rot = new SpatialRotary(2, 2, 1, 8, heads: 2);
        var turned = new STTransformer(16, 2, 2, tokens: 5, maxFrames: 4, qkNorm: true, new Rng(2), rot);
        var plain = new STTransformer(16, 2, 2, tokens: 5, maxFrames: 4, qkNorm: true, new Rng(2));
        var rng = new Rng(5);
        var x = Enumerable.Range(0, 4 * 5 * 16).Select(_ => rng.NextNormal()).ToArray();
        using var _ = new TensorScope();
        using var __ = Tape.NoGrad();
        var whole = turned.Forward(Tensor.From(x, 1, 4, 5, 16)).ToArray();
        Assert.NotEqual(plain.Forward(Tensor.From(x, 1, 4, 5, 16)).ToArray(), whole);
        using var cache = new InferenceCache(turned, 1);
        var frames = new List<float>();
        for (int f = 0; f < 4; f++)
            frames.AddRange(turned.ForwardFrame(Tensor.From(x.AsSpan(f * 80, 80), 1, 1, 5, 16), cache, commit: true).ToArray());
        for (int i = 0; i < whole.Length; i++) Assert.Equal(whole[i], frames[i], 4);
        Assert.Throws<ArgumentException>(() => new STTransformer(16, 2, 1, tokens: 4, maxFrames: 4, qkNorm: false, new Rng(1), rot));
        Assert.Throws<ArgumentException>(() => new SpatialRotary(2, 2, 0, 6, heads: 1));   // hd 6: no whole pairs per axis
    }

    [Fact]
    public void Angles_TurnTheFirstHalfOfThePairsByRow_AndTheSecondByColumn()
    {
        // hd 8: pairs 0, 1 by row·θ_j, pairs 2, 3 by column·θ_j, θ_0 = 1, θ_1 = 100^(−1/2); one offset token at angle 0.
        var a = SpatialRotary.Angles(gridH: 3, gridW: 4, offset: 1, headDim: 8);
        Assert.Equal((1 + 3 * 4) * 4, a.Length);
        Assert.All(a[..4], v => Assert.Equal(0, v));
        int token = 1 + 2 * 4 + 3;                                              // row 2, column 3
        Assert.Equal([2.0, 0.2, 3.0, 0.3], a[(token * 4)..(token * 4 + 4)].Select(v => Math.Round(v, 10)).ToArray());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Transformer_WithRotary_GradientsMatchFiniteDifferences(bool qkNorm)
    {
        // The training path turns out of place and records the turn: the input's gradient through the whole stack
        // must match central differences (an in-place turn while recording would leave the backward without Rᵀ).
        var rot = new SpatialRotary(2, 2, 1, 8, heads: 1);
        var model = new STTransformer(16, 2, 1, tokens: 5, maxFrames: 2, qkNorm, new Rng(4), rot);
        var rng = new Rng(9);
        // Weights of unit scale, so the scores (and the turn) matter: at the init's 0.02 the softmax is flat and the
        // input's gradient runs almost all through v and the residual.
        foreach (var (name, p) in model.NamedParameters())
        {
            var ps = p.Span;
            bool qk = name.Contains("q_norm.weight") || name.Contains("k_norm.weight");   // qk_norm's unit heads scaled up
            for (int i = 0; i < ps.Length; i++) ps[i] = (qk ? 2f : 0f) + 0.4f * rng.NextNormal();
        }
        var x = GradCheck.Param(rng, 1f, 1, 2, 5, 16);
        GradCheck.Check(() => model.Forward(x), [x], tolerance: 1e-2, eps: 1e-2f);
    }
}
