using Genie.Core;
using Genie.Engine;
using Genie.Engine.Autograd;
using Genie.Nn;

namespace Genie.Models;

/// <summary>
/// Genie: the video tokenizer, the latent action model and the dynamics model together, and the sampler that
/// plays the world (paper §2.2, ARCHITECTURE.md §6). A player prompts with a frame x_1, picks a latent action
/// a ∈ [0, A) each step; the dynamics model predicts the next frame's tokens with MaskGIT and the tokenizer
/// decoder turns them into pixels.
/// </summary>
public sealed class GenieModel : Module
{
    /// <summary>The configuration all three models were built from.</summary>
    public GenieConfig Config { get; }
    /// <summary>Video tokenizer (frozen while the dynamics trains).</summary>
    public VideoTokenizer Tokenizer { get; }
    /// <summary>Latent action model; play needs only its codebook.</summary>
    public LatentActionModel Lam { get; }
    /// <summary>Dynamics model.</summary>
    public DynamicsModel Dynamics { get; }

    /// <summary>Builds all three models with seeded weights.</summary>
    public GenieModel(GenieConfig config, Rng rng)
    {
        Config = config;
        Tokenizer = Child("tokenizer", new VideoTokenizer(config, rng));
        Lam = Child("lam", new LatentActionModel(config, rng));
        Dynamics = Child("dynamics", new DynamicsModel(config, Tokenizer.Tokens, rng));
    }

    /// <summary>
    /// Loads the newest checkpoint of a training run of `genie train dynamics` (or a slim copy written by
    /// `genie export`): <c>RUN/latest</c> → <c>checkpoints/step_N/model.safetensors</c> of kind "genie", with
    /// the config stored in the file. Also accepts the path of a model.safetensors file itself.
    /// </summary>
    public static GenieModel Load(string runOrFile)
    {
        string file = File.Exists(runOrFile) ? runOrFile : Path.Combine(Checkpoint.RequireLatest(runOrFile), "model.safetensors");
        if (!File.Exists(file)) throw new FileNotFoundException($"{file} is missing (an incomplete copy of the run?)");
        var (config, weights) = Checkpoint.LoadModel(file, "genie");
        var model = new GenieModel(config, new Rng(0));
        model.LoadWeights(weights);
        return model;
    }

    /// <summary>Number of latent actions A.</summary>
    public int NumActions => Config.Lam.NumActions;

    /// <summary>
    /// First frame of the context window in which frame <paramref name="f"/> (0-based) is generated and decoded:
    /// the window holds frames [start, f], at most T_max of them. Until T_max frames it starts at 0; then it
    /// slides in hops of dynamics.window_hop frames. The cached session and the uncached sampler share it.
    /// </summary>
    public int WindowStart(int f)
    {
        int tmax = Config.MaxFrames, hop = Config.Dynamics.WindowHop;
        if (f <= tmax - 1) return 0;
        return hop * ((f - (tmax - 1) + hop - 1) / hop);
    }

    /// <summary>Latent action vectors (count, L_a) for action ids: the normalised codebook rows.</summary>
    public Tensor ActionVectors(int[] actionIds)
    {
        foreach (var a in actionIds)
            if ((uint)a >= (uint)NumActions) throw new ArgumentOutOfRangeException(nameof(actionIds), $"latent action {a} is outside [0, {NumActions})");
        return Lam.Quantizer.Lookup(actionIds);
    }

