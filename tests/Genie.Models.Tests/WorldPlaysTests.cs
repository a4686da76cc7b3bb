using Genie.Core;
using Genie.Data;
using Genie.Engine;
using Genie.Engine.Autograd;
using Genie.Models;
using Genie.Models.Evaluation;

namespace Genie.Models.Tests;

/// <summary>
/// The dynamics options and measures that issue 11 (a world that plays) added: the action token, context
/// corruption, prefix masking, and the rollout motion measures.
/// </summary>
public class WorldPlaysTests
{
    [Fact]
    public void SpatialEncoder_AFramesCodesDependOnThatFrameOnly()
    {
        // Change frames 0..1 of a 4-frame clip: with encoder_temporal off, frames 2..3's encoder outputs are
        // bit-identical; with the paper's causal encoder they are not (the control that makes the test able to fail).
        var clip = TestData.MovingSquare(4, 16, new Rng(2)).Frames;
        int frameBytes = 16 * 16 * 3;
        var changed = (byte[])clip.Clone();
        var rng = new Rng(3);
        for (int i = 0; i < 2 * frameBytes; i++) changed[i] = (byte)rng.NextInt(256);
        foreach (var temporal in new[] { false, true })
        {
            var cfg = TestData.Tiny($"tokenizer.encoder_temporal={(temporal ? "true" : "false")}");
            var tok = new VideoTokenizer(cfg, new Rng(1));
            float[] Enc(byte[] f) { using var _ = new TensorScope(); using var __ = Tape.NoGrad(); return tok.EncodeContinuous(Patches.Tensor(f, 1, f.Length / frameBytes, 16, 16, 4)).ToArray(); }
            var a = Enc(clip);
            var b = Enc(changed);
            int perFrame = tok.Tokens * cfg.Tokenizer.LatentDim;
            var later = Enumerable.Range(2 * perFrame, 2 * perFrame);
            if (temporal) Assert.Contains(later, i => a[i] != b[i]);
            else Assert.All(later, i => Assert.Equal(a[i], b[i]));
            // Encoding a frame alone gives what it gets inside the clip.
            var alone = Enc(clip[(3 * frameBytes)..]);
            if (!temporal) Assert.Equal(a[(3 * perFrame)..], alone);
        }
    }

    [Fact]
    public void CodeFlicker_CountsUnchangedPatchesWhoseIdChanged()
    {
        // Two clips of 3 frames of 8x8 pixels, patches of 4: 4 patches per frame.
        int h = 8, w = 8, p = 4, fb = h * w * 3;
        var frames = new byte[2 * 3 * fb];
        // Clip 0, frame 1: patch 3 (bottom right) changes pixels; frame 2 equals frame 1.
        for (int y = 4; y < 8; y++) for (int x = 4; x < 8; x++) frames[(1 * fb) + (y * w + x) * 3] = 200;
        for (int y = 4; y < 8; y++) for (int x = 4; x < 8; x++) frames[(2 * fb) + (y * w + x) * 3] = 200;
        var ids = new int[2 * 3 * 4];
        ids[1 * 4 + 3] = 5; ids[2 * 4 + 3] = 5;         // the changed patch gets a new id (not counted), then keeps it
        ids[2 * 4 + 0] = 9;                               // an unchanged patch of clip 0 flickers at frame 2
        ids[(3 + 1) * 4 + 1] = 7;                         // clip 1 never changes pixels: patch 1 flickers at frame 1 ...
        ids[(3 + 2) * 4 + 1] = 7;                         // ... and keeps its new id at frame 2 (no second flicker)
        var (unchanged, flickered) = Metrics.CodeFlicker(frames, ids, 2, 3, h, w, p);
        Assert.Equal(2 * 2 * 4 - 1, unchanged);          // 16 transitions' patches, less the one that changed pixels
        Assert.Equal(2, flickered);
        Assert.Throws<ArgumentException>(() => Metrics.CodeFlicker(frames, ids[1..], 2, 3, h, w, p));
    }

    [Fact]
    public void ActionToken_FrameTPlusOnesActionChangesNothingAtFramesUpToT()
    {
        var cfg = TestData.Tiny("dynamics.action_conditioning=token");
        var dyn = new DynamicsModel(cfg, 16, new Rng(7));
        var rng = new Rng(8);
        var ids = Enumerable.Range(0, 4 * 16).Select(_ => rng.NextInt(64)).ToArray();
        int l = cfg.Lam.LatentDim;
        var actions = Enumerable.Range(0, 3 * l).Select(_ => rng.NextFloat() - 0.5f).ToArray();
        float[] Run(float[] a)
        {
            using var _ = new TensorScope();
            using var __ = Tape.NoGrad();
            return dyn.Logits(ids, Tensor.From(a, 3, l), 1, 4).ToArray();
        }
        // Change the action that leads to frame 2 (0-based; row 1): frames 0 and 1 must not move, frame 2 must.
        var changed = (float[])actions.Clone();
        for (int i = l; i < 2 * l; i++) changed[i] += 1f;
        var a = Run(actions);
        var b = Run(changed);
        int perFrame = 16 * 64;
        Assert.Equal(4 * perFrame, a.Length);                           // the action tokens' outputs are dropped
        for (int i = 0; i < 2 * perFrame; i++) Assert.Equal(a[i], b[i]);
        Assert.Contains(Enumerable.Range(2 * perFrame, perFrame), i => a[i] != b[i]);
    }

