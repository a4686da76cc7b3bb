using Genie.Core;
using Genie.Engine;
using Genie.Engine.Autograd;
using Genie.Models;

namespace Genie.Models.Tests;

/// <summary>Temporal causality: nothing at frame ≤ t may depend on frames after t (ARCHITECTURE.md §2, §4–§6).</summary>
public class CausalityTests
{
    private static byte[] Perturb(byte[] frames, int fromFrame, int frameBytes, ulong seed)
    {
        var copy = (byte[])frames.Clone();
        var rng = new Rng(seed);
        for (int i = fromFrame * frameBytes; i < copy.Length; i++) copy[i] = (byte)rng.NextInt(256);
        return copy;
    }

    [Fact]
    public void Tokenizer_ChangingLaterFrames_ChangesNoEarlierEncoderOrDecoderOutput()
    {
        var cfg = TestData.Tiny();
        var tok = new VideoTokenizer(cfg, new Rng(1));
        var clip = TestData.MovingSquare(4, 16, new Rng(2)).Frames;
        var changed = Perturb(clip, 2, 16 * 16 * 3, 3);   // frames 2 and 3
        float[] Enc(byte[] f) { using var _ = new TensorScope(); using var __ = Tape.NoGrad(); return tok.EncodeContinuous(Patches.Tensor(f, 1, 4, 16, 16, 4)).ToArray(); }
        var a = Enc(clip);
        var b = Enc(changed);
        int perFrame = tok.Tokens * cfg.Tokenizer.LatentDim;
        for (int i = 0; i < 2 * perFrame; i++) Assert.Equal(a[i], b[i]);
        Assert.Contains(Enumerable.Range(2 * perFrame, perFrame), i => a[i] != b[i]);

        // Decoder: changing the tokens of frame 3 leaves frames 0..2 of the reconstruction alone.
        var ids = tok.Encode(Patches.Tensor(clip, 1, 4, 16, 16, 4));
        var ids2 = (int[])ids.Clone();
        for (int i = 3 * tok.Tokens; i < ids2.Length; i++) ids2[i] = (ids2[i] + 7) % cfg.Tokenizer.CodebookSize;
        float[] Dec(int[] z) { using var _ = new TensorScope(); return tok.Decode(z, 1, 4).ToArray(); }
        var da = Dec(ids);
        var db = Dec(ids2);
        int pf = tok.Tokens * tok.PatchDim;
        for (int i = 0; i < 3 * pf; i++) Assert.Equal(da[i], db[i]);
        Assert.Contains(Enumerable.Range(3 * pf, pf), i => da[i] != db[i]);
    }

    [Fact]
    public void LatentActions_AtDependsOnlyOnFramesUpToTPlusOne()
    {
        var cfg = TestData.Tiny();
        var lam = new LatentActionModel(cfg, new Rng(4));
        var clip = TestData.MovingSquare(4, 16, new Rng(5)).Frames;
        float[] Enc(byte[] f) { using var _ = new TensorScope(); using var __ = Tape.NoGrad(); return lam.EncodeContinuous(Patches.Tensor(f, 1, 4, 16, 16, 8)).ToArray(); }
        int l = cfg.Lam.LatentDim;
        // Change frame 2 (0-based): a_0 (x_0 → x_1) must not move; a_1 (x_1 → x_2) and a_2 may.
        var a = Enc(clip);
        var b = Enc(Perturb(clip, 2, 16 * 16 * 3, 6));
        for (int i = 0; i < l; i++) Assert.Equal(a[i], b[i]);
        Assert.Contains(Enumerable.Range(l, l), i => a[i] != b[i]);
    }