    /// <summary>
    /// Samples the tokens of the next frame for B clips: <paramref name="contextIds"/> holds (B, t, N) ids of the
    /// frames so far (t ≤ T_max − 1), <paramref name="actionIds"/> (B, t) the latent action before each next frame
    /// (the last one is the action being taken now). Full recomputation each MaskGIT step (no cache).
    /// </summary>
    public int[] SampleNextFrame(int[] contextIds, int[] actionIds, int b, int t, Rng rng, int? steps = null, float? temperature = null)
    {
        int n = Tokenizer.Tokens, s = steps ?? Config.Dynamics.SamplingSteps;
        float tau = temperature ?? Config.Dynamics.Temperature;
        if (t + 1 > Config.MaxFrames) throw new ArgumentException($"context of {t} frames leaves no room under max_frames {Config.MaxFrames}");
        using var _ = Tape.NoGrad();
        using var outer = new TensorScope();
        var ids = new int[b * (t + 1) * n];
        for (int c = 0; c < b; c++) Array.Copy(contextIds, c * t * n, ids, c * (t + 1) * n, t * n);
        var actions = ActionVectors(actionIds);
        using var head = Dynamics.CreateHeadSampler();
        return MaskGit.SampleFrames(head, b, n, s, tau, rng,
            forward: frame =>
            {
                // The whole window again, with the new frame's current ids in place.
                for (int c = 0; c < b; c++) Array.Copy(frame, c * n, ids, (c * (t + 1) + t) * n, n);
                return Dynamics.GuidedHidden(ids, actions, b, t + 1);         // (B, t+1, N (+1 action token), D)
            },
            firstRow: c => (c * (t + 1) + t) * Dynamics.FrameRows + Dynamics.TokenOffset);
    }

    /// <summary>
    /// Generates <paramref name="frames"/> frames per clip from prompt frames (B, H, W, 3) and latent actions
    /// (B, frames − 1) with the play sampler: one <see cref="GenieSession"/> per clip, clip c seeded with
    /// <paramref name="seed"/> + c, so clip c's frames are exactly what the play page shows for that prompt, seed
    /// and actions. Returns uint8 video (B, frames, H, W, 3); frame 0 is the prompt's reconstruction. Past T_max
    /// frames the context window slides.
    /// </summary>
    public byte[] Generate(byte[] prompts, int b, int[] actionIds, int frames, ulong seed, int? steps = null, float? temperature = null)
    {
        int frameBytes = Config.Height * Config.Width * 3;
        if (prompts.Length != b * frameBytes) throw new ArgumentException($"{prompts.Length} prompt bytes are not {b} frames of {frameBytes}");
        if (actionIds.Length != b * (frames - 1)) throw new ArgumentException($"{actionIds.Length} actions for {b} clips of {frames - 1} steps");
        var video = new byte[(long)b * frames * frameBytes];
        for (int c = 0; c < b; c++)
        {
            using var session = new GenieSession(this, prompts.AsSpan(c * frameBytes, frameBytes).ToArray(), seed + (ulong)c, steps, temperature);
            for (int f = 1; f < frames; f++) session.Step(actionIds[c * (frames - 1) + f - 1]);
            for (int f = 0; f < frames; f++) session.Frames[f].CopyTo(video, ((long)c * frames + f) * frameBytes);
        }
        return video;
    }

    /// <summary>
    /// The plain reference sampler that <see cref="GenieSession"/> is tested against: each clip's token ids
    /// (frames·N) from prompt frames and latent actions (B, frames − 1), recomputing the whole window at every
    /// MaskGIT step (<see cref="SampleNextFrame"/>), one <paramref name="rng"/> for all clips. For B = 1 and
    /// <c>new Rng(seed)</c> it gives the session's tokens for that seed.
    /// </summary>
    public int[][] GenerateTokens(byte[] prompts, int b, int[] actionIds, int frames, Rng rng, int? steps = null, float? temperature = null)
    {
        int n = Tokenizer.Tokens, h = Config.Height, w = Config.Width, p = Config.Tokenizer.Patch, tmax = Config.MaxFrames;
        if (actionIds.Length != b * (frames - 1)) throw new ArgumentException($"{actionIds.Length} actions for {b} clips of {frames - 1} steps");
        var all = new int[b][];
        using (new TensorScope())
        {
            var first = Tokenizer.Encode(Patches.Tensor(prompts, b, 1, h, w, p));
            for (int c = 0; c < b; c++) { all[c] = new int[frames * n]; Array.Copy(first, c * n, all[c], 0, n); }
        }
        for (int f = 1; f < frames; f++)
        {
            int start = WindowStart(f), ctx = f - start;
            var context = new int[b * ctx * n];
            var acts = new int[b * ctx];
            for (int c = 0; c < b; c++)
            {
                Array.Copy(all[c], start * n, context, c * ctx * n, ctx * n);
                for (int j = 0; j < ctx; j++) acts[c * ctx + j] = actionIds[c * (frames - 1) + start + j];
            }
            var next = SampleNextFrame(context, acts, b, ctx, rng, steps, temperature);
            for (int c = 0; c < b; c++) Array.Copy(next, c * n, all[c], f * n, n);
        }
        return all;
    }

