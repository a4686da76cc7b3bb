using Genie.Core;
using Genie.Worlds.Platformer;

namespace Genie.Worlds.Agents;

/// <summary>
/// An agent that sees only pixels: each step it renders the frame and calls the policy with the last
/// <c>history</c> frames, oldest first (fewer at the start of an episode), each H×W×3 bytes. This is how policies
/// learned from video (behaviour cloning, paper §6) play the real platformer.
/// </summary>
public sealed class FramePolicyAgent : IAgent
{
    private readonly Func<IReadOnlyList<byte[]>, int> _policy;
    private readonly int _history;
    private readonly List<byte[]> _frames = new();

    /// <summary>An agent asking <paramref name="policy"/> for each action, given up to <paramref name="history"/> frames.</summary>
    public FramePolicyAgent(Func<IReadOnlyList<byte[]>, int> policy, int history, string name = "frames")
    {
        if (history < 1) throw new ArgumentException($"history must be at least 1, got {history}");
        _policy = policy;
        _history = history;
        Name = name;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int Act(PlatformerWorld world)
    {
        byte[] frame;
        if (_frames.Count == _history) { frame = _frames[0]; _frames.RemoveAt(0); } // reuse the oldest buffer
        else frame = new byte[world.Settings.Width * world.Settings.Height * 3];
        world.Render(frame);
        _frames.Add(frame);
        int a = _policy(_frames);
        if ((uint)a >= PlatformerActions.Count) throw new InvalidOperationException($"the policy returned action {a}, not 0..{PlatformerActions.Count - 1}");
        return a;
    }

    /// <inheritdoc/>
    public void Reset() => _frames.Clear();
}

/// <summary>
/// Wraps an agent so that with probability <c>epsilon</c> each step takes a uniformly random action instead (the
/// paper's behaviour-cloning data has 10 % random actions, appendix E). The wrapped agent is still asked every
/// step, so its own memory stays in step with the episode.
/// </summary>
public sealed class EpsilonAgent : IAgent
{
    private readonly IAgent _inner;
    private readonly double _epsilon;
    private readonly Rng _rng;

    /// <summary>Takes a random action with probability <paramref name="epsilon"/>, else <paramref name="inner"/>'s.</summary>
    public EpsilonAgent(IAgent inner, double epsilon, ulong seed)
    {
        if (!(epsilon >= 0 && epsilon <= 1)) throw new ArgumentException($"epsilon must be in [0, 1], got {epsilon}");
        _inner = inner; _epsilon = epsilon; _rng = new Rng(seed);
    }

    /// <inheritdoc/>
    public string Name => _inner.Name;

    /// <inheritdoc/>
    public int Act(PlatformerWorld world)
    {
        int a = _inner.Act(world);
        return _rng.NextDouble() < _epsilon ? _rng.NextInt(PlatformerActions.Count) : a;
    }

    /// <inheritdoc/>
    public void Reset() => _inner.Reset();
}

/// <summary>Level seeds for scoring agents on levels that no training episode played.</summary>
public static class HeldOutLevels
{
    /// <summary>The level seeds of episodes 0..<paramref name="episodes"/>−1 of a dataset made with <paramref name="dataSeed"/> (<see cref="Episodes.Seeds"/>).</summary>
    public static HashSet<int> OfDataset(ulong dataSeed, int episodes)
    {
        var set = new HashSet<int>();
        for (int i = 0; i < episodes; i++) set.Add(Episodes.Seeds(dataSeed, i).Level);
        return set;
    }

    /// <summary>
    /// <paramref name="count"/> distinct level seeds drawn from <paramref name="seed"/>, none in <paramref name="exclude"/>;
    /// the same arguments give the same list.
    /// </summary>
    public static int[] Pick(ulong seed, int count, IReadOnlySet<int> exclude)
    {
        if (count < 0) throw new ArgumentException($"count must be non-negative, got {count}");
        var rng = new Rng(seed ^ 0x5EEDF00DCAFEBEEFUL);
        var picked = new List<int>(count);
        var seen = new HashSet<int>();
        while (picked.Count < count)
        {
            int s = rng.NextInt(int.MaxValue);
            if (!exclude.Contains(s) && seen.Add(s)) picked.Add(s);
        }
        return picked.ToArray();
    }
}

/// <summary>Scores agents on a list of levels.</summary>
public static class PolicyEvaluation
{
    /// <summary>
    /// Plays each level of <paramref name="levelSeeds"/> once with a fresh agent from <paramref name="makeAgent"/>
    /// (given the level seed) on <paramref name="threads"/> threads, each within the settings' step limit; results in
    /// the order of <paramref name="levelSeeds"/>. <paramref name="progress"/> gets the number of levels done.
    /// </summary>
    public static EpisodeResult[] Run(PlatformerSettings settings, IReadOnlyList<int> levelSeeds, Func<int, IAgent> makeAgent, int threads,
        Action<int>? progress = null)
    {
        var results = new EpisodeResult[levelSeeds.Count];
        int done = 0;
        Parallel.For(0, levelSeeds.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) },
            () => new PlatformerWorld(settings),
            (i, _, world) =>
            {
                int level = levelSeeds[(int)i];
                results[i] = Episodes.Run(world, makeAgent(level), level);
                progress?.Invoke(Interlocked.Increment(ref done));
                return world;
            },
            _ => { });
        return results;
    }

    /// <summary>The share of <paramref name="results"/> that reached the coin (0 for none).</summary>
    public static double SolvedShare(IReadOnlyList<EpisodeResult> results) =>
        results.Count == 0 ? 0 : results.Count(r => r.Success) / (double)results.Count;
}
