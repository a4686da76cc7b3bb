using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Genie.Models;

/// <summary>Video tokenizer (ARCHITECTURE.md §4).</summary>
public sealed record TokenizerConfig
{
    /// <summary>Patch size p: frames are cut into (H/p)·(W/p) tokens.</summary>
    public int Patch { get; init; } = 4;
    /// <summary>Transformer width D.</summary>
    public int Dim { get; init; } = 128;
    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>ST blocks in the encoder.</summary>
    public int EncoderDepth { get; init; } = 4;
    /// <summary>ST blocks in the decoder.</summary>
    public int DecoderDepth { get; init; } = 4;
    /// <summary>Codebook size K.</summary>
    public int CodebookSize { get; init; } = 1024;
    /// <summary>Code width L.</summary>
    public int LatentDim { get; init; } = 32;
    /// <summary>Commitment weight β.</summary>
    public float Beta { get; init; } = 0.25f;
    /// <summary>Steps without use after which a code is re-seeded.</summary>
    public int DeadAfter { get; init; } = 100;
    /// <summary>LayerNorm on q and k per head.</summary>
    public bool QkNorm { get; init; } = false;
    /// <summary>
    /// True (the paper): the encoder's temporal attention is causal over the clip, so z_t depends on x_≤t. False:
    /// the encoder sees each frame alone, so a frame's codes depend on that frame only and an unchanged patch keeps
    /// its code (the paper's spatial ViT tokenizer ablation); the decoder stays spatiotemporal either way.
    /// </summary>
    public bool EncoderTemporal { get; init; } = true;
}

/// <summary>Latent action model (ARCHITECTURE.md §5).</summary>
public sealed record LamConfig
{
    /// <summary>Patch size of the pixel input.</summary>
    public int Patch { get; init; } = 16;
    /// <summary>Transformer width D.</summary>
    public int Dim { get; init; } = 128;
    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>ST blocks in the encoder.</summary>
    public int EncoderDepth { get; init; } = 4;
    /// <summary>ST blocks in the decoder.</summary>
    public int DecoderDepth { get; init; } = 4;
    /// <summary>Number of latent actions A.</summary>
    public int NumActions { get; init; } = 8;
    /// <summary>Action code width L_a.</summary>
    public int LatentDim { get; init; } = 32;
    /// <summary>Commitment weight β.</summary>
    public float Beta { get; init; } = 0.25f;
    /// <summary>Steps without use after which an action code is re-seeded.</summary>
    public int DeadAfter { get; init; } = 100;
    /// <summary>LayerNorm on q and k per head.</summary>
    public bool QkNorm { get; init; } = false;
    /// <summary>
    /// Frames the model sees per action: 0 = the whole clip (the paper); w ≥ 2 = only the w frames ending at
    /// x_{t+1} (§5 on short windows; frames before the clip's start repeat its first frame). A short window
    /// keeps the decoder from predicting x_{t+1} from long histories, so the action has to carry the change:
    /// 2 shows the motion of the transition, 3 also the motion before it (so an action's acceleration).
    /// </summary>
    public int Window { get; init; } = 0;
    /// <summary>
    /// Weight of a penalty on the change of the (L2-normalised, continuous) latent action from one transition of a
    /// clip to the next: mean ‖â_{t+1} − â_t‖². A button held for several frames then tends to keep one latent
    /// instead of one per walk phase or camera step, which is what holding a latent in play asks of the dynamics
    /// model (docs/training.md, "A world that plays"). 0 (default): off, the paper's LAM.
    /// </summary>
    public float HoldWeight { get; init; } = 0f;
    /// <summary>
    /// Transitions that share one latent action: the clip's T−1 transitions are cut into chunks of this many (the
    /// last may be shorter), the continuous latents of a chunk are averaged, quantised once, and every transition of
    /// the chunk is decoded with that one code. The code then has to explain several frames at once, so it keeps
    /// what persists over them (the button held) rather than what changes each frame (walk phase, the camera's
    /// whole-tile steps), which are left to the decoder to read from the frames before. 1 (default): one latent per
    /// transition, the paper's LAM. With a <see cref="Window"/> w ≥ 2, each transition still sees its own w frames;
    /// only the code is shared.
    /// </summary>
    public int Chunk { get; init; } = 1;
}

