using Genie.Core;
using Genie.Worlds.Platformer;

namespace Genie.Worlds.Agents;

/// <summary>
/// A random agent that plays as a person exploring a level would: it holds a direction (right, left or none) for
/// a stretch of <c>minHold..maxHold</c> steps, jumps when that direction is blocked (it held a direction, stands on
/// something and did not move since its last step), and otherwise jumps now and then on its own. It knows
/// nothing of the level beyond where the player is, so it does not plan: it walks into hazards and off ledges
/// as a random agent does, but a held button keeps moving the player, which is what video for a world model that
/// is played by holding buttons must show. (<see cref="RandomStickyAgent"/> holding "right" stands against the
/// first step up for the rest of its hold: on its data the view moves in about one transition in nine.)
/// </summary>
public sealed class ExplorerAgent : IAgent
{
    /// <summary>Chance that a stretch holds right, left (the rest holds no direction).</summary>
    public const double RightShare = 0.45, LeftShare = 0.35;
    /// <summary>Chance per step of starting a jump unprompted.</summary>
    public const double JumpChance = 0.08;
    /// <summary>Steps a jump press lasts (long enough to leave the ground at any ticks-per-frame).</summary>
    public const int JumpSteps = 2;

    private readonly Rng _rng;
    private readonly int _minHold, _maxHold;
    private readonly bool _purposeful;
    private int _direction, _left, _jumping;
    private double _lastX = double.NaN, _blockedX = double.NaN;

    /// <summary>
    /// An agent seeded with <paramref name="seed"/>, holding each direction <paramref name="minHold"/>..<paramref name="maxHold"/> steps.
    /// <paramref name="purposeful"/> makes its presses show: it starts each level going right (where levels lead),
    /// and a direction that is still blocked where it was blocked before (the jump did not get over it: the level's
    /// border, a wall too high) is reversed and held afresh, as a person exploring turns around, instead of pushing
    /// against the wall for the rest of the hold; a pause lasts a quarter of a stretch and going left a third, so a
    /// look back does not walk all the way to the level's start. Without it (the default, the data made so far)
    /// the explorer keeps pushing and jumping: most of its "left" presses are at the left border where every level
    /// starts, and almost nine in ten move nothing (docs/training.md, "A world that plays", item 10).
    /// </summary>
    public ExplorerAgent(ulong seed, int minHold = 10, int maxHold = 30, bool purposeful = false)
    {
        if (minHold < 1 || maxHold < minHold) throw new ArgumentException($"hold must satisfy 1 ≤ min ≤ max, got {minHold}..{maxHold}");
        _rng = new Rng(seed);
        _minHold = minHold; _maxHold = maxHold; _purposeful = purposeful;
    }

    /// <inheritdoc/>
    public string Name => "explorer";

    /// <inheritdoc/>
    public int Act(PlatformerWorld world)
    {
        if (_left == 0)
        {
            double u = _rng.NextDouble();
            bool firstStep = double.IsNaN(_lastX);                              // Reset clears _lastX
            _direction = _purposeful && firstStep ? 1 : u < RightShare ? 1 : u < RightShare + LeftShare ? -1 : 0;
            _left = _rng.NextInt(_minHold, _maxHold + 1);
            // Purposeful: a pause is short, and going back (left, away from where levels lead) is a look back, not a
            // walk to the level's start.
            if (_purposeful && _direction != 1) _left = Math.Max(1, _left / (_direction == 0 ? 4 : 3));
            _blockedX = double.NaN;
        }
        _left--;
        ref readonly var p = ref world.Player;
        bool blocked = _direction != 0 && p.WasSupported && Math.Abs(p.X - _lastX) < 1e-9;
        _lastX = p.X;
        if (blocked && _purposeful)
        {
            if (Math.Abs(p.X - _blockedX) < 0.5)
            {
                // Blocked again where the last jump started: turn around and walk away for a new hold.
                _direction = -_direction;
                _left = _rng.NextInt(_minHold, _maxHold + 1) - 1;
                _blockedX = double.NaN;
                blocked = false;
            }
            else _blockedX = p.X;
        }
        if (_jumping == 0 && (blocked || _rng.NextDouble() < JumpChance)) _jumping = JumpSteps;
        bool jump = _jumping > 0;
        if (jump) _jumping--;
        return (_direction, jump) switch
        {
            (1, false) => PlatformerActions.Right,
            (1, true) => PlatformerActions.RightJump,
            (-1, false) => PlatformerActions.Left,
            (-1, true) => PlatformerActions.LeftJump,
            (_, true) => PlatformerActions.Jump,
            _ => PlatformerActions.Noop,
        };
    }

    /// <inheritdoc/>
    public void Reset() { _left = 0; _jumping = 0; _lastX = double.NaN; _blockedX = double.NaN; }
}