    // A tiny model of cfg rolled out from one prompt with the same actions (past T_max = 4, so the window slides) and
    // seed by the uncached reference sampler and by a session, asserting that every frame's tokens agree.
    private static (GenieModel Model, byte[] Prompt, int[] Actions, int[] Uncached, GenieSession Session) CachedAgainstUncached(GenieConfig cfg)
    {
        var model = new GenieModel(cfg, new Rng(21));
        var prompt = TestData.MovingSquare(1, 16, new Rng(22)).Frames;
        int[] actions = [0, 1, 2, 3, 3, 2, 1];
        var uncached = model.GenerateTokens(prompt, 1, actions, actions.Length + 1, new Rng(99))[0];
        var session = new GenieSession(model, prompt, seed: 99);
        foreach (var a in actions) session.Step(a);
        int n = model.Tokenizer.Tokens;
        for (int f = 0; f <= actions.Length; f++) Assert.Equal(uncached[(f * n)..((f + 1) * n)], session.Tokens[f]);
        return (model, prompt, actions, uncached, session);
    }

    [Theory]
    [InlineData("add")]
    [InlineData("token")]
    public void CachedSession_GivesTheSameTokensAsUncachedSampling_ForEitherActionConditioning(string conditioning)
    {
        var (model, prompt, actions, _, cached) = CachedAgainstUncached(
            TestData.Tiny($"dynamics.action_conditioning={conditioning}", "dynamics.corrupt_max=0.3", "dynamics.window_hop=2"));
        using var session = cached;
        // Generate is the session: the same frames.
        var video = model.Generate(prompt, 1, actions, actions.Length + 1, 99);
        for (int f = 0; f <= actions.Length; f++) Assert.Equal(session.Frames[f], video.AsSpan(f * 16 * 16 * 3, 16 * 16 * 3).ToArray());
    }

    // Token ids of `frames` frames for `model`'s tokenizer, drawn uniformly from its codebook.
    private static int[] RandomIds(GenieModel model, int frames, int seed)
    {
        var rng = new Rng((ulong)seed);
        return Enumerable.Range(0, frames * model.Tokenizer.Tokens).Select(_ => rng.NextInt(model.Config.Tokenizer.CodebookSize)).ToArray();
    }

    [Theory]
    [InlineData("add")]
    [InlineData("token")]
    public void SpatialRope_CachedEqualsUncached_AndTurnsTheSameWeightsPredictions(string conditioning)
    {
        var cfg = TestData.Tiny($"dynamics.action_conditioning={conditioning}", "dynamics.spatial_rope_heads=1", "dynamics.window_hop=2");
        var (model, _, _, _, session) = CachedAgainstUncached(cfg);
        session.Dispose();
        // No parameters of its own: the same seed makes the same weights with and without, which then predict otherwise.
        var plain = new GenieModel(TestData.Tiny($"dynamics.action_conditioning={conditioning}"), new Rng(21));
        Assert.Equal(plain.NamedParameters().Select(p => p.Name), model.NamedParameters().Select(p => p.Name));
        foreach (var ((_, a), (_, b)) in plain.NamedParameters().Zip(model.NamedParameters())) Assert.Equal(a.ToArray(), b.ToArray());
        var ids = RandomIds(model, frames: 3, seed: 6);
        float[] Logits(GenieModel m)
        {
            using var _ = new TensorScope();
            using var __ = Tape.NoGrad();
            return m.Dynamics.Logits(ids, m.ActionVectors([1, 2]), 1, 3).ToArray();
        }
        Assert.NotEqual(Logits(plain), Logits(model));
        Assert.Throws<InvalidDataException>(() => TestData.Tiny("dynamics.spatial_rope_heads=3"));   // tiny has 2 heads
        Assert.Throws<InvalidDataException>(() => TestData.Tiny("dynamics.spatial_rope_heads=-1"));
    }

