using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Genie.Engine;
using Genie.Models;
using Genie.Worlds.Platformer;

namespace Genie.Play;

/// <summary>An error the user caused or can act on: an HTTP status and a message for the page.</summary>
public sealed class PlayException(int status, string message) : Exception(message)
{
    /// <summary>HTTP status code.</summary>
    public int Status { get; } = status;
}

/// <summary>
/// One player's world: a learned Genie rollout or the real platformer. Each session owns all of its state (its own
/// <see cref="GenieSession"/> with its own caches, or its own <see cref="PlatformerWorld"/>); nothing mutable is
/// shared between sessions except the read-only model weights. Callers hold <see cref="Lock"/> while using it.
/// </summary>
public abstract class PlaySession : IDisposable
{
    /// <summary>Random id (128 bits, URL-safe): knowing it is what grants access to the session.</summary>
    public string Id { get; } = NewId();
    /// <summary>"genie" or "world".</summary>
    public abstract string Mode { get; }
    /// <summary>Frame size.</summary>
    public abstract int Width { get; }
    /// <summary>Frame size.</summary>
    public abstract int Height { get; }
    /// <summary>Every frame so far (H, W, 3); the first is the prompt or the level start.</summary>
    public abstract IReadOnlyList<byte[]> Frames { get; }
    /// <summary>The action before each frame after the first.</summary>
    public abstract IReadOnlyList<int> Actions { get; }
    /// <summary>Names and keys of this session's actions.</summary>
    public abstract ActionMap ActionMap { get; }
    /// <summary>A line about the state (e.g. the episode ended), or null.</summary>
    public virtual string? Status => null;
    /// <summary>Settings worth showing (seed, steps, temperature, level).</summary>
    public abstract IReadOnlyDictionary<string, object> Settings { get; }

    /// <summary>Serialises use: one request at a time per session.</summary>
    public SemaphoreSlim Lock { get; } = new(1, 1);
    /// <summary>Last time a request used it (for the idle timeout).</summary>
    public long LastUsedTicks { get; set; } = Environment.TickCount64;
    /// <summary>Milliseconds the last step took to compute.</summary>
    public double LastStepMs { get; protected set; }
    /// <summary>Set once disposed; a late background job checks it.</summary>
    public bool Disposed { get; private set; }

    /// <summary>Takes an action; returns the new frame.</summary>
    public byte[] Step(int action)
    {
        if ((uint)action >= (uint)ActionMap.Names.Count)
            throw new PlayException(400, $"action {action} does not exist; this {(Mode == "genie" ? "model" : "world")} has actions 0..{ActionMap.Names.Count - 1}");
        var clock = Stopwatch.StartNew();
        var frame = StepCore(action);
        LastStepMs = clock.Elapsed.TotalMilliseconds;
        return frame;
    }

    /// <summary>The step itself.</summary>
    protected abstract byte[] StepCore(int action);
    /// <summary>Drops the latest frame (never the first).</summary>
    public abstract void StepBack();
    /// <summary>Back to the first frame.</summary>
    public abstract void Reset();
    /// <summary>True when <see cref="Prepare"/> has work that would otherwise delay the next step.</summary>
    public virtual bool NeedsPrepare => false;
    /// <summary>Does ahead of time what the next step would start with.</summary>
    public virtual void Prepare() { }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (Disposed) return;
        Disposed = true;
        DisposeCore();
    }

    /// <summary>Frees what the session holds.</summary>
    protected virtual void DisposeCore() { }

    private static string NewId() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>A rollout of the learned world model: a <see cref="GenieWorld"/> (the cached, interactive sampler).</summary>
public sealed class GenieWorldSession : PlaySession
{
    private readonly GenieWorld _world;

    /// <summary>Encodes the prompt (H, W, 3 at the model's size) and starts the rollout. Runs inference: call it under the inference gate.</summary>
    public GenieWorldSession(GenieModel model, ActionMap actions, byte[] prompt, ulong seed, int? steps, float? temperature)
    {
        if (steps is < 1 or > 100) throw new PlayException(400, $"steps must be in 1..100, got {steps}");
        if (temperature is < 0 or > 10 || (temperature is { } t && float.IsNaN(t))) throw new PlayException(400, $"temperature must be in 0..10, got {temperature}");
        _world = new GenieWorld(model, actions);
        if (steps is { } s) _world.Steps = s;
        if (temperature is { } tau) _world.Temperature = tau;
        _world.Start(prompt, model.Config.Width, model.Config.Height, seed);
    }

