using Genie.Core;
using Genie.Engine;
using Genie.Nn;

namespace Genie.Models;

/// <summary>Result of a dynamics training pass.</summary>
/// <param name="Logits">(B·T·N, K) logits.</param>
/// <param name="Loss">Cross-entropy at the masked positions.</param>
/// <param name="Mask">1 where the input token was replaced by MASK (B·T·N).</param>
public sealed record DynamicsOutput(Tensor Logits, Tensor Loss, float[] Mask);

/// <summary>
/// The MaskGIT dynamics model (ARCHITECTURE.md §6).
/// <code>
/// input:   z_BTN (tokenizer ids), latent actions a_1..a_{T−1} (from the LAM, stop-gradient)
/// embed:   Embedding(K+1, D), id K is MASK; +pos; add Linear(L_a, D)(a_t) to every token of frame t+1
/// mask:    per clip r ~ U(0.5, 1); every token of frames 2..T becomes MASK with probability r; frame 1 never
/// body:    ST blocks (causal, qk_norm on) → LN → Linear(D, K) logits
/// loss:    cross-entropy at masked positions only
/// </code>
/// Shape keys: B, T, N tokens per frame, K codebook size, D width, L = L_a action width.
/// </summary>
public sealed class DynamicsModel : Module
{
    private readonly Tensor _embed;        // (K + 1, D)
    private readonly Linear _actionEmbed;  // L_a → D
    private readonly Linear _head;         // D → K
    private readonly Tensor? _corruptEmbed;  // (CorruptBuckets, D), only with corrupt_max > 0
    private readonly Tensor? _noAction;      // (1, D): frame 1's action token, only with action_conditioning "token"

    /// <summary>The transformer body.</summary>
    public STTransformer Body { get; }
    /// <summary>Settings.</summary>
    public DynamicsConfig Config { get; }
    /// <summary>Codebook size K of the tokenizer; id K is MASK.</summary>
    public int CodebookSize { get; }
    /// <summary>Tokens per frame N.</summary>
    public int Tokens { get; }
    /// <summary>The MASK id (= K).</summary>
    public int MaskId => CodebookSize;
    /// <summary>Rows of the body's hidden states before a frame's first token: 1 with an action token, else 0.</summary>
    public int TokenOffset { get; }
    /// <summary>Rows of the body's hidden states per frame: N, plus the action token if there is one.</summary>
    public int FrameRows => Tokens + TokenOffset;
    /// <summary>
    /// MaskGIT's choice temperature κ for samplers made from now on (<see cref="CreateHeadSampler"/>); starts at the
    /// config's <see cref="DynamicsConfig.ChoiceTemperature"/>, and evaluation may change it to compare.
    /// </summary>
    public float ChoiceTemperature
    {
        get => _choiceTemperature;
        set => _choiceTemperature = FiniteNonNegative(value, nameof(ChoiceTemperature), "choice temperature");
    }
    private float _choiceTemperature;
    /// <summary>
    /// The action guidance w of sampling (<see cref="DynamicsConfig.Guidance"/>; 1: none); starts at the config's, and
    /// evaluation may change it to compare.
    /// </summary>
    public float Guidance
    {
        get => _guidance;
        set => _guidance = FiniteNonNegative(value, nameof(Guidance), "guidance");
    }
    private float _guidance;
    /// <summary>
    /// Why the sampling settings ask for predictions training never made, or null when they do not: guidance w ≠ 1 on a
    /// model trained without <see cref="DynamicsConfig.ActionDropout"/> sets the action's prediction against one without
    /// the action that the model has only learned for the first frame. The CLI prints it as a warning.
    /// </summary>
    public string? SamplingWarning => DynamicsConfig.GuidanceWarning(_guidance, Config.ActionDropout);

    private static float FiniteNonNegative(float value, string name, string what) =>
        value >= 0 && !float.IsInfinity(value) ? value : throw new ArgumentOutOfRangeException(name, $"the {what} must be a finite number ≥ 0, got {value}");