    [Fact]
    public void WindowedLatentActions_AtDependsOnlyOnFramesTAndTPlusOne()
    {
        var cfg = TestData.Tiny("lam.window=2");
        var lam = new LatentActionModel(cfg, new Rng(4));
        var clip = TestData.MovingSquare(4, 16, new Rng(5)).Frames;
        int[] Ids(byte[] f) { using var _ = new TensorScope(); return lam.InferActions(Patches.Tensor(f, 1, 4, 16, 16, 8)); }
        float[] Pred(byte[] f) { using var _ = new TensorScope(); using var __ = Tape.NoGrad(); return lam.Forward(Patches.Tensor(f, 1, 4, 16, 16, 8)).Prediction.ToArray(); }
        // Change frame 0 only: transitions 1 and 2 (x1→x2, x2→x3) must not see it, transition 0 must.
        var changed = (byte[])clip.Clone();
        var rng = new Rng(6);
        for (int i = 0; i < 16 * 16 * 3; i++) changed[i] = (byte)rng.NextInt(256);
        var a = Pred(clip);
        var b = Pred(changed);
        int per = a.Length / 3;
        for (int i = per; i < a.Length; i++) Assert.Equal(a[i], b[i]);
        Assert.Contains(Enumerable.Range(0, per), i => a[i] != b[i]);
        Assert.Equal(3, Ids(clip).Length);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(0)]
    public void HoldWeight_AddsTheMeanSquaredChangeOfConsecutiveNormalisedLatents(int window)
    {
        // Same weights and clip with and without the penalty: the losses differ by exactly
        // hold_weight · mean over consecutive pairs of ‖â_{t+1} − â_t‖², â the normalised continuous latents.
        var plain = TestData.Tiny($"lam.window={window}");
        var held = TestData.Tiny($"lam.window={window}", "lam.hold_weight=0.5");
        var clip = TestData.MovingSquare(4, 16, new Rng(8)).Frames;
        using var _ = new TensorScope();
        using var __ = Tape.NoGrad();
        var x = Patches.Tensor(clip, 1, 4, 16, 16, 8);
        double lossPlain = new LatentActionModel(plain, new Rng(7)).Forward(x).Loss.Item();
        var lam = new LatentActionModel(held, new Rng(7));
        double lossHeld = lam.Forward(x).Loss.Item();
        var a = lam.EncodeActions(x).ToArray();
        int l = held.Lam.LatentDim;
        double change = 0;
        for (int t = 0; t + 1 < 3; t++)
        {
            double n0 = Math.Sqrt(Enumerable.Range(0, l).Sum(i => (double)a[t * l + i] * a[t * l + i]));
            double n1 = Math.Sqrt(Enumerable.Range(0, l).Sum(i => (double)a[(t + 1) * l + i] * a[(t + 1) * l + i]));
            for (int i = 0; i < l; i++) { double d = a[(t + 1) * l + i] / n1 - a[t * l + i] / n0; change += d * d; }
        }
        change /= 2;                                                    // two consecutive pairs in 3 transitions
        Assert.True(change > 1e-4);
        Assert.Equal(lossPlain + 0.5 * change, lossHeld, 4);
    }