/// <summary>MaskGIT dynamics model (ARCHITECTURE.md §6).</summary>
public sealed record DynamicsConfig
{
    /// <summary>Transformer width D.</summary>
    public int Dim { get; init; } = 128;
    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>ST blocks.</summary>
    public int Depth { get; init; } = 6;
    /// <summary>LayerNorm on q and k per head (on, as the paper's appendix for stability).</summary>
    public bool QkNorm { get; init; } = true;
    /// <summary>Lower bound of the per-clip mask rate r ~ U(min, max).</summary>
    public float MaskMin { get; init; } = 0.5f;
    /// <summary>Upper bound of the per-clip mask rate.</summary>
    public float MaskMax { get; init; } = 1.0f;
    /// <summary>
    /// How the latent action enters: "add" (the paper: Linear(L_a, D)(a_t) added to every token of frame t+1) or
    /// "token" (one extra token per frame, prepended, whose output is dropped before the head; frame 1 gets a learned
    /// "no action" token; p-doom/jasmine).
    /// </summary>
    public string ActionConditioning { get; init; } = "add";
    /// <summary>
    /// Which frames training masks: "clip" (the paper: every frame after the first at the clip's rate r) or
    /// "prefix" (a frame k drawn per clip from 2..T; frames before it stay complete and frames k..T are masked at
    /// rate r, so training also shows complete past frames before a masked one, as play does).
    /// </summary>
    public string Masking { get; init; } = "clip";
    /// <summary>
    /// Context corruption (GameNGen's noise augmentation, in token space): during training a level c ~ U(0, max) is
    /// drawn per clip and each unmasked token of frames 2..T is replaced by a random code with probability c; the
    /// model is told c through a learned embedding of its bucket (one of <see cref="CorruptBuckets"/>) added to every
    /// token. Play uses bucket 0. 0 turns it off (no embedding).
    /// </summary>
    public float CorruptMax { get; init; } = 0f;
    /// <summary>
    /// Weight in the training loss of a masked token whose code differs from the code at the same position in the
    /// frame before (what moved), against 1 for the others: a larger weight keeps the model from settling on
    /// copying the previous frame, which scores well on the static majority of tokens. 1 (default): the paper's
    /// plain average.
    /// </summary>
    public float ChangeWeight { get; init; } = 1f;
    /// <summary>
    /// Self-forcing (needs masking "prefix"): the share of training clips whose last complete frame before the masked
    /// ones (or last m of them, <see cref="SelfForcingFrames"/>) is replaced by the model's own prediction of it (one
    /// greedy parallel decoding from the frames before, no gradient), so training shows what play shows: a next frame
    /// to predict from a context the model made, whose errors (a scroll it did not finish, a frame it froze) it must
    /// carry on from. 0 (default): off.
    /// </summary>
    public float SelfForcing { get; init; } = 0f;
    /// <summary>
    /// Self-forcing: a picked clip gets m ∈ 1..this many consecutive frames of its own before the first masked one,
    /// each predicted from the frames before it (real, then its own), so training shows errors that build up over
    /// several frames, as a rollout's do. 1 (default): only the last context frame.
    /// </summary>
    public int SelfForcingFrames { get; init; } = 1;
    /// <summary>
    /// Training: the share of transitions whose latent action the dynamics model does not see (the "no action" token
    /// of frame 1 in its place, or nothing added with action_conditioning "add"), drawn per transition, so the same
    /// model also predicts a frame without its action, which <see cref="Guidance"/> sets against the prediction with
    /// it. 0 (default): every action seen, as the paper.
    /// </summary>
    public float ActionDropout { get; init; } = 0f;
    /// <summary>
    /// Play: classifier-free guidance on the action (Ho and Salimans 2022, as Muse guides MaskGIT with text): each
    /// MaskGIT step takes the logits ℓ_none + w·(ℓ_action − ℓ_none), ℓ_none the prediction with the action left out,
    /// so the motion the action makes weighs w times as much against what the frames alone suggest. Costs a second
    /// pass of the new frame per step; meaningful for a model trained with <see cref="ActionDropout"/> &gt; 0.
    /// 1 (default): the action's prediction alone, one pass.
    /// </summary>
    public float Guidance { get; init; } = 1f;
    /// <summary>The warning for sampling at <paramref name="guidance"/> a model trained with this action dropout, or null (<see cref="DynamicsModel.SamplingWarning"/>).</summary>
    public static string? GuidanceWarning(float guidance, float actionDropout) => guidance != 1f && actionDropout == 0f
        ? $"guidance {guidance:0.###} on a model trained without action dropout (dynamics.action_dropout = 0): it never learned to predict a frame without its action, so the guided frames mean little"
        : null;
    /// <summary>
    /// Heads of each spatial attention layer of the dynamics model that also get 2D rotary positions
    /// (<see cref="Genie.Nn.SpatialRotary"/>: q and k turned by the token's row and column, so a score depends on two
    /// tokens' offset, as a scroll moves content by a fixed offset); the learned spatial embedding stays. 0 (default):
    /// learned positions only, as the paper. No parameters, so a model trained without can be continued with.
    /// </summary>
    public int SpatialRopeHeads { get; init; } = 0;
    /// <summary>Buckets of the corruption level's embedding.</summary>
    public const int CorruptBuckets = 8;
    /// <summary>MaskGIT steps S per generated frame.</summary>
    public int SamplingSteps { get; init; } = 25;
    /// <summary>Sampling temperature τ.</summary>
    public float Temperature { get; init; } = 1.0f;
    /// <summary>
    /// MaskGIT's randomness in which tokens to keep (Chang et al. 2022, its "choice temperature"): at step s of S a
    /// position's confidence is log p + κ·(1 − s/S)·g with g ~ Gumbel(0, 1), so the early steps do not always fix the
    /// tokens the model is surest of first (in a world, the ones that copy the frame before). 0 (default): the
    /// paper's plain probability.
    /// </summary>
    public float ChoiceTemperature { get; init; } = 0f;
    /// <summary>
    /// Past T_max frames the context window of play slides by this many frames at once. 1 slides every
    /// frame (the cached keys and values are then rebuilt for every new frame); h rebuilds them once every h
    /// frames, so the context holds between T_max − h and T_max − 1 frames.
    /// </summary>
    public int WindowHop { get; init; } = 1;
}

