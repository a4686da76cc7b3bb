using Genie.Data;

namespace Genie.Play;

/// <summary>Settings of the play server. Every limit here protects the process from one user or one bad request.</summary>
public sealed record PlayOptions
{
    /// <summary>Interface to listen on. Loopback by default: the page is for the person at this machine.</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>TCP port; 0 picks any free port (the URL printed says which).</summary>
    public int Port { get; init; } = 5000;
    /// <summary>Sessions that may exist at once (each holds its own KV caches: about 55 MB for `small`).</summary>
    public int MaxSessions { get; init; } = 4;
    /// <summary>A session nobody touched for this long is closed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(15);
    /// <summary>Frames one session may hold (64×64 RGB: 12 KB each); past it, reset or step back.</summary>
    public int MaxFramesPerSession { get; init; } = 2000;
    /// <summary>Most pixels (frames × enlarged width × height) one GIF or MP4 export may encode: by default 2,000 frames of 64×64 at scale 4.</summary>
    public long MaxExportPixels { get; init; } = 2000L * 256 * 256;
    /// <summary>Largest request body (an uploaded image).</summary>
    public long MaxUploadBytes { get; init; } = 20 * 1024 * 1024;
    /// <summary>Largest uploaded image in pixels, checked from its header before decoding.</summary>
    public long MaxImagePixels { get; init; } = 50_000_000;
    /// <summary>Inference runs one request at a time (it already uses every core); a request waits at most this long for its turn.</summary>
    public TimeSpan QueueTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Default MaskGIT steps per frame (null: the model's config).</summary>
    public int? Steps { get; init; }
    /// <summary>Default sampling temperature (null: the model's config).</summary>
    public float? Temperature { get; init; }
    /// <summary>How an uploaded image is fitted to the model's frame.</summary>
    public FitMode Fit { get; init; } = FitMode.Crop;
    /// <summary>Difficulty of the real platformer world (and of rendered sample prompts).</summary>
    public Genie.Worlds.Platformer.Difficulty Difficulty { get; init; } = Genie.Worlds.Platformer.Difficulty.Easy;
    /// <summary>Slide the context window in the background after each step, so the next key press waits less.</summary>
    public bool PrepareAhead { get; init; } = true;
}