    /// <inheritdoc/>
    public override string Mode => "genie";
    /// <inheritdoc/>
    public override int Width => _world.Width;
    /// <inheritdoc/>
    public override int Height => _world.Height;
    /// <inheritdoc/>
    public override IReadOnlyList<byte[]> Frames => _world.Frames;
    /// <inheritdoc/>
    public override IReadOnlyList<int> Actions => _world.Actions;
    /// <inheritdoc/>
    public override ActionMap ActionMap => _world.ActionMap;
    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, object> Settings => new Dictionary<string, object>
    {
        ["seed"] = _world.Seed, ["steps"] = _world.Steps, ["temperature"] = _world.Temperature,
    };

    /// <inheritdoc/>
    protected override byte[] StepCore(int action) => _world.Step(action);

    /// <inheritdoc/>
    public override void StepBack() => _world.StepBack();

    /// <inheritdoc/>
    public override void Reset() => _world.Reset();

    /// <inheritdoc/>
    public override bool NeedsPrepare => _world.NeedsPrepare;

    /// <inheritdoc/>
    public override void Prepare() => _world.Prepare();

    /// <inheritdoc/>
    protected override void DisposeCore() => _world.Dispose();
}

/// <summary>The real platformer world, for comparison: the same page, its true actions.</summary>
public sealed class RealWorldSession : PlaySession
{
    private readonly PlatformerWorld _world;
    private readonly List<WorldSnapshot> _states = new();
    private readonly List<byte[]> _frames = new();
    private readonly List<int> _actions = new();
    private readonly int _level;

    /// <summary>A world at <paramref name="width"/>×<paramref name="height"/> on level <paramref name="levelSeed"/>.</summary>
    public RealWorldSession(int width, int height, Difficulty difficulty, int levelSeed)
    {
        if (levelSeed < 0) throw new PlayException(400, $"level must be a non-negative number, got {levelSeed}");
        _world = new PlatformerWorld(new PlatformerSettings { Width = width, Height = height, Difficulty = difficulty });
        _world.Reset(levelSeed);
        _level = levelSeed;
        _states.Add(_world.Snapshot());
        _frames.Add(_world.Render().Data);
    }

    /// <inheritdoc/>
    public override string Mode => "world";
    /// <inheritdoc/>
    public override int Width => _world.Settings.Width;
    /// <inheritdoc/>
    public override int Height => _world.Settings.Height;
    /// <inheritdoc/>
    public override IReadOnlyList<byte[]> Frames => _frames;
    /// <inheritdoc/>
    public override IReadOnlyList<int> Actions => _actions;
    /// <inheritdoc/>
    public override ActionMap ActionMap { get; } = ActionMap.ForWorld();
    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, object> Settings => new Dictionary<string, object>
    {
        ["level"] = _level, ["difficulty"] = _world.Settings.Difficulty.ToString().ToLowerInvariant(),
    };

    /// <inheritdoc/>
    public override string? Status => _world.EndReason switch
    {
        EndReason.None => null,
        EndReason.Coin => "you reached the coin: the episode is over (reset, step back, or start a new level)",
        EndReason.TimeLimit => "time is up: the episode is over (reset, step back, or start a new level)",
        var r => $"the episode ended ({r.ToString().ToLowerInvariant()}): reset, step back, or start a new level",
    };

    /// <inheritdoc/>
    protected override byte[] StepCore(int action)
    {
        if (_world.Done) throw new PlayException(409, Status!);
        _world.Step(action);
        var frame = _world.Render().Data;
        _states.Add(_world.Snapshot());
        _frames.Add(frame);
        _actions.Add(action);
        return frame;
    }

    /// <inheritdoc/>
    public override void StepBack()
    {
        if (_frames.Count <= 1) return;
        _states.RemoveAt(_states.Count - 1);
        _frames.RemoveAt(_frames.Count - 1);
        _actions.RemoveAt(_actions.Count - 1);
        _world.Restore(_states[^1]);
    }