/// <summary>One training stage (tokenizer, or latent actions plus dynamics).</summary>
public sealed record TrainConfig
{
    /// <summary>Clips per step.</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Frames per clip T (≤ max_frames).</summary>
    public int ClipLength { get; init; } = 16;
    /// <summary>Optimiser steps.</summary>
    public int Steps { get; init; } = 1000;
    /// <summary>Peak learning rate.</summary>
    public float Lr { get; init; } = 3e-4f;
    /// <summary>Learning rate at the end of the cosine decay.</summary>
    public float MinLr { get; init; } = 3e-5f;
    /// <summary>Linear warm-up steps.</summary>
    public int Warmup { get; init; } = 100;
    /// <summary>AdamW β1.</summary>
    public float Beta1 { get; init; } = 0.9f;
    /// <summary>AdamW β2.</summary>
    public float Beta2 { get; init; } = 0.95f;
    /// <summary>Decoupled weight decay (matrices only).</summary>
    public float WeightDecay { get; init; } = 0.01f;
    /// <summary>Global gradient-norm clip.</summary>
    public float GradClip { get; init; } = 1.0f;
    /// <summary>Validate every N steps (0: only at the end).</summary>
    public int EvalEvery { get; init; } = 200;
    /// <summary>Validation clips per evaluation.</summary>
    public int EvalClips { get; init; } = 16;
    /// <summary>
    /// Stage 2 only: the first N of <see cref="Steps"/> train the latent action model alone (the dynamics model is
    /// not run, so these steps are cheap). Its latents are then already distinct when the dynamics model starts
    /// learning from them, instead of collapsed or still changing meaning. 0 (default): both from the first step.
    /// </summary>
    public int LamWarmup { get; init; } = 0;
    /// <summary>
    /// Stage 2 only: keep the latent action model as loaded (from --init) and train the dynamics model alone on its
    /// latents: no LAM loss, no optimiser state for it and no dead-code reseeding, so the codes keep their meaning.
    /// Not with <see cref="LamWarmup"/>.
    /// </summary>
    public bool LamFrozen { get; init; } = false;
    /// <summary>Write a checkpoint every N steps (≥ 1; the last step always writes one).</summary>
    public int CheckpointEvery { get; init; } = 500;
    /// <summary>Seed of initialisation, data order and masking.</summary>
    public ulong Seed { get; init; } = 0;
}