    [Fact]
    public void Chunk_CutsTransitionsIntoRunsOfK_TheLastShorter()
    {
        Assert.Equal([(0, 2), (2, 2), (4, 1)], LatentActionModel.Chunks(5, 2));
        Assert.Equal([(0, 3), (3, 3)], LatentActionModel.Chunks(6, 3));
        Assert.Equal([(0, 1), (1, 1)], LatentActionModel.Chunks(2, 1));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(3)]
    public void Chunk_EveryTransitionOfAChunkGetsTheCodeOfItsMeanLatent(int window)
    {
        // Two clips of 6 frames (5 transitions), chunks of 2: {0,1}, {2,3}, {4}.
        var cfg = TestData.Tiny("max_frames=6", "lam.chunk=2", $"lam.window={window}");
        var lam = new LatentActionModel(cfg, new Rng(11));
        var frames = TestData.MovingSquare(6, 16, new Rng(12)).Frames.Concat(TestData.MovingSquare(6, 16, new Rng(13)).Frames).ToArray();
        using var _ = new TensorScope();
        using var __ = Tape.NoGrad();
        var x = Patches.Tensor(frames, 2, 6, 16, 16, 8);
        int l = cfg.Lam.LatentDim;
        var continuous = lam.EncodeActions(x).ToArray();                       // (2·5, L), one per transition
        var ids = lam.InferActions(x);
        var actions = lam.Forward(x).Actions.ToArray();
        Assert.Equal(10, ids.Length);
        foreach (int clip in new[] { 0, 1 })
            foreach (var (start, length) in LatentActionModel.Chunks(5, 2))
            {
                var mean = new float[l];
                for (int t = start; t < start + length; t++)
                    for (int i = 0; i < l; i++) mean[i] += continuous[(clip * 5 + t) * l + i] / length;
                int expected = lam.Quantizer.Forward(Tensor.From(mean, [1, l])).Ids[0];
                for (int t = start; t < start + length; t++)
                {
                    Assert.Equal(expected, ids[clip * 5 + t]);
                    for (int i = 0; i < l; i++) Assert.Equal(actions[(clip * 5 + start) * l + i], actions[(clip * 5 + t) * l + i]);
                }
            }
        // Transitions 0 and 1 have different latents of their own, so their one shared code comes from the chunk.
        Assert.Contains(Enumerable.Range(0, l), i => continuous[i] != continuous[l + i]);
    }

    [Fact]
    public void WindowOfThree_AtSeesFramesTMinus1ToTPlus1_AndTheFirstRepeatsFrame0()
    {
        var cfg = TestData.Tiny("lam.window=3");
        var lam = new LatentActionModel(cfg, new Rng(7));
        var clip = TestData.MovingSquare(4, 16, new Rng(8)).Frames;
        float[] Latents(byte[] f)
        {
            using var _ = new TensorScope();
            using var __ = Tape.NoGrad();
            return lam.EncodeActions(Patches.Tensor(f, 1, 4, 16, 16, 8)).ToArray();
        }
        int fb = 16 * 16 * 3, l = cfg.Lam.LatentDim;
        byte[] Perturb(int frame) { var c = (byte[])clip.Clone(); var r = new Rng(9); for (int i = frame * fb; i < (frame + 1) * fb; i++) c[i] = (byte)r.NextInt(256); return c; }
        var a = Latents(clip);
        // Frame 0 is seen by a_0 (x0→x1) and a_1 (x0, x1, x2) but not a_2 (x1, x2, x3).
        var b = Latents(Perturb(0));
        for (int i = 2 * l; i < 3 * l; i++) Assert.Equal(a[i], b[i]);
        Assert.Contains(Enumerable.Range(l, l), i => a[i] != b[i]);
        // Frame 3 is seen only by a_2.
        var c = Latents(Perturb(3));
        for (int i = 0; i < 2 * l; i++) Assert.Equal(a[i], c[i]);
        Assert.Contains(Enumerable.Range(2 * l, l), i => a[i] != c[i]);
    }

    [Fact]
    public void Dynamics_LogitsAtEarlierFramesIgnoreLaterTokens()
    {
        var cfg = TestData.Tiny();
        var dyn = new DynamicsModel(cfg, 16, new Rng(7));
        var rng = new Rng(8);
        var ids = Enumerable.Range(0, 4 * 16).Select(_ => rng.NextInt(64)).ToArray();
        var ids2 = (int[])ids.Clone();
        for (int i = 3 * 16; i < ids2.Length; i++) ids2[i] = dyn.MaskId;
        float[] Run(int[] z)
        {
            using var _ = new TensorScope();
            using var __ = Tape.NoGrad();
            var actions = Tensor.Full(0.3f, 3, cfg.Lam.LatentDim);
            return dyn.Logits(z, actions, 1, 4).ToArray();
        }
        var a = Run(ids);
        var b = Run(ids2);
        int perFrame = 16 * 64;
        for (int i = 0; i < 3 * perFrame; i++) Assert.Equal(a[i], b[i]);
        Assert.Contains(Enumerable.Range(3 * perFrame, perFrame), i => a[i] != b[i]);
    }
}