    /// <summary>Builds the model for a tokenizer with <paramref name="tokens"/> tokens per frame.</summary>
    public DynamicsModel(GenieConfig config, int tokens, Rng rng)
    {
        var c = config.Dynamics;
        Config = c;
        _choiceTemperature = c.ChoiceTemperature;
        _guidance = c.Guidance;
        CodebookSize = config.Tokenizer.CodebookSize;
        Tokens = tokens;
        _embed = Param("token_embed", [CodebookSize + 1, c.Dim], decay: true, t => Init.Normal(t, rng, Initializers.Std));
        _actionEmbed = Child("action_embed", new Linear(config.Lam.LatentDim, c.Dim, rng));
        TokenOffset = c.ActionConditioning == "token" ? 1 : 0;
        SpatialRotary? rotary = null;
        if (c.SpatialRopeHeads > 0)
        {
            int gridH = config.Height / config.Tokenizer.Patch, gridW = config.Width / config.Tokenizer.Patch;
            if (gridH * gridW != tokens) throw new ArgumentException($"dynamics.spatial_rope_heads needs the {gridH}×{gridW} token grid of the config's frames, but the tokenizer gives {tokens} tokens");
            rotary = new SpatialRotary(gridH, gridW, TokenOffset, c.Dim / c.Heads, c.SpatialRopeHeads);
        }
        Body = Child("body", new STTransformer(c.Dim, c.Heads, c.Depth, tokens + TokenOffset, config.MaxFrames, c.QkNorm, rng, rotary));
        _head = Child("head", new Linear(c.Dim, CodebookSize, rng));
        if (TokenOffset == 1)
            _noAction = Param("no_action", [1, c.Dim], decay: false, t => Init.Normal(t, rng, Initializers.Std));
        if (c.CorruptMax > 0)
            _corruptEmbed = Param("corrupt_embed", [DynamicsConfig.CorruptBuckets, c.Dim], decay: false, t => Init.Normal(t, rng, Initializers.Std));
    }

    /// <summary>
    /// Logits (B·T·N, K) for input ids (B·T·N, MASK allowed) and actions (B·(T−1), L_a), where action row
    /// b·(T−1) + t conditions frame t+1 (0-based: frame t+1 of clip b gets a_t).
    /// </summary>
    public Tensor Logits(int[] ids, Tensor actions_RL, int b, int t) => LevelLogits(ids, actions_RL, b, t, null);

    private Tensor LevelLogits(int[] ids, Tensor actions_RL, int b, int t, int[]? levels, bool[]? dropped = null) =>
        Ops.Reshape(_head.Forward(FrameTokens(Body.Forward(Embed(ids, actions_RL, b, t, levels, dropped)))), [-1, CodebookSize]);

    // Hidden states (B, T, N + offset, D) → the frames' own tokens (B, T, N, D): the action token is dropped.
    private Tensor FrameTokens(Tensor h) => TokenOffset == 0 ? h : Ops.Slice(h, 2, TokenOffset, Tokens);

    /// <summary>
    /// Fills <paramref name="cache"/> with a context of T frames: ids (B·T·N, no MASK) and actions
    /// (B·(T−1), L_a) laid out as in <see cref="Logits"/>.
    /// </summary>
    public void Prefill(int[] ids, Tensor actions_RL, int b, int t, Nn.InferenceCache cache) =>
        Body.Forward(Embed(ids, actions_RL, b, t), cache);

    /// <summary>
    /// Logits (B·N, K) of the next frame from its current ids (B·N, MASK allowed) and the action that leads to
    /// it (B, L_a), given the frames in <paramref name="cache"/>; costs one frame of compute. With
    /// <paramref name="commit"/> the frame joins the cache (its ids must then be final) and no logits are computed.
    /// </summary>
    public Tensor? FrameLogits(int[] frameIds, Tensor action_BL, Nn.InferenceCache cache, bool commit)
    {
        var h = FrameHidden(frameIds, action_BL, cache, commit);
        return commit ? null : Ops.Reshape(_head.Forward(FrameTokens(h)), [-1, CodebookSize]);
    }

