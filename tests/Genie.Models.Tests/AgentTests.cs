using Genie.Core;
using Genie.Engine;
using Genie.Engine.Optim;
using Genie.Models.Agents;

namespace Genie.Models.Tests;

/// <summary>The pieces of behaviour cloning from latent actions: the latent→real dictionary and the policy.</summary>
public class AgentTests
{
    private const int Noop = 0, Right = 1, Left = 2, Jump = 3;

    [Fact]
    public void Dictionary_LatentAlwaysSeenWithRight_MapsToRight()
    {
        var d = LatentActionDictionary.FromPairs([2, 2, 2, 0, 0, 1], [Right, Right, Right, Left, Jump, Left], 4, 4);
        var rng = new Rng(1);
        for (int i = 0; i < 100; i++) Assert.Equal(Right, d.Sample(2, rng));
        Assert.True(d.Seen(2));
        Assert.Equal(3, d.Count(2, Right));
    }

    [Fact]
    public void Dictionary_UnseenLatent_FallsBackToTheMostCommonRealAction()
    {
        var d = LatentActionDictionary.FromPairs([0, 0, 1, 1, 1], [Left, Left, Left, Right, Jump], 4, 4);
        Assert.False(d.Seen(3));
        Assert.Equal(Left, d.Fallback);
        Assert.Equal(Left, d.Sample(3, new Rng(5)));
        // No labels at all: action 0.
        Assert.Equal(Noop, LatentActionDictionary.FromPairs([], [], 4, 4).Sample(1, new Rng(5)));
    }

    [Fact]
    public void Dictionary_SamplesInProportionToCounts_AndRepeatsForASeed()
    {
        var latent = Enumerable.Repeat(1, 100).ToArray();
        var real = Enumerable.Repeat(Right, 75).Concat(Enumerable.Repeat(Jump, 25)).ToArray();
        var d = LatentActionDictionary.FromPairs(latent, real, 2, 4);
        int[] Draw(ulong seed) { var r = new Rng(seed); return Enumerable.Range(0, 20000).Select(_ => d.Sample(1, r)).ToArray(); }
        var draws = Draw(9);
        Assert.InRange(draws.Count(a => a == Right) / 20000.0, 0.73, 0.77);
        Assert.Equal(20000, draws.Count(a => a == Right || a == Jump));
        Assert.Equal(draws, Draw(9));
    }

    [Fact]
    public void Dictionary_Agreement_IsTheChanceADrawMatchesTheTrueAction()
    {
        // Latent 0: right twice, jump twice (each drawn half the time); latent 1: always left; latent 3 unseen → fallback.
        var d = LatentActionDictionary.FromPairs([0, 0, 0, 0, 1, 1, 1], [Right, Right, Jump, Jump, Left, Left, Left], 4, 4);
        Assert.Equal(0.5, d.Probability(0, Right));
        Assert.Equal(1.0, d.Probability(1, Left));
        Assert.Equal(1.0, d.Probability(3, Left));   // the most common label
        Assert.Equal(0.0, d.Probability(3, Right));
        // Scored on (0, right), (1, left), (1, right), (3, left): 0.5 + 1 + 0 + 1 over 4.
        Assert.Equal(0.625, d.Agreement([0, 1, 1, 3], [Right, Left, Right, Left]), 12);
    }

    [Fact]
    public void Window_RepeatsTheFirstFrame_BeforeTheEpisodeStarts()
    {
        var episode = new byte[] { 10, 11, 20, 21, 30, 31 };   // three "frames" of 2 bytes
        var dst = new byte[6];
        PolicyNetwork.Window(episode, 0, 3, 2, dst);
        Assert.Equal([10, 11, 10, 11, 10, 11], dst);
        PolicyNetwork.Window(episode, 2, 3, 2, dst);
        Assert.Equal([10, 11, 20, 21, 30, 31], dst);
        PolicyNetwork.Window(episode, 1, 3, 2, dst);
        Assert.Equal([10, 11, 10, 11, 20, 21], dst);
    }

