using Genie.Core;
using Genie.Engine;
using Genie.Engine.Autograd;
using Genie.Nn;

namespace Genie.Models;

/// <summary>Result of a latent-action-model training pass.</summary>
/// <param name="Actions">Straight-through action vectors (B·(T−1), L_a); a_t in row b·(T−1) + t.</param>
/// <param name="Prediction">Predicted frames 2..T in patch layout (B, T−1, N, P).</param>
/// <param name="Loss">mean((x̂_{2..T} − x_{2..T})²) + VQ loss.</param>
/// <param name="ReconLoss">The reconstruction term alone.</param>
/// <param name="Vq">The action quantiser's output; Vq.Ids are the latent actions (one per chunk of transitions when lam.chunk > 1; InferActions gives one per transition).</param>
public sealed record LamOutput(Tensor Actions, Tensor Prediction, Tensor Loss, Tensor ReconLoss, VqResult Vq);

/// <summary>
/// The latent action model (ARCHITECTURE.md §5), on pixels.
/// <code>
/// encoder: patchify(p) → Linear → +pos; append one learned action token per frame (N+1 tokens/frame)
///          → ST blocks (causal) → the action token's output at frame t+1 → LN → Linear(D, L_a) → VQ(A, L_a)
///          → a_t for t = 1..T−1 (a_t sees x_≤t+1 only)
/// decoder: patches of x_1..x_{T−1} → Linear → +pos; add Linear(L_a, D)(a_t) to every token of frame t
///          → ST blocks (causal) → LN → Linear(D, p²·3) → sigmoid → prediction of x_{t+1} at position t
/// loss:    mean((x̂_{2..T} − x_{2..T})²) + VQ loss (+ hold_weight · mean ‖â_{t+1} − â_t‖², off by default)
/// chunk k > 1 (off by default): the latents of each run of k transitions are averaged and quantised once, and
///          each transition of the run is decoded with that code, so a code has to hold over k frames
/// </code>
/// Shape keys: B, T, N (patches per frame at the LAM's patch size), P = p²·3, D, L (= L_a), A actions.
/// </summary>
public sealed class LatentActionModel : Module
{
    private readonly Linear _encEmbed, _toLatent, _decEmbed, _actionEmbed, _toPixels;
    private readonly Tensor _actionToken;   // (D) the learned token appended to every frame

    /// <summary>Encoder transformer (N + 1 tokens per frame).</summary>
    public STTransformer Encoder { get; }
    /// <summary>Decoder transformer (N tokens per frame).</summary>
    public STTransformer Decoder { get; }
    /// <summary>The action codebook (A, L_a): the only part that play needs.</summary>
    public VectorQuantizer Quantizer { get; }
    /// <summary>Settings.</summary>
    public LamConfig Config { get; }
    /// <summary>Patches per frame N at the LAM's patch size.</summary>
    public int Tokens { get; }
    /// <summary>Values per patch P.</summary>
    public int PatchDim { get; }

    /// <summary>Builds the model with seeded weights.</summary>
    public LatentActionModel(GenieConfig config, Rng rng)
    {
        var c = config.Lam;
        Config = c;
        Tokens = config.Height / c.Patch * (config.Width / c.Patch);
        PatchDim = Patches.PatchDim(c.Patch);
        _encEmbed = Child("enc_embed", new Linear(PatchDim, c.Dim, rng));
        _actionToken = Param("action_token", [c.Dim], decay: false, t => Init.Normal(t, rng, Initializers.Std));
        Encoder = Child("encoder", new STTransformer(c.Dim, c.Heads, c.EncoderDepth, Tokens + 1, config.MaxFrames, c.QkNorm, rng));
        _toLatent = Child("to_latent", new Linear(c.Dim, c.LatentDim, rng));
        Quantizer = Child("vq", new VectorQuantizer(c.NumActions, c.LatentDim, c.Beta, c.DeadAfter, rng));
        _decEmbed = Child("dec_embed", new Linear(PatchDim, c.Dim, rng));
        _actionEmbed = Child("action_embed", new Linear(c.LatentDim, c.Dim, rng));
        Decoder = Child("decoder", new STTransformer(c.Dim, c.Heads, c.DecoderDepth, Tokens, config.MaxFrames, c.QkNorm, rng));
        _toPixels = Child("to_pixels", new Linear(c.Dim, PatchDim, rng));
    }