/// <summary>A named configuration: frame geometry, the three models and both training stages.</summary>
public sealed record GenieConfig
{
    /// <summary>Name (the file name in configs/).</summary>
    public string Name { get; init; } = "custom";
    /// <summary>Frame height H in pixels.</summary>
    public int Height { get; init; } = 64;
    /// <summary>Frame width W in pixels.</summary>
    public int Width { get; init; } = 64;
    /// <summary>Longest clip the models see, T_max (temporal position table size).</summary>
    public int MaxFrames { get; init; } = 16;
    /// <summary>Video tokenizer.</summary>
    public TokenizerConfig Tokenizer { get; init; } = new();
    /// <summary>Latent action model.</summary>
    public LamConfig Lam { get; init; } = new();
    /// <summary>Dynamics model.</summary>
    public DynamicsConfig Dynamics { get; init; } = new();
    /// <summary>Tokenizer training.</summary>
    public TrainConfig TrainTokenizer { get; init; } = new();
    /// <summary>Latent action model + dynamics training.</summary>
    public TrainConfig TrainDynamics { get; init; } = new();

    /// <summary>Checks the geometry fits together; throws with the offending keys.</summary>
    public GenieConfig Validate()
    {
        void Need(bool ok, string what) { if (!ok) throw new InvalidDataException($"config '{Name}': {what}"); }
        void Range(string key, double value, double min, double max) =>
            Need(double.IsFinite(value) && value >= min && value <= max, $"{key} must be in [{min}, {max}], got {value.ToString(CultureInfo.InvariantCulture)}");
        Range("height", Height, 1, 4096);
        Range("width", Width, 1, 4096);
        Range("max_frames", MaxFrames, 2, 1024);
        foreach (var (key, p, dim, heads, enc, dec, latent, beta, dead) in new[]
        {
            ("tokenizer", Tokenizer.Patch, Tokenizer.Dim, Tokenizer.Heads, Tokenizer.EncoderDepth, Tokenizer.DecoderDepth, Tokenizer.LatentDim, Tokenizer.Beta, Tokenizer.DeadAfter),
            ("lam", Lam.Patch, Lam.Dim, Lam.Heads, Lam.EncoderDepth, Lam.DecoderDepth, Lam.LatentDim, Lam.Beta, Lam.DeadAfter),
        })
        {
            Range($"{key}.patch", p, 1, 256);
            Range($"{key}.dim", dim, 1, 8192);
            Range($"{key}.heads", heads, 1, 256);
            Range($"{key}.encoder_depth", enc, 1, 256);
            Range($"{key}.decoder_depth", dec, 1, 256);
            Range($"{key}.latent_dim", latent, 1, 4096);
            Range($"{key}.beta", beta, 0, 100);
            Range($"{key}.dead_after", dead, 1, int.MaxValue);
        }
        Range("tokenizer.codebook_size", Tokenizer.CodebookSize, 2, 1 << 20);
        Range("lam.num_actions", Lam.NumActions, 1, 4096);
        Range("dynamics.dim", Dynamics.Dim, 1, 8192);
        Range("dynamics.heads", Dynamics.Heads, 1, 256);
        Range("dynamics.depth", Dynamics.Depth, 1, 256);
        Range("dynamics.sampling_steps", Dynamics.SamplingSteps, 1, 1000);
        Range("dynamics.temperature", Dynamics.Temperature, 0, 100);
        Range("dynamics.choice_temperature", Dynamics.ChoiceTemperature, 0, 100);
        Range("dynamics.guidance", Dynamics.Guidance, 0, 100);
        foreach (var (key, t) in new[] { ("train_tokenizer", TrainTokenizer), ("train_dynamics", TrainDynamics) })
        {
            Range($"{key}.batch_size", t.BatchSize, 1, 4096);
            Range($"{key}.steps", t.Steps, 1, int.MaxValue);
            // A learning rate above 1 is a typo, not a setting: AdamW's steps are about lr in size.
            Need(float.IsFinite(t.Lr) && t.Lr > 0 && t.Lr <= 1, $"{key}.lr must be in (0, 1], got {t.Lr.ToString(CultureInfo.InvariantCulture)}");
            Range($"{key}.min_lr", t.MinLr, 0, t.Lr);
            Range($"{key}.warmup", t.Warmup, 0, int.MaxValue);
            Need(float.IsFinite(t.Beta1) && t.Beta1 >= 0 && t.Beta1 < 1, $"{key}.beta1 must be in [0, 1)");
            Need(float.IsFinite(t.Beta2) && t.Beta2 >= 0 && t.Beta2 < 1, $"{key}.beta2 must be in [0, 1)");
            Range($"{key}.weight_decay", t.WeightDecay, 0, 10);
            Need(float.IsFinite(t.GradClip) && t.GradClip > 0, $"{key}.grad_clip must be positive, got {t.GradClip.ToString(CultureInfo.InvariantCulture)}");
            Range($"{key}.eval_every", t.EvalEvery, 0, int.MaxValue);
            Range($"{key}.eval_clips", t.EvalClips, 1, 1 << 20);
            Range($"{key}.checkpoint_every", t.CheckpointEvery, 1, int.MaxValue);
        }
        Need(Height % Tokenizer.Patch == 0 && Width % Tokenizer.Patch == 0, $"tokenizer.patch {Tokenizer.Patch} must divide height {Height} and width {Width}");
        Need(Height % Lam.Patch == 0 && Width % Lam.Patch == 0, $"lam.patch {Lam.Patch} must divide height {Height} and width {Width}");
        Need(Tokenizer.Dim % Tokenizer.Heads == 0, "tokenizer.dim must be divisible by tokenizer.heads");
        Need(Lam.Dim % Lam.Heads == 0, "lam.dim must be divisible by lam.heads");
        Need(Dynamics.Dim % Dynamics.Heads == 0, "dynamics.dim must be divisible by dynamics.heads");
        Need(TrainTokenizer.ClipLength >= 1 && TrainTokenizer.ClipLength <= MaxFrames, "train_tokenizer.clip_length must be in [1, max_frames]");
        Need(TrainDynamics.ClipLength >= 2 && TrainDynamics.ClipLength <= MaxFrames, "train_dynamics.clip_length must be in [2, max_frames]");
        Need(Dynamics.MaskMin >= 0 && Dynamics.MaskMin <= Dynamics.MaskMax && Dynamics.MaskMax <= 1, "need 0 ≤ dynamics.mask_min ≤ dynamics.mask_max ≤ 1");
        Need(TrainTokenizer.LamWarmup == 0, "train_tokenizer.lam_warmup must be 0 (the tokenizer stage has no latent action model)");
        Need(TrainDynamics.LamWarmup >= 0 && TrainDynamics.LamWarmup < TrainDynamics.Steps, "train_dynamics.lam_warmup must be in [0, train_dynamics.steps)");
        Need(!TrainDynamics.LamFrozen || TrainDynamics.LamWarmup == 0, "train_dynamics.lam_frozen trains no latent action model, so train_dynamics.lam_warmup must be 0");
        Need(!TrainTokenizer.LamFrozen, "train_tokenizer.lam_frozen must be false (the tokenizer stage has no latent action model)");
        Need(Dynamics.ActionConditioning is "add" or "token", $"dynamics.action_conditioning must be \"add\" or \"token\", got \"{Dynamics.ActionConditioning}\"");
        Need(Dynamics.Masking is "clip" or "prefix", $"dynamics.masking must be \"clip\" or \"prefix\", got \"{Dynamics.Masking}\"");
        Need(Dynamics.ChangeWeight >= 1 && Dynamics.ChangeWeight <= 100, "dynamics.change_weight must be in [1, 100]");
        Need(Dynamics.CorruptMax >= 0 && Dynamics.CorruptMax <= 1, "dynamics.corrupt_max must be in [0, 1]");
        Need(Dynamics.SelfForcing >= 0 && Dynamics.SelfForcing <= 1, "dynamics.self_forcing must be in [0, 1]");
        Need(Dynamics.SelfForcing == 0 || Dynamics.Masking == "prefix", "dynamics.self_forcing needs dynamics.masking = \"prefix\"");
        Need(Dynamics.ActionDropout >= 0 && Dynamics.ActionDropout < 1, "dynamics.action_dropout must be in [0, 1)");
        Need(Dynamics.SpatialRopeHeads >= 0 && Dynamics.SpatialRopeHeads <= Dynamics.Heads, "dynamics.spatial_rope_heads must be in [0, dynamics.heads]");
        Need(Dynamics.SpatialRopeHeads == 0 || Dynamics.Dim / Dynamics.Heads % 4 == 0, "dynamics.spatial_rope_heads needs a head width (dynamics.dim / dynamics.heads) divisible by 4");
        Need(Dynamics.SelfForcingFrames >= 1, "dynamics.self_forcing_frames must be at least 1");
        Need(Dynamics.SelfForcingFrames == 1 || Dynamics.SelfForcing > 0, "dynamics.self_forcing_frames > 1 needs dynamics.self_forcing > 0");
        Need(Lam.NumActions >= 1 && Tokenizer.CodebookSize >= 2, "codebooks need at least one action and two tokens");
        Need(Lam.Window == 0 || (Lam.Window >= 2 && Lam.Window <= MaxFrames), "lam.window must be 0 (the whole clip) or in [2, max_frames]");
        Need(Lam.HoldWeight >= 0 && Lam.HoldWeight <= 100, "lam.hold_weight must be in [0, 100]");
        Need(Lam.Chunk >= 1 && Lam.Chunk <= Math.Max(1, MaxFrames - 1), "lam.chunk must be in [1, max_frames − 1]");
        Need(Dynamics.WindowHop >= 1 && Dynamics.WindowHop <= Math.Max(1, MaxFrames - 1), "dynamics.window_hop must be in [1, max_frames − 1]");
        return this;
    }

