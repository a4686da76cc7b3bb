using Genie.Worlds.Platformer;

namespace Genie.Worlds.Agents;

/// <summary>Something that picks the platformer's next action from the world's state.</summary>
public interface IAgent
{
    /// <summary>A short name ("random", "expert").</summary>
    string Name { get; }

    /// <summary>The action to take now (0 .. <see cref="PlatformerActions.Count"/>−1).</summary>
    int Act(PlatformerWorld world);

    /// <summary>Forgets per-episode memory; call at the start of each episode.</summary>
    void Reset();
}

/// <summary>Makes agents by name, for the command line.</summary>
public static class AgentRegistry
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["random", "explorer", "expert"];

    /// <summary>
    /// An agent by name; <paramref name="seed"/> seeds the random ones, and <paramref name="hold"/> (steps each of its
    /// actions or directions is held, min..max; default 2..8 for random, 10..30 for explorer) sets how long they
    /// keep a button down; <paramref name="purposeful"/> makes the explorer start each level going right and turn
    /// around at a wall its jump does not get over.
    /// </summary>
    public static IAgent Create(string name, ulong seed, (int Min, int Max)? hold = null, bool purposeful = false) => name switch
    {
        "random" => hold is { } h ? new RandomStickyAgent(seed, h.Min, h.Max) : new RandomStickyAgent(seed),
        "explorer" => hold is { } e ? new ExplorerAgent(seed, e.Min, e.Max, purposeful) : new ExplorerAgent(seed, purposeful: purposeful),
        "expert" => new ExpertAgent(),
        _ => throw new ArgumentException($"unknown agent '{name}' (choose from: {string.Join(", ", Names)})"),
    };
}