    /// <summary>Decodes per-clip token ids (frames·N each) to uint8 video (B, frames, H, W, 3) with the causal
    /// decoder, frame f in the window [<see cref="WindowStart"/>(f), f].</summary>
    public byte[] DecodeVideo(int[][] ids, int b, int frames)
    {
        int n = Tokenizer.Tokens, h = Config.Height, w = Config.Width, p = Config.Tokenizer.Patch;
        int frameBytes = h * w * 3;
        var video = new byte[b * frames * frameBytes];
        using var _ = new TensorScope();
        for (int c = 0; c < b; c++)
        {
            // Frames that share a window start are decoded in one causal pass over [start, last].
            for (int f = 0; f < frames;)
            {
                int start = WindowStart(f), last = f;
                while (last + 1 < frames && WindowStart(last + 1) == start) last++;
                var pix = Patches.Frames(Tokenizer.Decode(ids[c][(start * n)..((last + 1) * n)], 1, last + 1 - start), h, w, p);
                Array.Copy(pix, (f - start) * frameBytes, video, ((long)c * frames + f) * frameBytes, (last + 1 - f) * frameBytes);
                f = last + 1;
            }
        }
        return video;
    }
}

/// <summary>
/// An interactive rollout of one world: prompt with a frame, then <see cref="Step"/> with a latent action
/// per frame. Keeps each layer's temporal keys and values for the frames in the window (dynamics and
/// tokenizer decoder), so a MaskGIT step computes only the new frame (ARCHITECTURE.md §2, §6). Past T_max
/// frames the window slides by <see cref="GenieModel.WindowStart"/>: the caches are rebuilt from the frames
/// still in the window once per hop, so the cost per frame stays flat however long the rollout. Produces
/// the same tokens as <see cref="GenieModel.GenerateTokens"/> for the same seed.
/// </summary>
public sealed class GenieSession : IDisposable
{
    private readonly GenieModel _model;
    private readonly InferenceCache _dynamics, _decoder;
    private int _dynamicsStart = -1, _decoderStart = -1;   // first frame held by each cache (−1: rebuild)
    private readonly List<int[]> _frames = new();      // token ids of every frame (N each)
    private readonly List<int> _actions = new();       // action before frame i+1
    private readonly List<byte[]> _pixels = new();     // decoded frames (H, W, 3)
    private Rng _rng;
    private readonly ulong _seed;
    private readonly DynamicsModel.HeadSampler _head;   // packed head weights: the model is frozen while playing

    /// <summary>MaskGIT steps per frame.</summary>
    public int Steps { get; set; }
    /// <summary>Sampling temperature.</summary>
    public float Temperature { get; set; }

    /// <summary>Starts a session from a prompt frame (H, W, 3) at the model's resolution.</summary>
    public GenieSession(GenieModel model, byte[] prompt, ulong seed, int? steps = null, float? temperature = null)
    {
        var cfg = model.Config;
        if (prompt.Length != cfg.Height * cfg.Width * 3)
            throw new ArgumentException($"the prompt has {prompt.Length} bytes; this model plays {cfg.Width}x{cfg.Height} RGB frames ({cfg.Height * cfg.Width * 3} bytes)");
        _model = model;
        _seed = seed;
        _rng = new Rng(seed);
        Steps = steps ?? cfg.Dynamics.SamplingSteps;
        Temperature = temperature ?? cfg.Dynamics.Temperature;
        _dynamics = new InferenceCache(model.Dynamics.Body, 1);
        _decoder = new InferenceCache(model.Tokenizer.Decoder, 1);
        _head = model.Dynamics.CreateHeadSampler();
        int[] first;
        using (new TensorScope())
            first = model.Tokenizer.Encode(Patches.Tensor(prompt, 1, 1, cfg.Height, cfg.Width, cfg.Tokenizer.Patch));
        _frames.Add(first);
        _pixels.Add(Decode(0));
    }