    [Theory]
    [InlineData("add")]
    [InlineData("token")]
    public void ActionGuidance_CachedEqualsUncached_AndAtZeroTheActionChangesNothing(string conditioning)
    {
        // w = 2: the cached session's pass without the action (FrameHidden with none) must be the uncached sampler's
        // (the clip's last action dropped in the embedding), or the two samplers part.
        var (model, prompt, actions, uncached, session) = CachedAgainstUncached(
            TestData.Tiny($"dynamics.action_conditioning={conditioning}", "dynamics.guidance=2", "dynamics.window_hop=2"));
        session.Dispose();
        // Guidance changes the frames: w = 1 (one pass, the action alone) samples otherwise from the same seed.
        model.Dynamics.Guidance = 1;
        var plain = model.GenerateTokens(prompt, 1, actions, actions.Length + 1, new Rng(99))[0];
        Assert.NotEqual(uncached, plain);
        // w = 0 samples from the pass without the action: the last frame's hidden states (what MaskGIT samples from) are
        // the same whatever its action, where at w = 1 they differ.
        var ids = RandomIds(model, frames: 3, seed: 6);
        float[] Last(int action)
        {
            using var _ = new TensorScope();
            using var __ = Tape.NoGrad();
            var h = model.Dynamics.GuidedHidden(ids, model.ActionVectors([1, action]), 1, 3).ToArray();
            return h[(2 * h.Length / 3)..];
        }
        Assert.NotEqual(Last(0), Last(3));
        model.Dynamics.Guidance = 0;
        Assert.Equal(Last(0), Last(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Dynamics.Guidance = -1);
        Assert.Throws<InvalidDataException>(() => TestData.Tiny("dynamics.guidance=-0.5"));
    }

    [Fact]
    public void ActionGuidance_WarnsOnlyForAModelTrainedWithoutActionDropout()
    {
        var plain = new GenieModel(TestData.Tiny(), new Rng(1));
        Assert.Null(plain.Dynamics.SamplingWarning);                   // w = 1: no guidance, nothing to warn of
        plain.Dynamics.Guidance = 2;
        Assert.Contains("action dropout", plain.Dynamics.SamplingWarning);
        plain.Dynamics.Guidance = 1;
        Assert.Null(plain.Dynamics.SamplingWarning);
        var dropped = new GenieModel(TestData.Tiny("dynamics.action_dropout=0.1", "dynamics.guidance=2"), new Rng(1));
        Assert.Null(dropped.Dynamics.SamplingWarning);
        Assert.NotNull(DynamicsConfig.GuidanceWarning(0, 0));
    }

    [Theory]
    [InlineData("add")]
    [InlineData("token")]
    public void ActionDropout_HidesTheDroppedActions_FromTheTrainingLoss(string conditioning)
    {
        // Two sets of actions for the same clips: the loss sees the difference without dropout and none when every
        // transition is dropped (0.999 per transition; for these 6 transitions and this seed all are).
        float Loss(string dropout, float[] actions, bool dropActions = true)
        {
            var cfg = TestData.Tiny($"dynamics.action_conditioning={conditioning}", $"dynamics.action_dropout={dropout}");
            var dyn = new DynamicsModel(cfg, 16, new Rng(7));
            var rng = new Rng(8);
            var ids = Enumerable.Range(0, 2 * 4 * 16).Select(_ => rng.NextInt(64)).ToArray();
            using var _ = new TensorScope();
            using var __ = Tape.NoGrad();
            return dyn.Forward(ids, Tensor.From(actions, 6, cfg.Lam.LatentDim), 2, 4, new Rng(9), dropActions).Loss.ToArray()[0];
        }
        int l = TestData.Tiny().Lam.LatentDim;
        var r = new Rng(10);
        var one = Enumerable.Range(0, 6 * l).Select(_ => r.NextFloat() - 0.5f).ToArray();
        var other = Enumerable.Range(0, 6 * l).Select(_ => r.NextFloat() - 0.5f).ToArray();
        Assert.NotEqual(Loss("0", one), Loss("0", other));
        Assert.Equal(Loss("0.999", one), Loss("0.999", other));
        // Validation passes (dropActions false, as DynamicsTrainer.Evaluate runs them) see every action.
        Assert.NotEqual(Loss("0.999", one, dropActions: false), Loss("0.999", other, dropActions: false));
        Assert.Equal(Loss("0", one), Loss("0.999", one, dropActions: false));
        Assert.NotEqual(Loss("0", one), Loss("0.999", one));
        Assert.Throws<InvalidDataException>(() => TestData.Tiny("dynamics.action_dropout=1"));
    }

    // A tiny dynamics model with self-forcing on every clip, b clips of t frames of random codes, and latent actions.
    private static (DynamicsModel Dyn, int[] Ids, Tensor Actions) SelfForcingCase(int b, int t, params string[] sets)
    {
        var cfg = TestData.Tiny(["dynamics.masking=prefix", "dynamics.self_forcing=1", .. sets]);
        var dyn = new DynamicsModel(cfg, 16, new Rng(7));
        var rng = new Rng(3);
        var ids = Enumerable.Range(0, b * t * dyn.Tokens).Select(_ => rng.NextInt(dyn.CodebookSize)).ToArray();
        var actions = Tensor.From(Enumerable.Range(0, b * (t - 1) * cfg.Lam.LatentDim).Select(i => (float)Math.Sin(i)).ToArray(), [b * (t - 1), cfg.Lam.LatentDim]);
        return (dyn, ids, actions);
    }

    [Fact]
    public void SelfForcing_OverSeveralFrames_MakesEachFromTheFramesBefore_RealThenItsOwn()
    {
        int b = 8, t = 6, n = 16, k = 64;
        using var scope = new TensorScope();
        var (dyn, ids, actions) = SelfForcingCase(b, t, "max_frames=6", "dynamics.self_forcing_frames=3");
        var (context, firsts, made) = dyn.SelfForce(ids, actions, b, t, new Rng(5));
        Assert.Contains(made, m => m > 1);                                  // several frames are made, not only one
        for (int c = 0; c < b; c++)
        {
            Assert.InRange(made[c], 1, 3);
            Assert.InRange(firsts[c], made[c] + 1, t - 1);                  // frame 1 stays real
            int from = firsts[c] - made[c];
            // Frames outside from..k−1 are the real ones.
            for (int f = 0; f < t; f++)
                if (f < from || f >= firsts[c])
                    Assert.Equal(ids.AsSpan((c * t + f) * n, n).ToArray(), context.AsSpan((c * t + f) * n, n).ToArray());
            // Each made frame g is the greedy prediction from the context before it (real frames, then the model's own).
            for (int g = from; g < firsts[c]; g++)
            {
                var input = (int[])context.Clone();
                Array.Fill(input, dyn.MaskId, (c * t + g) * n, (t - g) * n);
                var logits = dyn.Logits(input, actions, b, t).ToArray();
                for (int i = 0; i < n; i++)
                {
                    int at = (c * t + g) * n + i;
                    Assert.Equal(System.Numerics.Tensors.TensorPrimitives.IndexOfMax(new ReadOnlySpan<float>(logits, at * k, k)), context[at]);
                }
            }
        }
        Assert.Throws<InvalidDataException>(() => TestData.Tiny("dynamics.masking=prefix", "dynamics.self_forcing=0.5", "dynamics.self_forcing_frames=0"));
        Assert.Throws<InvalidDataException>(() => TestData.Tiny("dynamics.masking=prefix", "dynamics.self_forcing_frames=2"));   // needs self_forcing
    }

    [Fact]
    public void SelfForcing_ReplacesTheFrameBeforeTheFirstMaskedOneByTheModelsGreedyPrediction()
    {
        int b = 6, t = 4, n = 16, k = 64;
        using var scope = new TensorScope();
        var (dyn, ids, actions) = SelfForcingCase(b, t);
        var (context, firsts, made) = dyn.SelfForce(ids, actions, b, t, new Rng(5));
        Assert.All(made, m => Assert.Equal(1, m));
        for (int c = 0; c < b; c++)
        {
            int g = firsts[c] - 1;                                          // the frame the model made
            Assert.InRange(firsts[c], 2, t - 1);                            // every clip forced: k ≥ 3 (1-based)
            // What the model predicts for frame g from the real frames before it, with g and later all MASK.
            var input = (int[])ids.Clone();
            Array.Fill(input, dyn.MaskId, (c * t + g) * n, (t - g) * n);
            var logits = dyn.Logits(input, actions, b, t).ToArray();
            for (int f = 0; f < t; f++)
                for (int i = 0; i < n; i++)
                {
                    int at = (c * t + f) * n + i;
                    int expected = f != g ? ids[at] : System.Numerics.Tensors.TensorPrimitives.IndexOfMax(new ReadOnlySpan<float>(logits, at * k, k));
                    Assert.Equal(expected, context[at]);
                }
        }
        // The targets stay the real ids: Forward scores the masked frames against them, and its draws repeat.
        var out1 = dyn.Forward(ids, actions, b, t, new Rng(9)).Loss.Item();
        Assert.Equal(out1, dyn.Forward(ids, actions, b, t, new Rng(9)).Loss.Item());
        Assert.Throws<InvalidDataException>(() => TestData.Tiny("dynamics.self_forcing=0.5"));   // needs prefix masking
    }

    [Fact]
    public void ContextCorruption_ShareFollowsTheDrawnLevel_AndFrameOneIsUntouched()
    {
        var cfg = TestData.Tiny("dynamics.corrupt_max=0.8", "dynamics.mask_min=0", "dynamics.mask_max=0");
        var dyn = new DynamicsModel(cfg, 16, new Rng(7));
        int b = 400, t = 4, n = 16;
        var rng = new Rng(3);
        var ids = Enumerable.Range(0, b * t * n).Select(_ => rng.NextInt(64)).ToArray();
        var (masked, mask, levels) = dyn.MaskAndCorrupt(ids, b, t, new Rng(5));
        Assert.NotNull(levels);
        Assert.All(mask, m => Assert.Equal(0f, m));                             // mask rate 0: nothing masked
        var changedByBucket = new double[DynamicsConfig.CorruptBuckets];
        var countByBucket = new int[DynamicsConfig.CorruptBuckets];
        for (int c = 0; c < b; c++)
        {
            for (int i = 0; i < n; i++) Assert.Equal(ids[c * t * n + i], masked[c * t * n + i]);   // frame 1 untouched
            int changed = 0;
            for (int i = n; i < t * n; i++) if (masked[c * t * n + i] != ids[c * t * n + i]) changed++;
            changedByBucket[levels![c]] += (double)changed / ((t - 1) * n);
            countByBucket[levels[c]]++;
        }
        // Bucket j holds levels in [j, j+1)·0.8/8; a random code equals the old one 1/64 of the time.
        for (int j = 0; j < DynamicsConfig.CorruptBuckets; j++)
        {
            Assert.True(countByBucket[j] > 10, $"bucket {j} drawn {countByBucket[j]} times");
            double share = changedByBucket[j] / countByBucket[j], expected = (j + 0.5) * 0.1 * 63 / 64;
            Assert.InRange(share, expected - 0.05, expected + 0.05);
        }
    }

    [Fact]
    public void PrefixMasking_LeavesEveryFrameBeforeTheFirstMaskedOneComplete()
    {
        var cfg = TestData.Tiny("dynamics.masking=prefix", "dynamics.mask_min=1");
        var dyn = new DynamicsModel(cfg, 16, new Rng(7));
        int b = 200, t = 4, n = 16;
        var ids = new int[b * t * n];
        var (masked, mask, _) = dyn.MaskAndCorrupt(ids, b, t, new Rng(5));
        var firstMasked = new int[t];
        for (int c = 0; c < b; c++)
        {
            // At mask rate 1, frames 1..k−1 are complete and frames k..T fully masked, for one k in 2..T per clip.
            var full = Enumerable.Range(0, t).Select(f => Enumerable.Range(0, n).All(i => mask[(c * t + f) * n + i] == 1f)).ToArray();
            var none = Enumerable.Range(0, t).Select(f => Enumerable.Range(0, n).All(i => mask[(c * t + f) * n + i] == 0f)).ToArray();
            int k = Array.IndexOf(full, true);
            Assert.InRange(k, 1, t - 1);
            for (int f = 0; f < t; f++) Assert.True(f < k ? none[f] : full[f], $"clip {c} frame {f} (first masked {k})");
            for (int i = 0; i < masked.Length / b; i++)
                Assert.Equal(mask[c * t * n + i] == 1f ? dyn.MaskId : 0, masked[c * t * n + i]);
            firstMasked[k]++;
        }
        for (int k = 1; k < t; k++) Assert.True(firstMasked[k] > 40, $"first masked frame {k} drawn {firstMasked[k]} of {b} times");
    }

    [Fact]
    public void PaperMasking_DrawsAsItAlwaysDid()
    {
        // The defaults must draw the same random numbers as before the options existed: the same masks as this
        // plain re-implementation of the paper's rule.
        var cfg = TestData.Tiny();
        var dyn = new DynamicsModel(cfg, 16, new Rng(7));
        int b = 3, t = 4, n = 16;
        var (_, mask, levels) = dyn.MaskAndCorrupt(new int[b * t * n], b, t, new Rng(11));
        Assert.Null(levels);
        var rng = new Rng(11);
        var expected = new float[b * t * n];
        for (int c = 0; c < b; c++)
        {
            float r = 0.5f + 0.5f * rng.NextFloat();
            for (int f = 1; f < t; f++)
                for (int i = 0; i < n; i++)
                    if (rng.NextFloat() < r) expected[(c * t + f) * n + i] = 1f;
        }
        Assert.Equal(expected, mask);
    }

    [Fact]
    public void ChangeWeight_WeighsTheMaskedTokensThatDifferFromThePreviousFrame()
    {
        var dyn = new DynamicsModel(TestData.Tiny("dynamics.change_weight=4"), 2, new Rng(7));
        // One clip of 3 frames of 2 tokens: token 0 changes at frame 1, token 1 at frame 2; everything after frame 0 masked but one.
        int[] ids = [5, 6, 9, 6, 9, 7];
        float[] mask = [0, 0, 1, 1, 0, 1];
        Assert.Equal([0f, 0f, 4f, 1f, 0f, 4f], dyn.LossWeights(ids, mask, 1, 3));
        Assert.Same(mask, new DynamicsModel(TestData.Tiny(), 2, new Rng(7)).LossWeights(ids, mask, 1, 3));   // the paper's plain mask
        Assert.Throws<InvalidDataException>(() => TestData.Tiny("dynamics.change_weight=0.5"));
    }

    [Fact]
    public void CompareMotion_RightEveryFrameAgrees_AndAFrozenRolloutNeverMoves()
    {
        var real = Enumerable.Repeat((3, 0), 15).ToList();
        var same = Enumerable.Range(0, 15).Select(i => (1 + i % 4, 0)).ToList();   // right by varying amounts
        var frozen = Enumerable.Repeat((0, 0), 15).ToList();
        var moving = Metrics.CompareMotion(real, same);
        Assert.Equal(1.0, moving.DirectionAgreement);
        Assert.Equal(1.0, moving.MovingGeneratedShare);
        Assert.Equal(1.0, moving.MovingRealShare);
        var still = Metrics.CompareMotion(real, frozen);
        Assert.Equal(0.0, still.MovingGeneratedShare);
        Assert.Equal(0.0, still.DirectionAgreement);
        // Left against right, and up-right against right: wrong direction. Pooled counts add.
        var wrong = Metrics.CompareMotion([(3, 0), (3, 0), (0, 0), (2, -1)], [(-2, 0), (3, -2), (4, 0), (2, -5)]);
        Assert.Equal(new MotionComparison(4, 3, 4, 1), wrong);
        Assert.Equal(1.0 / 3, wrong.DirectionAgreement, 12);
        Assert.Equal(new MotionComparison(19, 18, 19, 16), wrong + moving);
        Assert.Throws<ArgumentException>(() => Metrics.CompareMotion(real, frozen.Take(3).ToList()));
    }

    [Fact]
    public void LatentMotion_CountsEachTransitionsLatentBesideTheWayTheRealViewMoves()
    {
        Assert.Equal(7, Metrics.DirectionClass((3, 0)));          // right
        Assert.Equal(3, Metrics.DirectionClass((0, -12)));        // up (dy < 0)
        Assert.Equal(Metrics.StillClass, Metrics.DirectionClass((0, 0)));
        Assert.Equal(2, Metrics.DirectionClass((-4, 8)));         // left-down
        Assert.Equal("left-down", Metrics.DirectionNames[2]);

        // Clip 0 scrolls a textured view 4 pixels right every frame, clip 1 stands still.
        var cfg = TestData.Tiny();
        int h = cfg.Height, w = cfg.Width, t = 4, fb = h * w * 3;
        var rng = new Rng(5);
        var world = new byte[h * (w + 4 * t) * 3];
        for (int i = 0; i < world.Length; i++) world[i] = (byte)rng.NextInt(256);
        var frames = new byte[2 * t * fb];
        for (int f = 0; f < t; f++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++)
                    {
                        frames[(f * h * w + y * w + x) * 3 + c] = world[(y * (w + 4 * t) + x + 4 * f) * 3 + c];
                        frames[((t + f) * h * w + y * w + x) * 3 + c] = world[(y * (w + 4 * t) + x) * 3 + c];
                    }
        var batch = new ClipBatch { BatchSize = 2, ClipLength = t, Height = h, Width = w, Frames = frames, Episodes = [0, 1], Starts = [0, 0] };
        var lam = new LatentActionModel(cfg, new Rng(1));
        var m = GenieEvaluation.ComputeLatentMotion(lam, cfg, [batch], radius: 6);
        Assert.Equal(cfg.Lam.NumActions, m.Counts.Length);
        Assert.Equal(2 * (t - 1), m.Counts.Sum(r => r.Sum()));
        Assert.Equal(t - 1, m.Counts.Sum(r => r[Metrics.DirectionClass((4, 0))]));      // the scroll: content moves left, so dx > 0
        Assert.Equal(t - 1, m.Counts.Sum(r => r[Metrics.StillClass]));
        Assert.Equal(1.0, m.DirectionShare);      // every moving transition moves one way
        // The share by hand: latent 0 moves right 3×, left 1× (and stands 5×), latent 1 moves up 2×: (3 + 2) / 6.
        var byHand = new int[2][];
        byHand[0] = [0, 1, 0, 0, 5, 0, 0, 3, 0];
        byHand[1] = [0, 0, 0, 2, 0, 0, 0, 0, 0];
        Assert.Equal(5.0 / 6, Metrics.DirectionShare(byHand), 12);
        Assert.Equal(0, Metrics.DirectionShare([[0, 0, 0, 0, 7, 0, 0, 0, 0]]));
        Assert.Equal(0, Metrics.ViewShift(frames.AsSpan(0, fb), frames.AsSpan(fb, fb), h, w, 6).Dy);
    }

    [Fact]
    public void SelfFollow_CountsHowOftenEachLabelFollowsItself_WithinSequencesOnly()
    {
        // Label 0 starts four pairs, (0,0), (0,0), (0,1) and (0,1); label 1 one, (1,1); the (1,0) across the two
        // sequences is no pair.
        var (per, overall) = Metrics.SelfFollow([[0, 0, 0, 1], [0, 1, 1]], 3);
        Assert.Equal(2.0 / 4, per[0], 12);
        Assert.Equal(1.0, per[1], 12);
        Assert.True(double.IsNaN(per[2]));
        Assert.Equal(3.0 / 5, overall, 12);
        Assert.Equal((0.0, true), (Metrics.SelfFollow([[2], []], 3).Overall, double.IsNaN(Metrics.SelfFollow([[2]], 3).PerLabel[2])));
        Assert.Contains("label 3 ", Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.SelfFollow([[0, 3]], 3)).Message);
        Assert.Contains("label -1 ", Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.SelfFollow([[-1, 2]], 3)).Message);

