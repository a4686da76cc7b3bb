using Genie.Core;
using Genie.Worlds.Platformer;

namespace Genie.Worlds.Agents;

/// <summary>
/// A random agent with sticky actions: it draws an action uniformly from all of them and holds it for a
/// uniform 2–8 steps (by default; a step is one recorded frame, of ticks-per-frame world ticks) before drawing again. A fresh uniform draw every tick mostly jitters in
/// place; holding actions makes the player travel, jump and fall, which is the video Genie learns from
/// (the paper's CoinRun data comes from a random policy).
/// </summary>
public sealed class RandomStickyAgent : IAgent
{
    private readonly Rng _rng;
    private readonly int _minHold, _maxHold;
    private int _action, _left;

    /// <summary>An agent seeded with <paramref name="seed"/>, holding each action <paramref name="minHold"/>..<paramref name="maxHold"/> steps.</summary>
    public RandomStickyAgent(ulong seed, int minHold = 2, int maxHold = 8)
    {
        if (minHold < 1 || maxHold < minHold) throw new ArgumentException($"hold must satisfy 1 ≤ min ≤ max, got {minHold}..{maxHold}");
        _rng = new Rng(seed);
        _minHold = minHold; _maxHold = maxHold;
    }

    /// <inheritdoc/>
    public string Name => "random";

    /// <inheritdoc/>
    public int Act(PlatformerWorld world)
    {
        if (_left == 0)
        {
            _action = _rng.NextInt(PlatformerActions.Count);
            _left = _rng.NextInt(_minHold, _maxHold + 1);
        }
        _left--;
        return _action;
    }

    /// <inheritdoc/>
    public void Reset() => _left = 0;
}