    /// <summary>Frames so far (the prompt counts as one).</summary>
    public int FrameCount => _frames.Count;
    /// <summary>The latest frame (H, W, 3).</summary>
    public byte[] CurrentFrame => _pixels[^1];
    /// <summary>Every frame so far.</summary>
    public IReadOnlyList<byte[]> Frames => _pixels;
    /// <summary>The actions taken so far.</summary>
    public IReadOnlyList<int> Actions => _actions;
    /// <summary>Token ids of every frame so far (N each).</summary>
    public IReadOnlyList<int[]> Tokens => _frames;

    /// <summary>Takes latent action <paramref name="action"/> and returns the new frame (H, W, 3).</summary>
    public byte[] Step(int action) => Append(SampleNext(action), action);

    /// <summary>
    /// Samples the tokens (N) of the frame that <paramref name="action"/> would lead to, without taking the step:
    /// the session keeps its frames (only the sampler's random state advances). <see cref="Step"/> is
    /// <c>Append(SampleNext(a), a)</c>.
    /// </summary>
    public int[] SampleNext(int action)
    {
        var model = _model;
        int n = model.Tokenizer.Tokens, f = _frames.Count;
        using var _ = Tape.NoGrad();
        using var scope = new TensorScope();
        var actionVec = model.ActionVectors([action]);                       // (1, L_a); validates the action
        EnsureDynamics(model.WindowStart(f), f);
        // Each step computes only the new frame against the cached context; logits only for the positions still
        // masked, made and sampled block by block in the workers' caches.
        var ids = MaskGit.SampleFrames(_head, 1, n, Steps, Temperature, _rng,
            forward: frame => model.Dynamics.GuidedFrameHidden(frame, actionVec, _dynamics),
            firstRow: _ => model.Dynamics.TokenOffset);
        return ids;
    }

    /// <summary>
    /// Takes a step to a frame whose tokens are given (N ids, from <see cref="SampleNext"/> or from a real frame's
    /// encoding: teacher forcing), reached by latent action <paramref name="action"/>; returns the decoded frame.
    /// </summary>
    public byte[] Append(int[] tokens, int action)
    {
        var model = _model;
        int n = model.Tokenizer.Tokens, f = _frames.Count;
        if (tokens.Length != n) throw new ArgumentException($"{tokens.Length} token ids are not one frame of {n}");
        foreach (var id in tokens)
            if ((uint)id >= (uint)model.Dynamics.CodebookSize) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {id} is outside the codebook [0, {model.Dynamics.CodebookSize})");
        int start = model.WindowStart(f);
        using var _ = Tape.NoGrad();
        using var scope = new TensorScope();
        var actionVec = model.ActionVectors([action]);
        var ids = (int[])tokens.Clone();
        // The frame joins the context, unless the next frame starts a new window: then its cache is rebuilt from
        // the ids anyway and this pass would be thrown away.
        if (model.WindowStart(f + 1) == start)
        {
            EnsureDynamics(start, f);
            model.Dynamics.FrameHidden(ids, actionVec, _dynamics, commit: true);
        }
        else _dynamicsStart = -1;
        _frames.Add(ids);
        _actions.Add(action);
        var frame = Decode(f);
        _pixels.Add(frame);
        return frame;
    }

    /// <summary>
    /// Decodes tokens (N ids) as the frame that would follow the current one (H, W, 3), without taking the step:
    /// shows what <see cref="SampleNext"/> sampled.
    /// </summary>
    public byte[] Preview(int[] tokens)
    {
        var cfg = _model.Config;
        int f = _frames.Count;
        if (tokens.Length != _model.Tokenizer.Tokens) throw new ArgumentException($"{tokens.Length} token ids are not one frame of {_model.Tokenizer.Tokens}");
        if (_model.WindowStart(f) != _model.WindowStart(f - 1))
        {
            // The next frame starts a new window: decode it in that window without disturbing the session's cache.
            int start = _model.WindowStart(f);
            var ids = new int[(f - start + 1) * tokens.Length];
            Window(start, f).CopyTo(ids, 0);
            tokens.CopyTo(ids, (f - start) * tokens.Length);
            var video = _model.DecodeVideo([ids], 1, f - start + 1);
            return video.AsSpan(video.Length - cfg.Height * cfg.Width * 3).ToArray();
        }
        EnsureDecoder(_model.WindowStart(f), f);
        using var scope = new TensorScope();
        return Patches.Frames(_model.Tokenizer.DecodeFrame(tokens, _decoder, commit: false), cfg.Height, cfg.Width, cfg.Tokenizer.Patch);
    }