    /// <summary>
    /// Like <see cref="FrameLogits"/>, but stops before the head: the final hidden states (B, 1, <see cref="FrameRows"/>, D)
    /// of the next frame (its tokens start at row <see cref="TokenOffset"/>), for <see cref="HeadSampler"/> to turn into
    /// logits only where MaskGIT needs them. A null <paramref name="action_BL"/> leaves the action out, as action dropout
    /// does in training (frame 1's "no action" token, or nothing added): guidance's second pass.
    /// </summary>
    public Tensor FrameHidden(int[] frameIds, Tensor? action_BL, Nn.InferenceCache cache, bool commit)
    {
        int b = cache.Batch, d = Config.Dim;
        if (frameIds.Length != b * Tokens) throw new ArgumentException($"{frameIds.Length} ids are not {b} frames of {Tokens} tokens");
        var x = Ops.Embedding(_embed, frameIds, b, 1, Tokens);
        if (action_BL is null)
        {
            // The action left out, as training's action dropout leaves it out: frame 1's "no action" token, or nothing added.
            if (_noAction is not null) x = Ops.Concat(2, NoActionTokens(b, 1), x);
        }
        else
        {
            var a_B11D = Ops.Reshape(_actionEmbed.Forward(action_BL), [b, 1, 1, d]);
            x = TokenOffset == 1 ? Ops.Concat(2, a_B11D, x) : Ops.Add(x, a_B11D);
        }
        if (_corruptEmbed is not null) x = Ops.Add(x, Ops.Slice(_corruptEmbed, 0, 0, 1));   // play: no corruption
        return Body.ForwardFrame(x, cache, commit);
    }

    /// <summary>
    /// What MaskGIT samples the next frame from at play: <see cref="FrameHidden"/> (no commit) with the action, or with
    /// <see cref="Guidance"/> w ≠ 1 the guided h_none + w·(h_action − h_none) of the passes without and with it. The head
    /// is linear in these final (normalised) hidden states, so its logits are the guided ℓ_none + w·(ℓ_action − ℓ_none).
    /// </summary>
    public Tensor GuidedFrameHidden(int[] frameIds, Tensor action_BL, Nn.InferenceCache cache)
    {
        var with = FrameHidden(frameIds, action_BL, cache, commit: false);
        return _guidance == 1f ? with : Guide(with, FrameHidden(frameIds, null, cache, commit: false));
    }

    /// <summary>Final hidden states (B, T, <see cref="FrameRows"/>, D) of a clip (everything but the head); see <see cref="Logits"/>.</summary>
    public Tensor Hidden(int[] ids, Tensor actions_RL, int b, int t) => Body.Forward(Embed(ids, actions_RL, b, t));

    /// <summary>
    /// <see cref="Hidden"/> as the uncached sampler needs it for the clip's last frame: with <see cref="Guidance"/> w ≠ 1
    /// guided against a pass in which each clip's last action is left out (<see cref="GuidedFrameHidden"/>); the
    /// frames before are the same in both passes, the temporal attention being causal.
    /// </summary>
    public Tensor GuidedHidden(int[] ids, Tensor actions_RL, int b, int t)
    {
        var with = Hidden(ids, actions_RL, b, t);
        if (_guidance == 1f) return with;
        var dropped = new bool[b * (t - 1)];
        for (int c = 0; c < b; c++) dropped[c * (t - 1) + t - 2] = true;
        return Guide(with, Body.Forward(Embed(ids, actions_RL, b, t, dropped: dropped)));
    }

    private Tensor Guide(Tensor with, Tensor without) => Ops.Add(without, Ops.Scale(Ops.Sub(with, without), _guidance));

    /// <summary>
    /// The head (Linear(D, K)) for inference, as MaskGIT uses it: logits only for the positions still masked,
    /// computed in blocks by the workers that then sample them, so each block's logits never leave that core's
    /// cache. Holds a packed copy of the head weights: make one per session (or per frame) and dispose it;
    /// later weight updates are not seen.
    /// </summary>
    public HeadSampler CreateHeadSampler() => new(this);

    /// <summary>See <see cref="CreateHeadSampler"/>.</summary>
    public sealed class HeadSampler : IDisposable
    {
        private readonly DynamicsModel _model;
        private readonly Engine.Backend.IMaskedHead _head;

        internal HeadSampler(DynamicsModel model)
        {
            _model = model;
            ChoiceTemperature = model.ChoiceTemperature;
            _head = Engine.Backend.Backends.Default.CreateMaskedHead(model._head.Weight, model._head.Bias);   // (K, D), (K)
        }

