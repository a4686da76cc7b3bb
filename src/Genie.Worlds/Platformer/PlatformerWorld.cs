using Genie.Core;
using Genie.Media;

namespace Genie.Worlds.Platformer;

/// <summary>The outcome of one <see cref="PlatformerWorld.Step"/>.</summary>
/// <param name="Done">The episode is over; call <see cref="PlatformerWorld.Reset(int)"/> before stepping again.</param>
/// <param name="Success">It ended at the coin.</param>
/// <param name="Reason">Why it ended (<see cref="EndReason.None"/> while it goes on).</param>
/// <param name="Reward">10 at the coin, else 0 (CoinRun's reward).</param>
/// <param name="Tick">Steps taken in this episode, including this one.</param>
public readonly record struct StepResult(bool Done, bool Success, EndReason Reason, float Reward, int Tick);

/// <summary>
/// A procedural CoinRun-style platformer: reach the coin at the right end of the level, avoiding lava, saws
/// and walking enemies. One tick per frame; actions in <see cref="PlatformerActions"/>; physics in
/// <see cref="Physics"/>; levels from <see cref="LevelGenerator"/>; pictures from <see cref="PlatformerRenderer"/>.
/// </summary>
/// <remarks>
/// Cheap to create and to step (no rendering happens unless asked), deterministic: the same level seed and
/// actions give the same states and frames on every machine. Not thread-safe; use one world per thread.
/// </remarks>
/// <example><code>
/// var world = new PlatformerWorld(new PlatformerSettings { Difficulty = Difficulty.Easy });
/// world.Reset(levelSeed: 7);
/// var frame = new byte[64 * 64 * 3];
/// while (true) { world.Render(frame); var r = world.Step(PlatformerActions.Right); if (r.Done) break; }
/// </code></example>
public sealed class PlatformerWorld
{
    private readonly Rng _rng;
    private PlatformerRenderer? _renderer;
    private PlayerState _player;
    private bool _generated; // Level came from LevelGenerator (so a reset to the same seed can keep it)

    /// <summary>Number of actions.</summary>
    public const int ActionCount = PlatformerActions.Count;
    /// <summary>Action names, indexed by action.</summary>
    public static IReadOnlyList<string> ActionNames => PlatformerActions.Names;

    /// <summary>The settings it was made with.</summary>
    public PlatformerSettings Settings { get; }
    /// <summary>The current level.</summary>
    public Level Level { get; private set; }
    /// <summary>The player (position, velocity).</summary>
    public ref readonly PlayerState Player => ref _player;
    /// <summary>Steps taken in this episode.</summary>
    public int Tick { get; private set; }
    /// <summary>Why the episode ended, or <see cref="EndReason.None"/>.</summary>
    public EndReason EndReason { get; private set; }
    /// <summary>True once the episode has ended.</summary>
    public bool Done => EndReason != EndReason.None;
    /// <summary>The current level's seed.</summary>
    public int LevelSeed => Level.Seed;
    /// <summary>The player's centre (x, y) in tiles, y up.</summary>
    public (double X, double Y) PlayerPosition => (_player.X, _player.Y);

    /// <summary>
    /// A world with <paramref name="settings"/>; <paramref name="seed"/> seeds the sequence of levels that
    /// <see cref="Reset()"/> draws. The first level is drawn at once.
    /// </summary>
    public PlatformerWorld(PlatformerSettings? settings = null, ulong seed = 0)
    {
        Settings = settings ?? new PlatformerSettings();
        Settings.Validate();
        _rng = new Rng(seed);
        Level = null!;
        Reset();
    }

    /// <summary>Starts a new episode on the next level of the world's seeded sequence.</summary>
    public void Reset() => Reset(_rng.NextInt(int.MaxValue));

    /// <summary>Starts a new episode on the level of <paramref name="levelSeed"/> (any non-negative int).</summary>
    public void Reset(int levelSeed)
    {
        if (levelSeed < 0) throw new ArgumentOutOfRangeException(nameof(levelSeed), "level seeds are non-negative");
        if (!_generated || Level.Seed != levelSeed || Level.Difficulty != Settings.Difficulty)
            Level = LevelGenerator.Generate(levelSeed, Settings.Difficulty);
        _generated = true;
        _player = Physics.Spawn(Level);
        Tick = 0;
        EndReason = EndReason.None;
    }

    /// <summary>Starts a new episode on a given level (e.g. one made with <see cref="Level.FromText"/>).</summary>
    public void Reset(Level level)
    {
        Level = level;
        _generated = false;
        _player = Physics.Spawn(Level);
        Tick = 0;
        EndReason = EndReason.None;
    }

    /// <summary>Advances one tick under <paramref name="action"/> (0 .. <see cref="ActionCount"/>−1).</summary>
    public StepResult Step(int action)
    {
        if (Done) throw new InvalidOperationException($"the episode is over ({EndReason}); call Reset first");
        // Action repeat: the same action for TicksPerStep physics ticks, stopping at the first contact.
        var contact = EndReason.None;
        for (int i = 0; i < Settings.TicksPerStep && contact == EndReason.None; i++)
        {
            Physics.Step(Level, ref _player, action);
            Tick++;
            contact = Physics.Contact(Level, _player, Tick);
        }
        if (contact == EndReason.None && Tick >= Settings.MaxSteps * Settings.TicksPerStep) contact = EndReason.TimeLimit;
        EndReason = contact;
        bool success = contact == EndReason.Coin;
        return new StepResult(contact != EndReason.None, success, contact, success ? 10f : 0f, Tick);
    }

    /// <summary>Draws the current frame into <paramref name="rgb"/> (Height × Width × 3 bytes, HWC).</summary>
    public void Render(Span<byte> rgb)
    {
        _renderer ??= new PlatformerRenderer(Settings);
        _renderer.Render(Level, _player, Tick, rgb);
    }

    /// <summary>The current frame as a new image.</summary>
    public Image Render()
    {
        var img = new Image(Settings.Width, Settings.Height);
        Render(img.Data);
        return img;
    }

    /// <summary>A copy of the episode state (level, player, tick) for planners: restoring it is exact.</summary>
    public WorldSnapshot Snapshot() => new(Level, _player, Tick, EndReason);

    /// <summary>Returns to a state taken with <see cref="Snapshot"/>.</summary>
    public void Restore(WorldSnapshot s)
    {
        if (!ReferenceEquals(s.Level, Level)) _generated = false;
        Level = s.Level; _player = s.Player; Tick = s.Tick; EndReason = s.EndReason;
    }
}

/// <summary>The whole state of an episode (the level itself is immutable and shared).</summary>
public readonly record struct WorldSnapshot(Level Level, PlayerState Player, int Tick, EndReason EndReason);
