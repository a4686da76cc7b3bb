namespace Genie.Worlds.Platformer;

/// <summary>CoinRun's two distributions of levels.</summary>
public enum Difficulty
{
    /// <summary>No walking enemies (pits hold lava or saws), one fixed visual theme.</summary>
    Easy,
    /// <summary>Walking enemies in pits and on ledges; random ground, background and player colours.</summary>
    Hard,
}

/// <summary>Settings of a <see cref="PlatformerWorld"/>. Everything has a default; the record is serialised into dataset manifests.</summary>
public sealed record PlatformerSettings
{
    /// <summary>Frame width in pixels.</summary>
    public int Width { get; init; } = 64;
    /// <summary>Frame height in pixels.</summary>
    public int Height { get; init; } = 64;
    /// <summary>Level distribution.</summary>
    public Difficulty Difficulty { get; init; } = Difficulty.Hard;
    /// <summary>An episode ends (reason TimeLimit) after this many steps, as CoinRun's 1000.</summary>
    public int MaxSteps { get; init; } = 1000;
    /// <summary>Tiles visible across the frame's width (CoinRun shows about 13).</summary>
    public double ViewTiles { get; init; } = 13;
    /// <summary>
    /// The camera's step in output pixels: 0 (default) follows the player smoothly; k &gt; 0 moves the camera only in
    /// whole steps of k pixels. With tiles of k pixels (<see cref="ViewTiles"/> = width / k) the tiles then line up
    /// with a k-pixel grid in every frame, so scrolling moves the picture by whole grid cells, as a tile-based
    /// console game scrolls; a video tokenizer with k-pixel patches sees a scroll as its tokens moving.
    /// </summary>
    public int CameraStep { get; init; } = 0;
    /// <summary>
    /// Scale of the background layers' parallax (clouds, mountains and hills move at 0.1, 0.25 and 0.5 of the
    /// camera's motion times this): 1 (default) as CoinRun, 0 a background fixed to the screen.
    /// </summary>
    public double Parallax { get; init; } = 1;
    /// <summary>
    /// Samples per pixel along each axis (1 = none, 2 = 2×2 supersampling). Smooths tile and sprite edges the way
    /// CoinRun's large-canvas-then-downsample rendering does, at about that factor squared in render cost.
    /// </summary>
    public int Antialias { get; init; } = 2;
    /// <summary>
    /// Action repeat: physics ticks per <see cref="PlatformerWorld.Step"/>, so per recorded frame (1 = every tick
    /// is a frame). With more, each frame shows several ticks of motion under one action, which makes an
    /// action's effect on the next frame larger and easier to learn from video. The time limit counts steps.
    /// </summary>
    public int TicksPerStep { get; init; } = 1;
    /// <summary>
    /// What drives the animations (the player's walk cycle, lava, saws, the coin's spin, walking enemies): false
    /// (default) the physics tick, as CoinRun; true the recorded frame, each animation advancing one phase per frame.
    /// With several ticks per frame the tick-driven cycles advance by uneven amounts from frame to frame, so the next
    /// frame's pose cannot be told from the current one; a latent action model then spends actions on animation
    /// phases (running right becomes two latents, one per step of the walk cycle). Frame-driven, every animation's
    /// next phase follows from the frame, and only the player's motion is left for the actions.
    /// </summary>
    public bool AnimatePerFrame { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad field.</summary>
    public void Validate()
    {
        if (Width < 8 || Height < 8 || Width > 4096 || Height > 4096) throw new ArgumentException($"frame size must be 8..4096 pixels per side, got {Width}x{Height}");
        if (MaxSteps < 1) throw new ArgumentException($"MaxSteps must be at least 1, got {MaxSteps}");
        if (!(ViewTiles >= 3 && ViewTiles <= 64)) throw new ArgumentException($"ViewTiles must be 3..64, got {ViewTiles}");
        if (CameraStep < 0 || CameraStep > Math.Min(Width, Height) / 4) throw new ArgumentException($"CameraStep must be 0..{Math.Min(Width, Height) / 4} pixels, got {CameraStep}");
        if (!(Parallax >= 0 && Parallax <= 1)) throw new ArgumentException($"Parallax must be in [0, 1], got {Parallax}");
        if (Antialias < 1 || Antialias > 4) throw new ArgumentException($"Antialias must be 1..4, got {Antialias}");
        if (TicksPerStep < 1 || TicksPerStep > 8) throw new ArgumentException($"TicksPerStep must be 1..8, got {TicksPerStep}");
    }
}
