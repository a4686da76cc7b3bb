using Genie.Data;
using Genie.Engine;
using Genie.Engine.Autograd;
using Genie.Media;
using Genie.Models;

namespace Genie.Play;

/// <summary>
/// The way a program plays a learned world: load a model folder, start from a picture, step with a latent action,
/// read the frame as RGB bytes, step back, reset. The play server's sessions and <c>genie rollout</c> play through it.
/// <code>
/// using var world = GenieWorld.Load("models/small");
/// world.Start(world.PromptFiles[0], seed: 1);        // or Start(rgb, width, height, seed)
/// byte[] frame = world.Frame;                        // Height×Width×3 RGB, row by row
/// for (int i = 0; i &lt; 20; i++) frame = world.Step(1);
/// world.StepBack();                                  // drop the latest frame
/// world.Reset();                                     // back to the prompt; the same actions replay the same frames
/// </code>
/// </summary>
/// <remarks>
/// <para><b>Threads.</b> A world is not thread-safe: use each one from one thread at a time (or hold a lock around
/// every call). Several worlds may play on different threads at once when they share one loaded model
/// (<see cref="Share"/>): the weights are only read while playing, each world has its own caches and sampler, and the
/// engine's scratch state is per thread. They do not run faster together: the engine's kernels already use every core
/// (<c>Genie.Engine.Parallel.Workers.ThreadCount</c>, a process-wide setting) and a kernel split over the workers holds
/// the pool, so another thread's kernels wait their turn. The play server therefore queues all inference through one
/// gate.</para>
/// <para><b>Determinism.</b> The frames depend only on the model, the prompt, the seed, the MaskGIT steps, the
/// temperature and the actions, not on the thread count: <see cref="Reset"/> and the same actions give the same frames,
/// and so does a new world started with the same prompt and seed.</para>
/// <para><b>Frames</b> are byte arrays of <see cref="Height"/>·<see cref="Width"/>·3 bytes (RGB, row by row, no padding).
/// <see cref="Step"/>, <see cref="StepBack"/> and <see cref="Frame"/> return copies the caller owns; the arrays in
/// <see cref="Frames"/> are the world's own and must not be written to.</para>
/// </remarks>
public sealed class GenieWorld : IDisposable
{
    private GenieSession? _session;
    private int _steps;
    private float _temperature;
    private bool _disposed;

    /// <summary>
    /// A world on a model already in memory, labelled with <paramref name="actions"/> (null: unlabelled, digits only).
    /// Nothing is copied: worlds made from the same model share its weights. <paramref name="folder"/> is where the model
    /// came from, if anywhere (for <see cref="PromptFiles"/>).
    /// </summary>
    public GenieWorld(GenieModel model, ActionMap? actions = null, string? folder = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        actions ??= ActionMap.ForLatent(model.NumActions, null);
        if (actions.Names.Count != model.NumActions)
            throw new ArgumentException($"the action labels name {actions.Names.Count} actions; the model has {model.NumActions}", nameof(actions));
        Model = model;
        ActionMap = actions;
        Folder = folder;
        _steps = model.Config.Dynamics.SamplingSteps;
        _temperature = model.Config.Dynamics.Temperature;
    }

