using Genie.Worlds.Agents;
using Genie.Worlds.Platformer;

namespace Genie.Worlds.Tests;

public class PolicyEvaluationTests
{
    private static readonly PlatformerSettings Easy = new() { Difficulty = Difficulty.Easy, MaxSteps = 1000 };

    [Fact]
    public void Expert_ThroughTheLoop_SolvesEveryEasyLevel()
    {
        var levels = HeldOutLevels.Pick(5, 12, new HashSet<int>());
        var results = PolicyEvaluation.Run(Easy, levels, _ => new ExpertAgent(), 2);
        Assert.Equal(levels, results.Select(r => r.LevelSeed).ToArray());
        Assert.Equal(1.0, PolicyEvaluation.SolvedShare(results));
    }

    [Fact]
    public void NoopFramePolicy_SolvesNothing_AndTimesOut()
    {
        var settings = Easy with { MaxSteps = 200 };
        var levels = HeldOutLevels.Pick(6, 4, new HashSet<int>());
        var results = PolicyEvaluation.Run(settings, levels, _ => new FramePolicyAgent(_ => PlatformerActions.Noop, 4), 2);
        Assert.Equal(0.0, PolicyEvaluation.SolvedShare(results));
        Assert.All(results, r => Assert.False(r.Success));
    }

    [Fact]
    public void Loop_CountsAScriptedMixOfSuccesses()
    {
        // Odd levels get the expert, even ones a no-op: the share is exactly the expert's levels.
        var settings = Easy with { MaxSteps = 300 };
        var levels = new[] { 11, 12, 13, 14, 15, 16, 17 };
        var results = PolicyEvaluation.Run(settings, levels,
            l => l % 2 == 1 ? new ExpertAgent() : new FramePolicyAgent(_ => PlatformerActions.Noop, 2), 2);
        Assert.Equal([true, false, true, false, true, false, true], results.Select(r => r.Success).ToArray());
        Assert.Equal(4 / 7.0, PolicyEvaluation.SolvedShare(results), 12);
    }

    [Fact]
    public void FramePolicy_SeesTheRecordedFrames_OldestFirst()
    {
        var world = new PlatformerWorld(Easy with { MaxSteps = 20 });
        var (frames, actions, _) = Episodes.Record(world, new RandomStickyAgent(3), 9);
        int size = 64 * 64 * 3, t = 0;
        var agent = new FramePolicyAgent(seen =>
        {
            Assert.Equal(Math.Min(t + 1, 3), seen.Count);
            for (int k = 0; k < seen.Count; k++)
                Assert.True(seen[k].AsSpan().SequenceEqual(frames.AsSpan((t - seen.Count + 1 + k) * size, size)), $"step {t} frame {k}");
            return actions[t++];
        }, 3);
        var r = Episodes.Run(world, agent, 9);
        Assert.Equal(actions.Length - 1, t);
        Assert.Equal(t, r.Steps);
    }

    [Fact]
    public void HeldOutLevels_NeverOverlapTheTrainingEpisodes_AndRepeat()
    {
        var train = HeldOutLevels.OfDataset(7, 500);
        Assert.Equal(500, train.Count);
        // Exclude the training levels and also force the picker past collisions by excluding its own first picks.
        var first = HeldOutLevels.Pick(7, 50, new HashSet<int>());
        var exclude = new HashSet<int>(train); exclude.UnionWith(first.Take(25));
        var held = HeldOutLevels.Pick(7, 100, exclude);
        Assert.Equal(100, held.Distinct().Count());
        Assert.DoesNotContain(held, exclude.Contains);
        Assert.Equal(first.Skip(25), held.Take(25));
        Assert.Equal(held, HeldOutLevels.Pick(7, 100, exclude));
    }

    [Fact]
    public void Epsilon_TakesRandomActionsAboutTheRightShare()
    {
        var world = new PlatformerWorld(Easy);
        world.Reset(1);
        var agent = new EpsilonAgent(new FramePolicyAgent(_ => PlatformerActions.Noop, 1), 0.1, 42);
        int n = 20000, other = 0;
        for (int i = 0; i < n; i++) if (agent.Act(world) != PlatformerActions.Noop) other++;
        // A random action is a non-noop with probability (A−1)/A.
        double expected = 0.1 * (PlatformerActions.Count - 1) / PlatformerActions.Count;
        Assert.InRange(other / (double)n, expected - 0.01, expected + 0.01);
    }
}