        Assert.Equal((0.75 + 0.5) / 2, Metrics.RowPurity([[3, 1], [0, 0], [2, 2]]), 12);
        Assert.Equal(1.0, Metrics.RowPurity([[0, 5], [4, 0]]));
        Assert.Equal(0.0, Metrics.RowPurity([[0, 0]]));
    }

    [Fact]
    public void HeldLatents_CountsTheLamsReadingOfEachHeldButton()
    {
        var cfg = TestData.Tiny();
        var lam = new LatentActionModel(cfg, new Rng(3));
        int t = cfg.MaxFrames, fb = cfg.Height * cfg.Width * 3;
        var moving = TestData.MovingSquare(t, cfg.Height, new Rng(4)).Frames;
        List<byte[]> Frames(int count) => Enumerable.Range(0, count).Select(i => moving.AsSpan(i * fb, fb).ToArray()).ToList();
        // Button 0 and button 2 give the same frames, button 1 a rollout cut short, button 3 one that ended at once.
        var held = GenieEvaluation.ComputeHeldLatents(lam, cfg, 4, [(0, Frames(t)), (1, Frames(t - 1)), (2, Frames(t)), (3, Frames(1))]);
        Assert.Equal(4, held.Counts.Length);
        Assert.Equal(cfg.Lam.NumActions, held.Counts[0].Length);
        Assert.Equal([t - 1, t - 2, t - 1, 0], held.Counts.Select(r => r.Sum()));
        Assert.Equal(held.Counts[0], held.Counts[2]);       // the same frames read the same way, whichever button made them
        // The LAM's own ids, read one rollout at a time, give the rows and the self-follow.
        int[] Ids(int n) => lam.InferActions(Patches.Tensor(moving.AsSpan(0, n * fb).ToArray(), 1, n, cfg.Height, cfg.Width, cfg.Lam.Patch));
        var whole = Ids(t);
        for (int a = 0; a < cfg.Lam.NumActions; a++) Assert.Equal(whole.Count(id => id == a), held.Counts[0][a]);
        Assert.Equal(Metrics.SelfFollow([whole, Ids(t - 1), whole], cfg.Lam.NumActions).Overall, held.SelfFollow, 12);
        Assert.Equal(Metrics.RowPurity(held.Counts), held.Purity, 12);

        // Two buttons whose frames are the same cannot be told apart: no information.
        var same = GenieEvaluation.ComputeHeldLatents(lam, cfg, 2, [(0, Frames(t)), (1, Frames(t))]);
        Assert.Equal(0.0, same.Nmi, 9);
        Assert.Throws<ArgumentOutOfRangeException>(() => GenieEvaluation.ComputeHeldLatents(lam, cfg, 2, [(2, Frames(3))]));
        Assert.Throws<ArgumentException>(() => GenieEvaluation.ComputeHeldLatents(lam, cfg, 2, [(0, Frames(1))]));
        Assert.Throws<ArgumentException>(() => GenieEvaluation.ComputeHeldLatents(lam, cfg, 2,
            [(0, Enumerable.Repeat(moving.AsSpan(0, fb).ToArray(), cfg.MaxFrames + 1).ToList())]));
        // One sequence per rollout in the order given, empty for the one that ended at once.
        Assert.Equal([t - 1, t - 2, t - 1, 0], held.Sequences.Select(q => q.Length));
        Assert.Equal(whole, held.Sequences[0]);
    }

    [Fact]
    public void DirectionAgreement_CountsTheRealMovesThatTheGeneratedFramesFollow()
    {
        // Frames as (x, y) positions of the view; the shift between two is their difference.
        static byte[] At(int x, int y) => [(byte)x, (byte)y];
        static (int, int) Shift(byte[] a, byte[] b) => (b[0] - a[0], b[1] - a[1]);
        var real = new List<byte[]> { At(5, 5), At(6, 5), At(6, 5), At(7, 4), At(7, 6) };   // right, still, right-up, down
        Assert.Equal((3, 3), GenieEvaluation.DirectionAgreement(real, real, Shift));
        var frozen = Enumerable.Repeat(At(5, 5), 5).ToList();
        Assert.Equal((3, 0), GenieEvaluation.DirectionAgreement(real, frozen, Shift));
        // The same moves by other amounts agree; the other way, or on one axis only, does not.
        var looser = new List<byte[]> { At(5, 5), At(9, 5), At(9, 5), At(12, 3), At(12, 4) };   // right, still, right-up, down
        Assert.Equal((3, 3), GenieEvaluation.DirectionAgreement(real, looser, Shift));
        var other = new List<byte[]> { At(5, 5), At(4, 5), At(5, 5), At(6, 5), At(6, 7) };      // left, right, right, down
        Assert.Equal((3, 1), GenieEvaluation.DirectionAgreement(real, other, Shift));
        Assert.Throws<ArgumentException>(() => GenieEvaluation.DirectionAgreement(real, frozen.Take(4).ToList(), Shift));
    }

    [Fact]
    public void WorldDriven_StepsTheSessionWithEachRolloutsLatents_FromItsFirstFrame()
    {
        var cfg = TestData.Tiny();
        var model = new GenieModel(cfg, new Rng(11));
        int t = cfg.MaxFrames, fb = cfg.Height * cfg.Width * 3;
        var moving = TestData.MovingSquare(t, cfg.Height, new Rng(4)).Frames;
        List<byte[]> Frames(int from, int count) => Enumerable.Range(from, count).Select(i => moving.AsSpan(i * fb, fb).ToArray()).ToList();
        // 2 buttons × 2 prompts, button by button, each from another frame; one rollout ended at once, one has latents
        // for its start only.
        List<(int, IReadOnlyList<byte[]>)> held = [(0, Frames(0, t)), (0, Frames(1, t - 1)), (1, Frames(3, 1)),
            (1, Frames(0, t).AsEnumerable().Reverse().ToList())];
        int[][] latents =
        [
            Enumerable.Range(0, t - 1).Select(i => i % cfg.Lam.NumActions).ToArray(),
            Enumerable.Range(0, t - 2).Select(i => (i + 1) % 2).ToArray(),
            [],
            [2, 3],
        ];
        var generated = new Dictionary<int, IReadOnlyList<byte[]>>();
        var driven = GenieEvaluation.ComputeWorldDriven(model, 2, 2, held, latents, t - 1, seed: 7, onRollout: (i, f) => generated[i] = f);
        // The same sessions by hand: from each rollout's first frame, one step per latent, the same seed; the decoded
        // prompt first.
        int movingFrames = 0, agreeing = 0;
        (int, int) Shift(byte[] x, byte[] y) => Metrics.ViewShift(x, y, cfg.Height, cfg.Width, 12);
        for (int i = 0; i < held.Count; i++)
        {
            var world = held[i].Item2;
            using var session = new GenieSession(model, world[0], 7);
            var frames = new List<byte[]> { session.CurrentFrame };
            foreach (var id in latents[i]) frames.Add(session.Step(id));
            Assert.Equal(frames.Count, generated[i].Count);
            for (int f = 0; f < frames.Count; f++) Assert.Equal(frames[f], generated[i][f]);
            var (m, a) = GenieEvaluation.DirectionAgreement(world.Take(frames.Count).ToList(), frames, Shift);
            movingFrames += m; agreeing += a;
        }
        Assert.NotEqual(generated[0][1], generated[3][1]);   // other prompts and latents, other frames
        Assert.Equal(movingFrames, driven.MovingFrames);
        Assert.True(driven.MovingFrames > 0);   // the square moves in the world's frames
        Assert.Equal(movingFrames == 0 ? 0 : (double)agreeing / movingFrames, driven.DirectionAgreement, 12);
        // The controllability rows are the held-action measure of those frames, button by button.
        var control = GenieEvaluation.HeldActions(2, 2, t - 1, (b, p) => generated[b * 2 + p], Shift);
        Assert.Equal(control.Actions, driven.Control.Actions);
        // Out of order, or counts that do not match, are refused.
        Assert.Throws<ArgumentException>(() => GenieEvaluation.ComputeWorldDriven(model, 2, 2, [held[2], held[3], held[0], held[1]],
            [latents[2], latents[3], latents[0], latents[1]], t - 1, 7));
        Assert.Throws<ArgumentException>(() => GenieEvaluation.ComputeWorldDriven(model, 2, 1, held, latents, t - 1, 7));
        Assert.Throws<ArgumentException>(() => GenieEvaluation.ComputeWorldDriven(model, 2, 2, held,
            [latents[0], latents[1], [1], latents[3]], t - 1, 7));   // a latent for a rollout with no transition
    }

    [Fact]
    public void SessionAppend_TeacherForcesTheContext_AndSampleNextLeavesTheFramesAlone()
    {
        var cfg = TestData.Tiny();
        var model = new GenieModel(cfg, new Rng(21));
        var clip = TestData.MovingSquare(4, 16, new Rng(22)).Frames;
        int fb = 16 * 16 * 3, n = model.Tokenizer.Tokens;
        int[] real;
        using (new TensorScope()) real = model.Tokenizer.Encode(Patches.Tensor(clip, 1, 4, 16, 16, 4));
        using var session = new GenieSession(model, clip.AsSpan(0, fb).ToArray(), seed: 3);
        var sampled = session.SampleNext(1);
        Assert.Equal(1, session.FrameCount);
        var preview = session.Preview(sampled);
        // Appending the sampled tokens is the step the preview showed.
        Assert.Equal(preview, session.Append(sampled, 1));
        // Teacher forcing: the real tokens join the context; the next frame is sampled after them.
        session.Append(real[(2 * n)..(3 * n)], 2);
        Assert.Equal(real[(2 * n)..(3 * n)], session.Tokens[2]);
        Assert.Equal(3, session.FrameCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Append(Enumerable.Repeat(model.Dynamics.MaskId, n).ToArray(), 0));
        Assert.Throws<ArgumentException>(() => session.Append(new int[n - 1], 0));
    }
}
