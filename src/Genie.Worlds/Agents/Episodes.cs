using Genie.Worlds.Platformer;

namespace Genie.Worlds.Agents;

/// <summary>How one episode went.</summary>
/// <param name="LevelSeed">The level played.</param>
/// <param name="Success">The coin was reached.</param>
/// <param name="Reason">Why it ended.</param>
/// <param name="Steps">Actions taken (frames = steps + 1).</param>
public readonly record struct EpisodeResult(int LevelSeed, bool Success, EndReason Reason, int Steps);

/// <summary>Runs agents in the platformer.</summary>
public static class Episodes
{
    /// <summary>
    /// Plays one episode of level <paramref name="levelSeed"/>. If <paramref name="onFrame"/> is given it is
    /// called with each frame (the first after reset, then one after every step) and the action taken after
    /// that frame (−1 after the last frame): frame t, then action t leads to frame t+1.
    /// </summary>
    public static EpisodeResult Run(PlatformerWorld world, IAgent agent, int levelSeed, Action<ReadOnlySpan<byte>, int>? onFrame = null)
    {
        world.Reset(levelSeed);
        agent.Reset();
        byte[]? frame = onFrame is null ? null : new byte[world.Settings.Width * world.Settings.Height * 3];
        StepResult r;
        do
        {
            if (frame is not null) world.Render(frame);
            int a = agent.Act(world);
            if (frame is not null) onFrame!(frame, a);
            r = world.Step(a);
        } while (!r.Done);
        if (frame is not null) { world.Render(frame); onFrame!(frame, -1); }
        return new EpisodeResult(levelSeed, r.Success, r.Reason, r.Tick);
    }

    /// <summary>
    /// Plays one episode and returns its frames (T×H×W×3 bytes, T = steps + 1) and actions (T values; action t is
    /// taken after frame t and leads to frame t+1; the last is −1).
    /// </summary>
    public static (byte[] Frames, int[] Actions, EpisodeResult Result) Record(PlatformerWorld world, IAgent agent, int levelSeed)
    {
        var frames = new List<byte>();
        var actions = new List<int>();
        var result = Run(world, agent, levelSeed, (rgb, a) => { frames.AddRange(rgb); actions.Add(a); });
        return (frames.ToArray(), actions.ToArray(), result);
    }

    /// <summary>
    /// The level seed and agent seed of episode <paramref name="index"/> of a dataset made with <paramref name="runSeed"/>:
    /// each episode's seeds depend only on (run seed, index), so datasets are the same whatever the thread count.
    /// </summary>
    public static (int Level, ulong Agent) Seeds(ulong runSeed, int index)
    {
        var rng = new Genie.Core.Rng(runSeed * 0x9E3779B97F4A7C15UL + (ulong)index);
        return (rng.NextInt(int.MaxValue), rng.NextUInt64());
    }

    /// <summary>Plays <paramref name="levels"/> levels (seeds first..first+levels−1) on <paramref name="threads"/> threads; results in seed order.</summary>
    public static EpisodeResult[] Evaluate(PlatformerSettings settings, Func<int, IAgent> makeAgent, int firstSeed, int levels, int threads,
        Action<int>? progress = null)
    {
        var results = new EpisodeResult[levels];
        int done = 0;
        Parallel.For(0, levels, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) },
            () => new PlatformerWorld(settings),
            (i, _, world) =>
            {
                results[i] = Run(world, makeAgent(firstSeed + (int)i), firstSeed + (int)i);
                progress?.Invoke(Interlocked.Increment(ref done));
                return world;
            },
            _ => { });
        return results;
    }
}
