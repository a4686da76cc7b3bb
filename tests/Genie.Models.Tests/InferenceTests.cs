using Genie.Core;
using Genie.Models;

namespace Genie.Models.Tests;

public class InferenceTests
{
    private static (GenieModel Model, byte[] Prompt) Setup(int hop = 1)
    {
        var cfg = TestData.Tiny($"dynamics.window_hop={hop}");
        var model = new GenieModel(cfg, new Rng(21));
        var prompt = TestData.MovingSquare(1, 16, new Rng(22)).Frames;
        return (model, prompt);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void CachedSession_GivesTheSameTokensAsUncachedSampling_AcrossWindowSlides(int hop)
    {
        var (model, prompt) = Setup(hop);
        const int frames = 10;   // T_max is 4: the window slides up to six times
        var rng = new Rng(23);
        var actions = Enumerable.Range(0, frames - 1).Select(_ => rng.NextInt(model.NumActions)).ToArray();

        var uncached = model.GenerateTokens(prompt, 1, actions, frames, new Rng(99))[0];
        var video = model.DecodeVideo([uncached], 1, frames);

        using var session = new GenieSession(model, prompt, seed: 99);
        foreach (var a in actions) session.Step(a);
        int n = model.Tokenizer.Tokens, fb = 16 * 16 * 3;
        for (int f = 0; f < frames; f++)
        {
            Assert.Equal(uncached[(f * n)..((f + 1) * n)], session.Tokens[f]);
            var pixels = session.Frames[f];
            for (int i = 0; i < fb; i++)
                Assert.True(Math.Abs(pixels[i] - video[f * fb + i]) <= 1, $"frame {f} byte {i}: {pixels[i]} vs {video[f * fb + i]}");
        }
    }

    [Fact]
    public void Prepare_BetweenSteps_ChangesNoResult()
    {
        var (model, prompt) = Setup();
        int[] actions = [0, 1, 2, 3, 0, 1, 2, 3, 1];   // slides past T_max = 4
        using var plain = new GenieSession(model, prompt, seed: 7);
        using var prepared = new GenieSession(model, prompt, seed: 7);
        foreach (var a in actions)
        {
            plain.Step(a);
            prepared.Prepare();
            Assert.False(prepared.NeedsSlide);
            prepared.Step(a);
        }
        for (int f = 0; f < plain.FrameCount; f++)
        {
            Assert.Equal(plain.Tokens[f], prepared.Tokens[f]);
            Assert.Equal(plain.Frames[f], prepared.Frames[f]);
        }
    }

    [Fact]
    public void StepBack_And_Reset_ReplayTheSameFrames()
    {
        var (model, prompt) = Setup();
        using var session = new GenieSession(model, prompt, seed: 5);
        int[] actions = [1, 2, 3, 0, 1, 2];
        foreach (var a in actions) session.Step(a);
        var tokens = session.Tokens.Select(t => (int[])t.Clone()).ToList();

        session.StepBack();
        session.StepBack();
        Assert.Equal(actions.Length - 1, session.FrameCount);
        Assert.Equal(tokens[^3], session.Tokens[^1]);

        session.Reset();
        Assert.Equal(1, session.FrameCount);
        foreach (var a in actions) session.Step(a);
        for (int f = 0; f < tokens.Count; f++) Assert.Equal(tokens[f], session.Tokens[f]);
    }

    [Fact]
    public void DifferentActions_GiveDifferentFrames_AndABadActionIsAClearError()
    {
        var (model, prompt) = Setup();
        using var a = new GenieSession(model, prompt, seed: 1);
        using var b = new GenieSession(model, prompt, seed: 1);
        a.Step(0); b.Step(3);
        Assert.NotEqual(a.Tokens[1], b.Tokens[1]);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => a.Step(model.NumActions));
        Assert.Contains("latent action", e.Message);
        Assert.Throws<ArgumentException>(() => new GenieSession(model, new byte[10], 1));
    }
}