    /// <summary>True when the next <see cref="Step"/> starts by rebuilding a cache (a window slide).</summary>
    public bool NeedsSlide
    {
        get
        {
            int f = _frames.Count, start = _model.WindowStart(f);
            return !Holds(_dynamics, _dynamicsStart, start, f) || !Holds(_decoder, _decoderStart, start, f);
        }
    }

    /// <summary>
    /// Does now the cache rebuilding that the next <see cref="Step"/> would otherwise start with, so a player's
    /// next key press waits only for the MaskGIT steps. Call it while the player looks at the frame; it
    /// changes no result.
    /// </summary>
    public void Prepare()
    {
        int f = _frames.Count, start = _model.WindowStart(f);
        using var _ = Tape.NoGrad();
        EnsureDynamics(start, f);
        EnsureDecoder(start, f);
    }

    /// <summary>Drops the latest frame (not the prompt) and returns the one before it.</summary>
    public byte[] StepBack()
    {
        if (_frames.Count <= 1) return CurrentFrame;
        _frames.RemoveAt(_frames.Count - 1);
        _actions.RemoveAt(_actions.Count - 1);
        _pixels.RemoveAt(_pixels.Count - 1);
        _dynamicsStart = _decoderStart = -1;
        return CurrentFrame;
    }

    /// <summary>Back to the prompt frame, with the sampler reseeded (the same actions replay the same frames).</summary>
    public void Reset()
    {
        _frames.RemoveRange(1, _frames.Count - 1);
        _actions.Clear();
        _pixels.RemoveRange(1, _pixels.Count - 1);
        _rng = new Rng(_seed);
        _dynamicsStart = _decoderStart = -1;
    }

    private static bool Holds(InferenceCache cache, int cacheStart, int start, int end) =>
        cacheStart == start && cache.Length == end - start;

    // The dynamics cache must hold frames [start, end) with the actions between them.
    private void EnsureDynamics(int start, int end)
    {
        if (Holds(_dynamics, _dynamicsStart, start, end)) return;
        var model = _model;
        int count = end - start, n = model.Tokenizer.Tokens;
        using var scope = new TensorScope();
        var acts = model.ActionVectors(_actions.Skip(start).Take(count - 1).ToArray());
        _dynamics.Clear();
        model.Dynamics.Prefill(Window(start, end), acts, 1, count, _dynamics);
        _dynamicsStart = start;
    }

    // The decoder cache must hold frames [start, end) before frame `end` is decoded.
    private void EnsureDecoder(int start, int end)
    {
        if (Holds(_decoder, _decoderStart, start, end)) return;
        _decoder.Clear();
        using var scope = new TensorScope();
        if (end > start) _model.Tokenizer.PrefillDecoder(Window(start, end), 1, end - start, _decoder);
        _decoderStart = start;
    }

    private int[] Window(int start, int end)
    {
        int n = _model.Tokenizer.Tokens;
        var ids = new int[(end - start) * n];
        for (int i = start; i < end; i++) _frames[i].CopyTo(ids, (i - start) * n);
        return ids;
    }

    private byte[] Decode(int f)
    {
        var cfg = _model.Config;
        EnsureDecoder(_model.WindowStart(f), f);
        using var scope = new TensorScope();
        var patches = _model.Tokenizer.DecodeFrame(_frames[f], _decoder);   // appends frame f
        return Patches.Frames(patches, cfg.Height, cfg.Width, cfg.Tokenizer.Patch);
    }

    /// <summary>Frees the caches.</summary>
    public void Dispose()
    {
        _dynamics.Dispose();
        _decoder.Dispose();
        _head.Dispose();
    }
}