        /// <summary>The MASK id of the model's input.</summary>
        public int MaskId => _model.MaskId;
        /// <summary>MaskGIT's choice temperature κ (the model's when this sampler was made).</summary>
        public float ChoiceTemperature { get; }

        /// <summary>
        /// One MaskGIT step (<see cref="MaskGit.Step(Engine.Backend.IMaskedHead, Tensor, int, Span{int}, Span{bool}, int, int, int, float, Rng, float)"/>)
        /// for one frame whose final hidden states are rows <paramref name="firstRow"/>.. of <paramref name="hidden"/> (…, D).
        /// </summary>
        public int Step(Tensor hidden, int firstRow, Span<int> tokens, Span<bool> fixedMask, int step, int steps, float temperature, Rng rng)
        {
            int d = _model.Config.Dim;
            if (hidden.Shape[^1] != d || (long)(firstRow + tokens.Length) * d > hidden.Size)
                throw new ArgumentException($"hidden states {hidden.ShapeString} do not hold rows {firstRow}..{firstRow + tokens.Length} of width {d}");
            return MaskGit.Step(_head, hidden, firstRow, tokens, fixedMask, _model.MaskId, step, steps, temperature, rng, ChoiceTemperature);
        }

        /// <summary>Frees the prepared weights.</summary>
        public void Dispose() => _head.Dispose();
    }

    // levels: each clip's corruption bucket (training), or null for none (bucket 0, as at play). dropped: the transitions
    // (B·(T−1)) whose action is left out (action dropout, guidance), or null for none.
    private Tensor Embed(int[] ids, Tensor actions_RL, int b, int t, int[]? levels = null, bool[]? dropped = null)
    {
        int d = Config.Dim;
        if (ids.Length != b * t * Tokens) throw new ArgumentException($"{ids.Length} ids are not {b}x{t} frames of {Tokens} tokens");
        if (actions_RL.Shape[0] != b * (t - 1)) throw new ArgumentException($"actions {actions_RL.ShapeString} do not cover {b} clips of {t - 1} transitions");
        var x_BTND = Ops.Embedding(_embed, ids, b, t, Tokens);
        if (_noAction is not null)
        {
            // One action token before each frame's tokens: "no action" for frame 1, a_t for frame t+1.
            var none_B11D = NoActionTokens(b, 1);
            var a_BT1D = t == 1 ? none_B11D : Ops.Concat(1, none_B11D, Dropped(Ops.Reshape(_actionEmbed.Forward(actions_RL), [b, t - 1, 1, d]), dropped, b, t));
            x_BTND = Ops.Concat(2, a_BT1D, x_BTND);                                  // (B, T, N + 1, D)
        }
        else if (t > 1)
        {
            var a_BT1D = Dropped(Ops.Reshape(_actionEmbed.Forward(actions_RL), [b, t - 1, 1, d]), dropped, b, t);
            var none_B11D = Tensor.Zeros(b, 1, 1, d);                               // frame 1 has no action
            x_BTND = Ops.Add(x_BTND, Ops.Concat(1, none_B11D, a_BT1D));
        }
        if (_corruptEmbed is not null)
            x_BTND = Ops.Add(x_BTND, Ops.Embedding(_corruptEmbed, levels ?? new int[b], b, 1, 1));   // (B, 1, 1, D)
        return x_BTND;
    }

    // The action embeddings (B, T−1, 1, D) with the dropped transitions' replaced by what frame 1 gets: the "no action"
    // token, or zeros without one.
    private Tensor Dropped(Tensor a_BT1D, bool[]? dropped, int b, int t)
    {
        if (dropped is null) return a_BT1D;
        if (dropped.Length != b * (t - 1)) throw new ArgumentException($"{dropped.Length} dropped flags for {b} clips of {t - 1} transitions");
        var keep = new float[dropped.Length];
        for (int i = 0; i < keep.Length; i++) keep[i] = dropped[i] ? 0f : 1f;
        var keep_BT11 = Tensor.From(keep, b, t - 1, 1, 1);
        var kept = Ops.Mul(a_BT1D, keep_BT11);
        if (_noAction is null) return kept;
        for (int i = 0; i < keep.Length; i++) keep[i] = 1f - keep[i];
        return Ops.Add(kept, Ops.Mul(NoActionTokens(b, t - 1), Tensor.From(keep, b, t - 1, 1, 1)));
    }