    // ------------------------------------------------------------------ JSON

    /// <summary>snake_case keys, comments allowed, unknown keys rejected.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>
    /// Loads a config by path or by name (a file configs/NAME.json found from the working directory or the
    /// program's directory upwards), then applies <c>key.path=value</c> overrides. An unknown key, in the
    /// file or in an override, is an error naming it.
    /// </summary>
    public static GenieConfig Load(string nameOrPath, IEnumerable<string>? overrides = null)
    {
        string path = ResolvePath(nameOrPath);
        JsonNode root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })
                   ?? throw new InvalidDataException($"config {path} is empty");
        }
        catch (JsonException e) { throw new InvalidDataException($"config {path} is not valid JSON: {e.Message}", e); }
        foreach (var o in overrides ?? []) ApplyOverride(root, o);
        return FromJson(root, path);
    }

    /// <summary>The settings that change how a trained model plays, not its weights: what an export may override.</summary>
    public static readonly string[] PlayKeys = ["dynamics.sampling_steps", "dynamics.temperature", "dynamics.choice_temperature", "dynamics.guidance", "dynamics.window_hop"];

    /// <summary>
    /// This config with <c>key=value</c> overrides of the play settings (<see cref="PlayKeys"/>) applied; any other key
    /// is refused, because it would no longer describe the trained weights.
    /// </summary>
    public GenieConfig WithPlayOverrides(IEnumerable<string> overrides)
    {
        var root = JsonNode.Parse(ToJson())!;
        foreach (var o in overrides)
        {
            // A malformed assignment is left to ApplyOverride, whose error says what an override looks like.
            int eq = o.IndexOf('=');
            if (eq > 0 && !PlayKeys.Contains(o[..eq].Trim()))
                throw new ArgumentException($"'{o[..eq].Trim()}' cannot change after training; these can: {string.Join(", ", PlayKeys)}");
            ApplyOverride(root, o);
        }
        return FromJson(root, "config with play overrides");
    }

    /// <summary>Parses a config from JSON text (for checkpoints), strictly.</summary>
    public static GenieConfig Parse(string json, string source = "config")
    {
        var root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip })
                   ?? throw new InvalidDataException($"{source} is empty");
        return FromJson(root, source);
    }

    private static GenieConfig FromJson(JsonNode root, string source)
    {
        try
        {
            return (root.Deserialize<GenieConfig>(Json) ?? throw new InvalidDataException($"{source} is empty")).Validate();
        }
        catch (JsonException e)
        {
            // System.Text.Json names the unknown member and its path; pass that on.
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }
    }

    /// <summary>This config as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    private static string ResolvePath(string nameOrPath)
    {
        if (File.Exists(nameOrPath)) return nameOrPath;
        var name = nameOrPath.EndsWith(".json") ? nameOrPath : nameOrPath + ".json";
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "configs", Path.GetFileName(name));
                if (File.Exists(candidate)) return candidate;
            }
        throw new FileNotFoundException($"no config '{nameOrPath}' (looked for the file and for configs/{Path.GetFileName(name)})");
    }

    private static void ApplyOverride(JsonNode root, string assignment)
    {
        int eq = assignment.IndexOf('=');
        if (eq <= 0) throw new ArgumentException($"override '{assignment}' must look like key.path=value");
        var path = assignment[..eq].Trim().Split('.');
        var text = assignment[(eq + 1)..].Trim();
        JsonNode node = root;
        for (int i = 0; i < path.Length - 1; i++)
            node = node[path[i]] ?? throw new ArgumentException($"unknown config key '{string.Join('.', path[..(i + 1)])}' in override '{assignment}'");
        var obj = node as JsonObject ?? throw new ArgumentException($"'{string.Join('.', path[..^1])}' is not a section");
        var leaf = path[^1];
        var key = assignment[..eq].Trim();
        // Only real keys, whether or not the file sets them; the value must parse as the key's type, and the error
        // names the --set, not a line of the config file.
        var property = KnownKeys(string.Join('.', path[..^1])).GetValueOrDefault(leaf)
            ?? throw new ArgumentException($"unknown config key '{key}'");
        var type = property.PropertyType;
        JsonNode value;
        if (type == typeof(int) || type == typeof(ulong))
        {
            if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var whole)
                || (type == typeof(int) && (whole < int.MinValue || whole > int.MaxValue)) || (type == typeof(ulong) && whole < 0))
                throw new ArgumentException($"--set {assignment}: {key} takes a whole number{(type == typeof(ulong) ? " ≥ 0" : "")}, got '{text}'");
            value = JsonValue.Create(whole);
        }
        else if (type == typeof(float) || type == typeof(double))
        {
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var num))
                throw new ArgumentException($"--set {assignment}: {key} takes a number, got '{text}'");
            if (!double.IsFinite(num)) throw new ArgumentException($"--set {assignment}: {key} must be a finite number");
            value = JsonValue.Create(num);
        }
        else if (type == typeof(bool))
        {
            if (text is not ("true" or "false")) throw new ArgumentException($"--set {assignment}: {key} takes true or false, got '{text}'");
            value = JsonValue.Create(text == "true");
        }
        else if (type == typeof(string)) value = JsonValue.Create(text);
        else throw new ArgumentException($"--set {assignment}: {key} is a section; set one of its keys");
        obj[leaf] = value;
    }

    private static Dictionary<string, System.Reflection.PropertyInfo> KnownKeys(string section)
    {
        Type t = section switch
        {
            "" => typeof(GenieConfig),
            "tokenizer" => typeof(TokenizerConfig),
            "lam" => typeof(LamConfig),
            "dynamics" => typeof(DynamicsConfig),
            "train_tokenizer" or "train_dynamics" => typeof(TrainConfig),
            _ => throw new ArgumentException($"unknown config section '{section}'"),
        };
        return t.GetProperties().Where(p => p.CanWrite).ToDictionary(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name));
    }
}