    /// <inheritdoc/>
    public override void Reset()
    {
        _states.RemoveRange(1, _states.Count - 1);
        _frames.RemoveRange(1, _frames.Count - 1);
        _actions.Clear();
        _world.Restore(_states[0]);
    }
}

/// <summary>
/// The live sessions: at most <see cref="PlayOptions.MaxSessions"/>, each closed after
/// <see cref="PlayOptions.IdleTimeout"/> without a request.
/// </summary>
public sealed class SessionStore : IDisposable
{
    private readonly ConcurrentDictionary<string, PlaySession> _sessions = new();
    private readonly PlayOptions _options;
    private readonly Timer _sweeper;
    private readonly object _gate = new();
    private int _reserved;

    /// <summary>A store with the limits of <paramref name="options"/>.</summary>
    public SessionStore(PlayOptions options)
    {
        _options = options;
        var period = TimeSpan.FromTicks(Math.Clamp(options.IdleTimeout.Ticks / 4, TimeSpan.FromSeconds(1).Ticks, TimeSpan.FromMinutes(1).Ticks));
        _sweeper = new Timer(_ => CloseIdle(), null, period, period);
    }

    /// <summary>Sessions open now.</summary>
    public int Count => _sessions.Count;

    /// <summary>
    /// Reserves a place, builds a session with <paramref name="create"/> and adds it; a full store is a 429 with a
    /// message. A failed build releases the place.
    /// </summary>
    public async Task<PlaySession> AddAsync(Func<Task<PlaySession>> create)
    {
        lock (_gate)
        {
            if (_sessions.Count + _reserved >= _options.MaxSessions)
                throw new PlayException(429, $"the server already has {_options.MaxSessions} sessions open (its limit); close one, or wait for an idle one to time out after {_options.IdleTimeout.TotalMinutes:0.#} minutes");
            _reserved++;
        }
        try
        {
            var s = await create();
            _sessions[s.Id] = s;
            return s;
        }
        finally { lock (_gate) _reserved--; }
    }

    /// <summary>The session with this id, or a 404.</summary>
    public PlaySession Get(string id)
    {
        if (!_sessions.TryGetValue(id, out var s) || s.Disposed)
            throw new PlayException(404, "no such session (it was closed, timed out after being idle, or the server restarted); start a new one");
        s.LastUsedTicks = Environment.TickCount64;
        return s;
    }

    /// <summary>Closes a session; false if there was none.</summary>
    public async Task<bool> CloseAsync(string id)
    {
        if (!_sessions.TryRemove(id, out var s)) return false;
        await s.Lock.WaitAsync();
        try { s.Dispose(); }
        finally { s.Lock.Release(); }
        return true;
    }

    /// <summary>Closes every session idle longer than the timeout.</summary>
    public void CloseIdle()
    {
        long now = Environment.TickCount64;
        foreach (var (id, s) in _sessions)
            if (now - s.LastUsedTicks > _options.IdleTimeout.TotalMilliseconds && s.Lock.CurrentCount > 0)
                _ = CloseAsync(id);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _sweeper.Dispose();
        foreach (var id in _sessions.Keys.ToList()) CloseAsync(id).GetAwaiter().GetResult();
    }
}

/// <summary>
/// Runs inference one request at a time: a step already uses every core, so two at once would only make both
/// slower, and a queue keeps one user from starving the others. A request waits at most the queue timeout.
/// </summary>
public sealed class InferenceGate(TimeSpan timeout)
{
    private readonly SemaphoreSlim _slot = new(1, 1);

    /// <summary>Requests waiting or running.</summary>
    public int Waiting => _waiting;
    private int _waiting;

    /// <summary>Runs <paramref name="work"/> on this thread when it is this request's turn; a 503 if the wait is too long.</summary>
    public async Task<T> RunAsync<T>(Func<T> work, CancellationToken cancel = default)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            if (!await _slot.WaitAsync(timeout, cancel))
                throw new PlayException(503, $"the server is busy (other players' frames are being computed); try again in a moment");
            try
            {
                // Inference state (tensor scopes, the autograd switch) is per thread: run it all here, synchronously.
                using var scope = new TensorScope();
                return work();
            }
            finally { _slot.Release(); }
        }
        finally { Interlocked.Decrement(ref _waiting); }
    }
}
