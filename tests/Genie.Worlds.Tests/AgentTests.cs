using Genie.Worlds.Agents;
using Genie.Worlds.Platformer;

namespace Genie.Worlds.Tests;

public class AgentTests
{
    [Fact]
    public void Expert_SolvesEveryEasyLevel_OfASample_WithinTheStepLimit()
    {
        var settings = new PlatformerSettings { Difficulty = Difficulty.Easy, MaxSteps = 1000 };
        var results = Episodes.Evaluate(settings, _ => new ExpertAgent(), 0, 40, 2);
        var failed = results.Where(r => !r.Success).Select(r => $"{r.LevelSeed}:{r.Reason}").ToList();
        Assert.True(failed.Count == 0, "unsolved easy levels: " + string.Join(", ", failed));
        Assert.All(results, r => Assert.True(r.Steps < 1000));
    }

    [Fact]
    public void Expert_SolvesMostHardLevels()
    {
        var settings = new PlatformerSettings { Difficulty = Difficulty.Hard };
        var results = Episodes.Evaluate(settings, _ => new ExpertAgent(), 1000, 40, 2);
        Assert.True(results.Count(r => r.Success) >= 38, $"expert solved {results.Count(r => r.Success)} of 40 hard levels");
    }

    [Fact]
    public void Expert_RecoversWhenSomeoneElseMovesThePlayer()
    {
        // A human (or another policy) plays a few ticks, then the expert takes over mid-air and still finishes.
        var world = new PlatformerWorld(new PlatformerSettings { Difficulty = Difficulty.Easy });
        world.Reset(3);
        var expert = new ExpertAgent();
        for (int t = 0; t < 5; t++) world.Step(expert.Act(world));
        world.Step(PlatformerActions.LeftJump);
        world.Step(PlatformerActions.Left);
        StepResult r;
        do r = world.Step(expert.Act(world)); while (!r.Done);
        Assert.True(r.Success);
    }

    // Lengths of the maximal runs of one action (the last, unfinished run left out).
    private static List<int> Runs(IReadOnlyList<int> actions)
    {
        var runs = new List<int>();
        int len = 1;
        for (int i = 1; i < actions.Count; i++)
        {
            if (actions[i] == actions[i - 1]) len++;
            else { runs.Add(len); len = 1; }
        }
        return runs;
    }

    [Fact]
    public void RandomSticky_HoldsEachDrawForTwoToEightTicks()
    {
        var world = new PlatformerWorld(new PlatformerSettings());
        var agent = new RandomStickyAgent(11);
        var actions = Enumerable.Range(0, 20000).Select(_ => agent.Act(world)).ToList();
        // Runs of one action are at least 2 long (consecutive draws of the same action merge into longer runs).
        var runs = Runs(actions);
        Assert.All(runs, r => Assert.True(r >= 2));
        Assert.InRange(runs.Average(), 5.0, 6.5);   // mean hold 5, plus merges of equal draws
        Assert.Equal(PlatformerActions.Count, actions.Distinct().Count());
    }

    [Fact]
    public void RandomSticky_HoldsAsLongAsTheRegistryIsTold()
    {
        // genie data make --hold 10-30: every run of one action lasts at least 10 steps.
        var world = new PlatformerWorld(new PlatformerSettings());
        var agent = AgentRegistry.Create("random", 11, (10, 30));
        var actions = Enumerable.Range(0, 20000).Select(_ => agent.Act(world)).ToList();
        var runs = Runs(actions);
        Assert.All(runs, r => Assert.True(r >= 10, $"a run of {r}"));
        Assert.InRange(runs.Average(), 20, 28);   // mean hold 20, plus merges of equal draws
        Assert.Throws<ArgumentException>(() => AgentRegistry.Create("random", 1, (5, 2)));
    }

    [Fact]
    public void RandomSticky_TravelsFurtherThanPerTickRandom()
    {
        // The reason for sticky actions: with the same budget a per-tick uniform policy barely leaves the start.
        static double MeanMaxX(Func<int, IAgent> make)
        {
            double sum = 0;
            for (int seed = 0; seed < 30; seed++)
            {
                var world = new PlatformerWorld(new PlatformerSettings { MaxSteps = 200 });
                world.Reset(seed);
                var agent = make(seed);
                double maxX = 0;
                while (!world.Done) { world.Step(agent.Act(world)); maxX = Math.Max(maxX, world.Player.X); }
                sum += maxX;
            }
            return sum / 30;
        }
        double sticky = MeanMaxX(s => new RandomStickyAgent((ulong)s));
        double perTick = MeanMaxX(s => new RandomStickyAgent((ulong)s, 1, 1));
        Assert.True(sticky > perTick + 1, $"sticky {sticky:F2} vs per-tick {perTick:F2}");
    }