    [Fact]
    public void Policy_OverfitsAHandfulOfTransitions()
    {
        const int h = 16, w = 16, k = 4, b = 8, classes = 5;
        var rng = new Rng(2);
        var frames = new byte[b * k * h * w * 3];
        for (int i = 0; i < frames.Length; i++) frames[i] = (byte)rng.NextInt(256);
        var targets = Enumerable.Range(0, b).Select(i => i % classes).ToArray();
        var policy = new PolicyNetwork(new PolicyConfig(h, w, 4, k, classes, Dim: 32, Heads: 2, Depth: 2), new Rng(3));
        var opt = new AdamW(policy.Parameters()) { WeightDecay = 0 };
        double first = 0, last = 0;
        for (int step = 0; step < 150; step++)
        {
            last = policy.TrainStep(opt, frames, targets, 3e-3f);
            if (step == 0) first = last;
        }
        Assert.True(first > 1.2, $"initial loss {first} should be near ln {classes}");
        Assert.True(last < 0.05, $"loss after 150 steps: {last}");
        Assert.Equal(targets, policy.Predict(frames, b));
    }

    [Fact]
    public void Policy_SameSeed_SameWeightsAndPredictions()
    {
        var cfg = new PolicyConfig(16, 16, 4, 2, 3, Dim: 16, Heads: 2, Depth: 1);
        var frames = new byte[3 * 2 * 16 * 16 * 3];
        var rng = new Rng(4);
        for (int i = 0; i < frames.Length; i++) frames[i] = (byte)rng.NextInt(256);
        int[] Train()
        {
            var p = new PolicyNetwork(cfg, new Rng(7));
            var opt = new AdamW(p.Parameters());
            for (int s = 0; s < 5; s++) p.TrainStep(opt, frames, [0, 1, 2], 1e-2f);
            return p.Predict(frames, 3);
        }
        Assert.Equal(Train(), Train());
    }

    [Fact]
    public void Policy_SamplesItsSoftmax_AndTemperatureZeroIsTheArgmax()
    {
        var cfg = new PolicyConfig(16, 16, 4, 2, 3, Dim: 16, Heads: 2, Depth: 1);
        var policy = new PolicyNetwork(cfg, new Rng(5));
        var window = new byte[2 * 16 * 16 * 3];
        var rng = new Rng(6);
        for (int i = 0; i < window.Length; i++) window[i] = (byte)rng.NextInt(256);
        float[] logits;
        using (new TensorScope()) logits = policy.Forward(policy.Input(window, 1)).ToArray();
        // Sharpen the head's output so the softmax is far from uniform: temperature 0.05 scales the logits by 20.
        const float t = 0.05f;
        var p = logits.Select(l => Math.Exp((l - logits.Max()) / t)).ToArray();
        double z = p.Sum();
        const int n = 3000;
        var batch = new byte[n * window.Length];
        for (int i = 0; i < n; i++) window.CopyTo(batch, i * window.Length);
        var drawn = policy.Act(batch, n, t, new Rng(8));
        for (int a = 0; a < 3; a++)
        {
            double share = drawn.Count(x => x == a) / (double)n;
            Assert.True(Math.Abs(share - p[a] / z) < 0.03, $"action {a}: drawn {share:F3}, softmax {p[a] / z:F3}");
        }
        Assert.Equal(drawn, policy.Act(batch, n, t, new Rng(8)));
        int best = Array.IndexOf(logits, logits.Max());
        Assert.All(policy.Act(batch.AsSpan(0, 10 * window.Length), 10, 0f, null), a => Assert.Equal(best, a));
    }

    [Fact]
    public void SeedInterval_IsTheStudentT95()
    {
        var (mean, half) = SeedInterval.Of([0.2, 0.4, 0.6]);
        Assert.Equal(0.4, mean, 12);
        Assert.Equal(4.303 * 0.2 / Math.Sqrt(3), half, 9);
        Assert.Equal((0.5, 0.0), SeedInterval.Of([0.5]));
    }
}