    /// <summary>
    /// Loads a model folder: an export of <c>genie export</c> (such as the repository's <c>models/small</c>) or a run of
    /// <c>genie train dynamics</c> (its newest checkpoint), with its action labels from <c>actions.json</c> if present.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">It holds no checkpoint, or its weights or actions.json are not usable.</exception>
    public static GenieWorld Load(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"no model folder {folder} (give a folder of `genie export`, such as models/small, or a run of `genie train dynamics`)");
        var model = GenieModel.Load(folder);
        return new GenieWorld(model, ActionMap.ForLatent(model.NumActions, folder), folder);
    }

    /// <summary>A new world on the same loaded model and labels, with no rollout started: one per thread or per player.</summary>
    public GenieWorld Share() => new(Model, ActionMap, Folder);

    /// <summary>The model (its config says the frame size, the number of actions and the sampling defaults).</summary>
    public GenieModel Model { get; }
    /// <summary>Names and keyboard keys of the latent actions.</summary>
    public ActionMap ActionMap { get; }
    /// <summary>The folder the model was loaded from, or null.</summary>
    public string? Folder { get; }
    /// <summary>Frame width in pixels.</summary>
    public int Width => Model.Config.Width;
    /// <summary>Frame height in pixels.</summary>
    public int Height => Model.Config.Height;
    /// <summary>Number of latent actions A: <see cref="Step"/> takes 0..A−1.</summary>
    public int ActionCount => Model.NumActions;
    /// <summary>One label per action, as the play page's buttons show them: "1 right" from actions.json, else "1".</summary>
    public IReadOnlyList<string> ActionNames => ActionMap.Names;

    /// <summary>The prompt images a model folder ships (<c>prompts/*.png</c>, in name order); empty if none.</summary>
    public IReadOnlyList<string> PromptFiles
    {
        get
        {
            var dir = Folder is null ? null : Path.Combine(Folder, "prompts");
            return dir is not null && Directory.Exists(dir) ? Directory.GetFiles(dir, "*.png").Order(StringComparer.Ordinal).ToList() : [];
        }
    }

    /// <summary>MaskGIT steps per frame (default: the model's config); a change applies from the next step.</summary>
    public int Steps
    {
        get => _steps;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(Steps), $"MaskGIT steps must be at least 1, got {value}");
            _steps = value;
            if (_session is not null) _session.Steps = value;
        }
    }

    /// <summary>Sampling temperature, 0 for greedy (default: the model's config); a change applies from the next step.</summary>
    public float Temperature
    {
        get => _temperature;
        set
        {
            if (!(value >= 0) || float.IsInfinity(value)) throw new ArgumentOutOfRangeException(nameof(Temperature), $"the temperature must be a finite number ≥ 0, got {value}");
            _temperature = value;
            if (_session is not null) _session.Temperature = value;
        }
    }

    /// <summary>True once <see cref="Start(byte[], int, int, ulong, FitMode)"/> has been called.</summary>
    public bool Started => _session is not null;
    /// <summary>The sampling seed of the current rollout.</summary>
    public ulong Seed { get; private set; }

    /// <summary>
    /// Starts a rollout from a picture given as RGB bytes (<paramref name="height"/>·<paramref name="width"/>·3, row by
    /// row) of any size: it is fitted to the model's frame as the play page fits uploads (<paramref name="fit"/>: crop
    /// the centre by default, letterbox or stretch). The first frame is the prompt as the tokenizer reconstructs it.
    /// Replaces any rollout in progress. Runs inference (the prompt is encoded and decoded).
    /// </summary>
    /// <exception cref="ArgumentException">The byte count is not width·height·3, or a size is not positive.</exception>
    public void Start(byte[] rgb, int width, int height, ulong seed = 0, FitMode fit = FitMode.Crop)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        CheckAlive();
        if (width < 1 || height < 1) throw new ArgumentException($"the image size must be positive, got {width}x{height}");
        if (rgb.LongLength != (long)width * height * 3)
            throw new ArgumentException($"a {width}x{height} RGB image has {(long)width * height * 3} bytes, got {rgb.LongLength}", nameof(rgb));
        var prompt = PromptImage.Fit(new Image(width, height, rgb), Width, Height, fit).Data;
        GenieSession session;
        using (Tape.NoGrad())
        using (new TensorScope())
            session = new GenieSession(Model, prompt, seed, _steps, _temperature);
        _session?.Dispose();
        _session = session;
        Seed = seed;
    }

    /// <summary>
    /// Starts a rollout from an image file (PNG, JPEG, WebP, GIF or BMP, any size: fitted as in
    /// <see cref="Start(byte[], int, int, ulong, FitMode)"/>).
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not an image that can be read (the message says why).</exception>
    public void Start(string imageFile, ulong seed = 0, FitMode fit = FitMode.Crop)
    {
        ArgumentException.ThrowIfNullOrEmpty(imageFile);
        CheckAlive();
        var rgb = PromptImage.FromFile(imageFile, Width, Height, fit);
        Start(rgb, Width, Height, seed, fit);
    }

    /// <summary>Takes latent action <paramref name="action"/> (0..<see cref="ActionCount"/>−1); returns the new frame.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such action.</exception>
    /// <exception cref="InvalidOperationException">No rollout was started.</exception>
    public byte[] Step(int action)
    {
        var session = Session();
        if ((uint)action >= (uint)ActionCount)
            throw new ArgumentOutOfRangeException(nameof(action), $"action {action} does not exist; this model has actions 0..{ActionCount - 1}");
        using var _ = Tape.NoGrad();
        using var scope = new TensorScope();
        return (byte[])session.Step(action).Clone();
    }

    /// <summary>Drops the latest frame (never the first) and returns the one before it, now the current frame.</summary>
    public byte[] StepBack()
    {
        var session = Session();
        using var _ = Tape.NoGrad();
        return (byte[])session.StepBack().Clone();
    }

    /// <summary>Back to the first frame, with the sampler reseeded: the same actions replay the same frames.</summary>
    public void Reset()
    {
        var session = Session();
        using var _ = Tape.NoGrad();
        session.Reset();
    }

    /// <summary>The current (latest) frame: a copy.</summary>
    public byte[] Frame => (byte[])Session().CurrentFrame.Clone();
    /// <summary>Frames so far, the first (the prompt's reconstruction) included.</summary>
    public int FrameCount => Session().FrameCount;
    /// <summary>Every frame so far, the first included; the world's own arrays (do not write into them).</summary>
    public IReadOnlyList<byte[]> Frames => Session().Frames;
    /// <summary>The action taken before each frame after the first.</summary>
    public IReadOnlyList<int> Actions => Session().Actions;

    /// <summary>
    /// True when the next <see cref="Step"/> would start by rebuilding the context window's caches (it slides once the
    /// window is full); <see cref="Prepare"/> does that work ahead.
    /// </summary>
    public bool NeedsPrepare => _session is { } s && s.NeedsSlide;

    /// <summary>Does now what the next <see cref="Step"/> would start with (a window slide), while the player looks at
    /// the frame. Changes no result.</summary>
    public void Prepare()
    {
        var session = Session();
        using var _ = Tape.NoGrad();
        using var scope = new TensorScope();
        session.Prepare();
    }

    /// <summary>Frees the rollout's caches (the model stays usable by other worlds).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session?.Dispose();
        _session = null;
    }

    private GenieSession Session()
    {
        CheckAlive();
        return _session ?? throw new InvalidOperationException("no rollout yet: call Start with a prompt image first");
    }

    private void CheckAlive() => ObjectDisposedException.ThrowIf(_disposed, this);
}