    [Fact]
    public void Explorer_JumpsWhenBlockedAndTravelsFurtherThanRandomHolding()
    {
        // Holding "right" against the first step up, the random agent stands for the rest of its hold; the explorer
        // presses jump as soon as its held direction stops moving it, so it gets over steps and covers more ground.
        static (double MaxX, int BlockedJumps, int Blocked) Play(Func<int, IAgent> make)
        {
            double sum = 0; int jumps = 0, blocked = 0;
            for (int seed = 0; seed < 30; seed++)
            {
                var world = new PlatformerWorld(new PlatformerSettings { MaxSteps = 200, Difficulty = Difficulty.Easy, TicksPerStep = 3 });
                world.Reset(seed);
                var agent = make(seed);
                double maxX = 0, lastX = double.NaN;
                int lastAx = 0;
                while (!world.Done)
                {
                    int a = agent.Act(world);
                    var (ax, jump, _) = PlatformerActions.Decode(a);
                    // Blocked: the same direction held since the step before, standing, and not moved by it.
                    if (ax != 0 && ax == lastAx && world.Player.WasSupported && world.Player.X == lastX) { blocked++; if (jump) jumps++; }
                    lastX = world.Player.X; lastAx = ax;
                    world.Step(a);
                    maxX = Math.Max(maxX, world.Player.X);
                }
                sum += maxX;
            }
            return (sum / 30, jumps, blocked);
        }
        var explorer = Play(s => AgentRegistry.Create("explorer", (ulong)s));
        var random = Play(s => AgentRegistry.Create("random", (ulong)s, (10, 30)));
        Assert.True(explorer.Blocked > 0);
        Assert.Equal(explorer.Blocked, explorer.BlockedJumps);                      // every blocked step jumps
        Assert.True(random.BlockedJumps < random.Blocked / 2, $"random jumped in {random.BlockedJumps} of {random.Blocked} blocked steps");
        Assert.True(explorer.MaxX > random.MaxX + 1, $"explorer {explorer.MaxX:F2} vs random {random.MaxX:F2}");
    }

    [Fact]
    public void Explorer_HoldsDirectionsForTheirStretchAndIsDeterministic()
    {
        var world = new PlatformerWorld(new PlatformerSettings());
        List<int> Actions(ulong seed) { var agent = new ExplorerAgent(seed, 10, 30); return Enumerable.Range(0, 5000).Select(_ => agent.Act(world)).ToList(); }
        var actions = Actions(3);
        Assert.Equal(actions, Actions(3));
        Assert.NotEqual(actions, Actions(4));
        // The direction (ignoring jumps) changes only between stretches: runs of one direction last at least 10 steps.
        var directions = actions.Select(a => PlatformerActions.Decode(a).Ax).ToList();
        Assert.All(Runs(directions), r => Assert.True(r >= 10, $"a run of {r}"));
        Assert.Contains(-1, directions); Assert.Contains(1, directions); Assert.Contains(0, directions);
        Assert.DoesNotContain(PlatformerActions.Down, actions);
        Assert.Throws<ArgumentException>(() => new ExplorerAgent(1, 0, 5));
    }

    [Fact]
    public void PurposefulExplorer_StartsRightAndTurnsAtWallsInsteadOfPushing()
    {
        // Per agent over 30 easy levels: how many episodes start going right, and of the steps that hold a direction,
        // how many leave the player where it was (pushing into a wall, on the ground or jumping against it).
        static (int StartRight, int Stuck, int Held) Play(bool purposeful)
        {
            int startRight = 0, stuck = 0, held = 0;
            for (int seed = 0; seed < 30; seed++)
            {
                var world = new PlatformerWorld(new PlatformerSettings { MaxSteps = 200, Difficulty = Difficulty.Easy, TicksPerStep = 3 });
                world.Reset(seed);
                var agent = AgentRegistry.Create("explorer", (ulong)seed, purposeful: purposeful);
                bool first = true;
                while (!world.Done)
                {
                    int a = agent.Act(world);
                    var (ax, _, _) = PlatformerActions.Decode(a);
                    if (first && ax == 1) startRight++;
                    first = false;
                    double x = world.Player.X;
                    world.Step(a);
                    if (ax != 0) { held++; if (world.Player.X == x) stuck++; }
                }
            }
            return (startRight, stuck, held);
        }
        var plain = Play(false);
        var purposeful = Play(true);
        Assert.Equal(30, purposeful.StartRight);
        Assert.True(plain.StartRight < 30, $"the plain explorer started right in {plain.StartRight} of 30");
        double plainShare = plain.Stuck / (double)plain.Held, purposefulShare = purposeful.Stuck / (double)purposeful.Held;
        Assert.True(purposefulShare < plainShare / 2, $"held steps that move nothing: purposeful {purposefulShare:F3}, plain {plainShare:F3}");
    }
}