    // The "no action" token (action_conditioning "token") repeated for B clips of `frames` frames: (B, frames, 1, D).
    private Tensor NoActionTokens(int b, int frames) =>
        Ops.Add(Tensor.Zeros(b, frames, 1, Config.Dim), Ops.Reshape(_noAction!, [1, 1, 1, Config.Dim]));

    /// <summary>
    /// Training pass: masks frames 2..T of <paramref name="ids"/> at a per-clip rate r ~ U(mask_min, mask_max)
    /// (with masking "prefix", only frames k..T for a k drawn per clip from 2..T), corrupts the context if
    /// corrupt_max &gt; 0, leaves out each transition's action with probability action_dropout (drawn last, so without
    /// it the draws are as before; not with <paramref name="dropActions"/> false, as validation measures the model with
    /// its actions), and scores the masked positions against the original ids.
    /// </summary>
    public DynamicsOutput Forward(int[] ids, Tensor actions_RL, int b, int t, Rng rng, bool dropActions = true)
    {
        int[]? firsts = null;
        int[] context = ids;
        if (Config.SelfForcing > 0 && t >= 3) (context, firsts, _) = SelfForce(ids, actions_RL, b, t, rng);
        var (masked, mask, levels) = MaskAndCorrupt(context, b, t, rng, firsts);   // the targets stay the real ids
        bool[]? dropped = null;
        if (dropActions && Config.ActionDropout > 0 && t > 1)
        {
            dropped = new bool[b * (t - 1)];
            for (int i = 0; i < dropped.Length; i++) dropped[i] = rng.NextDouble() < Config.ActionDropout;
        }
        var logits = LevelLogits(masked, actions_RL, b, t, levels, dropped);
        return new DynamicsOutput(logits, Ops.CrossEntropy(logits, ids, LossWeights(ids, mask, b, t)), mask);
    }

    /// <summary>
    /// Self-forcing (<see cref="DynamicsConfig.SelfForcing"/>): picks a share of the clips; draws each clip's first
    /// masked frame k (1-based) and, for a picked clip, how many frames m ∈ 1..<see cref="DynamicsConfig.SelfForcingFrames"/>
    /// before it the model makes (k ∈ m+2..T; the others k ∈ 2..T, as "prefix" masking), and replaces frames
    /// k−m..k−1 of each picked clip by the model's greedy one-pass predictions, made one after the other as in play:
    /// each from the real frames and the model's own frames before it (no gradient). Returns the context ids and each
    /// clip's k (0-based) for <see cref="MaskAndCorrupt"/>, and how many frames the model made in each (0: not picked).
    /// </summary>
    public (int[] Context, int[] Firsts, int[] Made) SelfForce(int[] ids, Tensor actions_RL, int b, int t, Rng rng)
    {
        int n = Tokens, most = Config.SelfForcingFrames;
        var firsts = new int[b];
        var made = new int[b];                                                   // frames the model makes (0: not picked)
        for (int c = 0; c < b; c++)
        {
            bool forced = rng.NextFloat() < Config.SelfForcing;
            // One frame (the default) draws nothing more, so such runs draw as they always did.
            made[c] = !forced ? 0 : most == 1 ? 1 : 1 + rng.NextInt(Math.Min(most, t - 2));
            firsts[c] = rng.NextInt(forced ? made[c] + 1 : 1, t);
        }
        if (!made.Any(m => m > 0)) return (ids, firsts, made);
        var context = (int[])ids.Clone();
        int l = actions_RL.Shape[1];
        var actions = actions_RL.ToArray();
        for (int round = 0; round < made.Max(); round++)
        {
            // This round makes frame g = k−m+round (≥ 1) of each clip that has one left; the clips are cut after the
            // latest such frame (the model is causal in time, so later frames change nothing): frames ≥ 2.
            var g = new int[b];
            int frames = 0;
            for (int c = 0; c < b; c++)
            {
                g[c] = made[c] > round ? firsts[c] - made[c] + round : -1;
                frames = Math.Max(frames, g[c] + 1);
            }
            var input = new int[b * frames * n];
            var acts = new float[b * (frames - 1) * l];
            for (int c = 0; c < b; c++)
            {
                Array.Copy(context, c * t * n, input, c * frames * n, frames * n);
                // Frames from g on are all MASK: the prediction of frame g sees complete frames before it, as in play.
                if (g[c] >= 0) Array.Fill(input, MaskId, (c * frames + g[c]) * n, (frames - g[c]) * n);
                Array.Copy(actions, c * (t - 1) * l, acts, c * (frames - 1) * l, (frames - 1) * l);
            }
            using (Engine.Autograd.Tape.NoGrad())
            using (new TensorScope())
            {
                var a = Tensor.From(acts, b * (frames - 1), l);
                // The body over the cut clips, the head only on the frame each clip makes (not on all B·T·N rows).
                var h = FrameTokens(Body.Forward(Embed(input, a, b, frames)));      // (B, frames, N, D)
                for (int c = 0; c < b; c++)
                {
                    if (g[c] < 0) continue;
                    var clipFrames = Ops.Slice(h, 0, c, 1);                             // (1, frames, N, D)
                    var logits = _head.Forward(Ops.Slice(clipFrames, 1, g[c], 1)).ToArray();   // (1, 1, N, K)
                    int frame = (c * t + g[c]) * n;
                    for (int i = 0; i < n; i++)
                        context[frame + i] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(new ReadOnlySpan<float>(logits, i * CodebookSize, CodebookSize));
                }
            }
        }
        return (context, firsts, made);
    }