    /// <summary>Encoder: patches (B, T, N, P) → continuous action latents (B·(T−1), L_a) for transitions 1..T−1.</summary>
    public Tensor EncodeContinuous(Tensor patches_BTNP)
    {
        int b = patches_BTNP.Shape[0], t = patches_BTNP.Shape[1], d = Config.Dim;
        if (t < 2) throw new ArgumentException($"the latent action model needs at least 2 frames, got {patches_BTNP.ShapeString}");
        var x_BTND = _encEmbed.Forward(patches_BTNP);
        var token_BT1D = Ops.Add(Tensor.Zeros(b, t, 1, d), _actionToken);           // the learned token, on every frame
        var h = Encoder.Forward(Ops.Concat(2, x_BTND, token_BT1D));                  // (B, T, N+1, D)
        var act_BT1D = Ops.Slice(Ops.Slice(h, 2, Tokens, 1), 1, 1, t - 1);           // action token at frames 2..T
        return _toLatent.Forward(Ops.Reshape(act_BT1D, [b * (t - 1), d]));           // (B·(T−1), L_a)
    }

    /// <summary>Decoder: frames 1..T−1 (B, T−1, N, P) and actions (B·(T−1), L_a) → predictions of frames 2..T.</summary>
    public Tensor Decode(Tensor context_BTNP, Tensor actions_RL)
    {
        int b = context_BTNP.Shape[0], t1 = context_BTNP.Shape[1];
        var x = _decEmbed.Forward(context_BTNP);                                       // (B, T−1, N, D)
        var a_BT1D = Ops.Reshape(_actionEmbed.Forward(actions_RL), [b, t1, 1, Config.Dim]);
        return Ops.Sigmoid(_toPixels.Forward(Decoder.Forward(Ops.Add(x, a_BT1D))));
    }

    /// <summary>
    /// The clip as the model sees it: unchanged, or with a <see cref="LamConfig.Window"/> of w cut into its T−1
    /// transitions (B·(T−1), w, N, P): transition t of clip b (row b·(T−1) + t) holds frames t+2−w .. t+1,
    /// where frames before the clip's start repeat frame 0.
    /// </summary>
    private Tensor Input(Tensor patches_BTNP)
    {
        int w = Config.Window;
        if (w == 0) return patches_BTNP;
        int b = patches_BTNP.Shape[0], t = patches_BTNP.Shape[1], n = Tokens, p = PatchDim;
        // Window position i (0..w−1) of transition j is frame clamp(j + 2 − w + i, 0); for each i, the frames
        // of all transitions j = 0..T−2 are one run of the clip, with its first frame repeated in front.
        var columns = new Tensor[w];
        for (int i = 0; i < w; i++)
        {
            int first = i + 2 - w;                                   // frame of transition 0 at position i
            var parts = new List<Tensor>();
            if (first < 0) parts.Add(Ops.Concat(1, Enumerable.Repeat(Ops.Slice(patches_BTNP, 1, 0, 1), -first).ToArray()));
            int from = Math.Max(first, 0), count = t - 1 - Math.Max(-first, 0);
            parts.Add(Ops.Slice(patches_BTNP, 1, from, count));
            var run = parts.Count == 1 ? parts[0] : Ops.Concat(1, parts.ToArray());   // (B, T−1, N, P)
            columns[i] = Ops.Reshape(run, [b * (t - 1), 1, n, p]);
        }
        return Ops.Concat(1, columns);
    }

    /// <summary>
    /// Training pass on patches (B, T, N, P). Actions are a_1..a_{T−1} of every clip, in order, whether the model
    /// sees whole clips or windows. With a window of w, each transition's window yields one action (at its last
    /// frame), and the decoder, given the window's first w−1 frames and that action at the last of them
    /// (no action on earlier ones), predicts only x_{t+1}.
    /// </summary>
    public LamOutput Forward(Tensor patches_BTNP)
    {
        int t = patches_BTNP.Shape[1];
        int b = patches_BTNP.Shape[0];
        if (Config.Window == 0)
        {
            var continuous = EncodeContinuous(patches_BTNP);
            var vq = Quantizer.Forward(ChunkMeans(continuous, b, t - 1));                 // one code per chunk
            var perTransition = PerTransition(vq.Quantized, b, t - 1);                    // (B·(T−1), L)
            var prediction = Decode(Ops.Slice(patches_BTNP, 1, 0, t - 1), perTransition);
            var recon = Ops.MseLoss(prediction, Ops.Slice(patches_BTNP, 1, 1, t - 1));
            return new LamOutput(perTransition, prediction, WithHold(Ops.Add(recon, vq.Loss), continuous, b, t), recon, vq);
        }
        int w = Config.Window, r = b * (t - 1), l = Config.LatentDim;
        var windows = Input(patches_BTNP);                                          // (R, w, N, P)
        var latents = LastTransition(EncodeContinuous(windows), r, w);              // (R, L), as EncodeActions
        var q = Quantizer.Forward(ChunkMeans(latents, b, t - 1));                    // one code per chunk
        var chosen = PerTransition(q.Quantized, b, t - 1);                          // (R, L)
        var actions = w == 2 ? chosen
            : Ops.Reshape(Ops.Concat(1, Tensor.Zeros(r, w - 2, l), Ops.Reshape(chosen, [r, 1, l])), [r * (w - 1), l]);
        var next = Ops.Slice(Decode(Ops.Slice(windows, 1, 0, w - 1), actions), 1, w - 2, 1);   // (R, 1, N, P)
        var loss = Ops.MseLoss(next, Ops.Slice(windows, 1, w - 1, 1));
        return new LamOutput(chosen, next, WithHold(Ops.Add(loss, q.Loss), latents, b, t), loss, q);
    }

    /// <summary>
    /// <paramref name="loss"/> plus <see cref="LamConfig.HoldWeight"/> · mean ‖â_{t+1} − â_t‖² over consecutive
    /// transitions of each clip, â the L2-normalised continuous latents (B·(T−1), L) in clip order.
    /// </summary>
    private Tensor WithHold(Tensor loss, Tensor latents_RL, int b, int t)
    {
        if (Config.HoldWeight == 0f || t < 3) return loss;
        var a = Ops.Reshape(Ops.L2Normalize(latents_RL), [b, t - 1, Config.LatentDim]);
        var change = Ops.MseLoss(Ops.Slice(a, 1, 1, t - 2), Ops.Slice(a, 1, 0, t - 2));   // mean over B·(T−2)·L values
        return Ops.Add(loss, Ops.Scale(change, Config.HoldWeight * Config.LatentDim));   // · L: mean squared norm per pair
    }

    /// <summary>
    /// Transitions 0..n−1 of a clip cut into chunks of <see cref="LamConfig.Chunk"/> k: chunk c holds transitions
    /// c·k .. min(c·k + k, n) − 1. Returns (start, length) of each.
    /// </summary>
    public static (int Start, int Length)[] Chunks(int transitions, int k) =>
        [.. Enumerable.Range(0, (transitions + k - 1) / k).Select(c => (c * k, Math.Min(k, transitions - c * k)))];

    /// <summary>Continuous latents (B·n, L) of n transitions per clip → the mean over each chunk, (B·C, L) in clip order.</summary>
    private Tensor ChunkMeans(Tensor latents_RL, int b, int n)
    {
        int k = Config.Chunk, l = Config.LatentDim;
        if (k == 1) return latents_RL;
        var x_BnL = Ops.Reshape(latents_RL, [b, n, l]);
        var means = Chunks(n, k).Select(c =>
        {
            var sum = Ops.Slice(x_BnL, 1, c.Start, 1);
            for (int i = 1; i < c.Length; i++) sum = Ops.Add(sum, Ops.Slice(x_BnL, 1, c.Start + i, 1));
            return Ops.Scale(sum, 1f / c.Length);                                                   // (B, 1, L)
        }).ToArray();
        return Ops.Reshape(Ops.Concat(1, means), [-1, l]);
    }

    /// <summary>One vector per chunk (B·C, L) → the chunk's vector on each of its transitions, (B·n, L).</summary>
    private Tensor PerTransition(Tensor chunks_RL, int b, int n)
    {
        int k = Config.Chunk, l = Config.LatentDim;
        if (k == 1) return chunks_RL;
        var chunks = Chunks(n, k);
        var x_BCL = Ops.Reshape(chunks_RL, [b, chunks.Length, l]);
        var parts = chunks.Select((c, i) => Ops.Add(Tensor.Zeros(b, c.Length, l), Ops.Slice(x_BCL, 1, i, 1))).ToArray();
        return Ops.Reshape(Ops.Concat(1, parts), [b * n, l]);
    }

    /// <summary>Of (R·(w−1), L) latents of R windows, the one of each window's last transition: (R, L).</summary>
    private static Tensor LastTransition(Tensor latents, int windows, int w) =>
        w == 2 ? latents : Ops.Reshape(Ops.Slice(Ops.Reshape(latents, [windows, w - 1, -1]), 1, w - 2, 1), [windows, -1]);

    /// <summary>Continuous (pre-quantisation) latent actions (B·(T−1), L_a) of a clip, in any window mode.</summary>
    public Tensor EncodeActions(Tensor patches_BTNP)
    {
        if (Config.Window == 0) return EncodeContinuous(patches_BTNP);
        int r = patches_BTNP.Shape[0] * (patches_BTNP.Shape[1] - 1);
        return LastTransition(EncodeContinuous(Input(patches_BTNP)), r, Config.Window);
    }

    /// <summary>
    /// Latent action ids (B·(T−1)) of a clip, one per transition; with a <see cref="LamConfig.Chunk"/> k > 1 every
    /// transition of a chunk gets its chunk's id. No gradient.
    /// </summary>
    public int[] InferActions(Tensor patches_BTNP)
    {
        using var _ = Tape.NoGrad();
        int b = patches_BTNP.Shape[0], n = patches_BTNP.Shape[1] - 1;
        return Quantizer.Forward(PerTransition(ChunkMeans(EncodeActions(patches_BTNP), b, n), b, n)).Ids;
    }
}