    /// <summary>
    /// Per-token loss weights: the mask (1 at masked positions), with change_weight instead of 1 where the target
    /// code differs from the code at the same position in the frame before.
    /// </summary>
    public float[] LossWeights(int[] ids, float[] mask, int b, int t)
    {
        if (Config.ChangeWeight == 1f) return mask;
        var weights = (float[])mask.Clone();
        int n = Tokens;
        for (int clip = 0; clip < b; clip++)
            for (int f = 1; f < t; f++)
                for (int i = 0; i < n; i++)
                {
                    int at = (clip * t + f) * n + i;
                    if (weights[at] != 0f && ids[at] != ids[at - n]) weights[at] = Config.ChangeWeight;
                }
        return weights;
    }

    /// <summary>
    /// The training input: ids (B·T·N) with MASK where <c>Mask</c> is 1, and random codes at corrupted context
    /// positions; each clip's corruption bucket (null without corruption). Frame 1 is never changed. Draws from
    /// <paramref name="rng"/> only what the settings use, so the paper's settings draw as they always did.
    /// <paramref name="firsts"/> gives each clip's first masked frame (0-based) instead of drawing it (self-forcing).
    /// </summary>
    public (int[] Ids, float[] Mask, int[]? Levels) MaskAndCorrupt(int[] ids, int b, int t, Rng rng, int[]? firsts = null)
    {
        if (ids.Length != b * t * Tokens) throw new ArgumentException($"{ids.Length} ids are not {b}x{t} frames of {Tokens} tokens");
        var masked = (int[])ids.Clone();
        var mask = new float[ids.Length];
        var levels = _corruptEmbed is null ? null : new int[b];
        int n = Tokens;
        for (int clip = 0; clip < b; clip++)
        {
            float r = Config.MaskMin + (Config.MaskMax - Config.MaskMin) * rng.NextFloat();
            int first = firsts is not null ? firsts[clip] : Config.Masking == "prefix" ? rng.NextInt(1, t) : 1;   // 0-based first masked frame
            float level = 0;
            if (levels is not null)
            {
                float u = rng.NextFloat();
                level = Config.CorruptMax * u;
                levels[clip] = Math.Min(DynamicsConfig.CorruptBuckets - 1, (int)(u * DynamicsConfig.CorruptBuckets));
            }
            for (int f = 1; f < t; f++)
                for (int i = 0; i < n; i++)
                {
                    int at = (clip * t + f) * n + i;
                    if (f >= first && rng.NextFloat() < r) { masked[at] = MaskId; mask[at] = 1f; }
                    else if (level > 0 && rng.NextFloat() < level) masked[at] = rng.NextInt(CodebookSize);
                }
        }
        return (masked, mask, levels);
    }
}
