using Genie.Core;
using Genie.Engine;
using Genie.Engine.Autograd;
using Genie.Engine.Optim;
using Genie.Nn;

namespace Genie.Models.Agents;

/// <summary>Settings of a <see cref="PolicyNetwork"/>.</summary>
/// <param name="Height">Frame height in pixels.</param>
/// <param name="Width">Frame width in pixels.</param>
/// <param name="Patch">Patch size p (H and W must be multiples).</param>
/// <param name="Frames">Frames k the policy sees (the current one and k−1 before it).</param>
/// <param name="Classes">Actions it chooses between (latent or real).</param>
/// <param name="Dim">Transformer width.</param>
/// <param name="Heads">Attention heads.</param>
/// <param name="Depth">ST blocks.</param>
public sealed record PolicyConfig(int Height, int Width, int Patch, int Frames, int Classes, int Dim = 64, int Heads = 4, int Depth = 2)
{
    /// <summary>Throws if a value is out of range.</summary>
    public void Validate()
    {
        if (Patch < 1 || Height % Patch != 0 || Width % Patch != 0) throw new ArgumentException($"patch {Patch} must divide {Height}x{Width}");
        if (Frames < 1) throw new ArgumentException($"frames must be at least 1, got {Frames}");
        if (Classes < 2) throw new ArgumentException($"classes must be at least 2, got {Classes}");
        if (Dim < 1 || Heads < 1 || Dim % Heads != 0) throw new ArgumentException($"dim {Dim} must be a positive multiple of heads {Heads}");
        if (Depth < 1) throw new ArgumentException($"depth must be at least 1, got {Depth}");
    }
}

/// <summary>
/// A behaviour-cloning policy (paper appendix E: a small ST-ViViT encoder and a linear head): the last k frames,
/// patchified as the models do (<see cref="Patches"/>), embedded, with a learned policy token appended to every
/// frame, through an <see cref="STTransformer"/>; the policy token of the last frame goes through a linear head
/// to logits over the actions. Trained with cross-entropy and AdamW. Frames before an episode's start repeat
/// its first frame (<see cref="Window"/>).
/// </summary>
public sealed class PolicyNetwork : Module
{
    private readonly Linear _embed, _head;
    private readonly Tensor _token;   // (D)

    /// <summary>Settings.</summary>
    public PolicyConfig Config { get; }
    /// <summary>Encoder.</summary>
    public STTransformer Encoder { get; }
    /// <summary>Patches per frame N.</summary>
    public int Tokens { get; }

    /// <summary>A network with seeded weights.</summary>
    public PolicyNetwork(PolicyConfig config, Rng rng)
    {
        config.Validate();
        Config = config;
        Tokens = config.Height / config.Patch * (config.Width / config.Patch);
        _embed = Child("embed", new Linear(Patches.PatchDim(config.Patch), config.Dim, rng));
        _token = Param("policy_token", [config.Dim], decay: false, t => Init.Normal(t, rng, Initializers.Std));
        Encoder = Child("encoder", new STTransformer(config.Dim, config.Heads, config.Depth, Tokens + 1, config.Frames, qkNorm: false, rng));
        _head = Child("head", new Linear(config.Dim, config.Classes, rng));
    }

    /// <summary>Logits (B, classes) from frames as patches (B, k, N, P).</summary>
    public Tensor Forward(Tensor patches_BKNP)
    {
        int b = patches_BKNP.Shape[0], k = patches_BKNP.Shape[1], d = Config.Dim;
        if (patches_BKNP.Rank != 4 || k != Config.Frames || patches_BKNP.Shape[2] != Tokens)
            throw new ArgumentException($"the policy expects (B, {Config.Frames}, {Tokens}, P), got {patches_BKNP.ShapeString}");
        var x_BKND = _embed.Forward(patches_BKNP);
        var token_BK1D = Ops.Add(Tensor.Zeros(b, k, 1, d), _token);
        var h = Encoder.Forward(Ops.Concat(2, x_BKND, token_BK1D));                 // (B, k, N+1, D)
        var last = Ops.Slice(Ops.Slice(h, 2, Tokens, 1), 1, k - 1, 1);               // (B, 1, 1, D)
        return _head.Forward(Ops.Reshape(last, [b, d]));
    }

    /// <summary>The uint8 frames (B, k, H, W, 3) as the network's input (B, k, N, P).</summary>
    public Tensor Input(ReadOnlySpan<byte> frames, int batch) =>
        Patches.Tensor(frames, batch, Config.Frames, Config.Height, Config.Width, Config.Patch);

    /// <summary>
    /// The k frames ending at frame <paramref name="t"/> of an episode's frames (T, H, W, 3), written into
    /// <paramref name="dst"/> (k·H·W·3 bytes); frames before 0 repeat frame 0.
    /// </summary>
    public static void Window(ReadOnlySpan<byte> episode, int t, int k, int frameBytes, Span<byte> dst)
    {
        for (int i = 0; i < k; i++)
        {
            int f = Math.Max(t - k + 1 + i, 0);
            episode.Slice(f * frameBytes, frameBytes).CopyTo(dst.Slice(i * frameBytes, frameBytes));
        }
    }

    /// <summary>The most likely action for each of <paramref name="batch"/> windows of k uint8 frames. No gradient.</summary>
    public int[] Predict(ReadOnlySpan<byte> frames, int batch) => Act(frames, batch, 0f, null);

    /// <summary>
    /// An action for each of <paramref name="batch"/> windows of k uint8 frames, drawn from
    /// softmax(logits / <paramref name="temperature"/>) with <paramref name="rng"/>'s draws, or the most likely one at
    /// temperature 0 (then <paramref name="rng"/> may be null). No gradient.
    /// </summary>
    public int[] Act(ReadOnlySpan<byte> frames, int batch, float temperature, Rng? rng)
    {
        if (!(temperature >= 0f)) throw new ArgumentOutOfRangeException(nameof(temperature), $"temperature must be 0 (greedy) or positive, got {temperature}");
        if (temperature > 0f && rng is null) throw new ArgumentNullException(nameof(rng), "sampling needs an rng");
        float[] logits;
        using (var scope = new TensorScope())
        using (Tape.NoGrad())
            logits = Forward(Input(frames, batch)).ToArray();
        var rows = new int[batch];
        var draws = new double[batch];
        for (int i = 0; i < batch; i++) { rows[i] = i; if (temperature > 0f) draws[i] = rng!.NextDouble(); }
        var actions = new int[batch];
        Engine.Kernels.Sampling.SampleRows(logits, Config.Classes, rows, temperature, draws, actions, new double[batch]);
        return actions;
    }

    /// <summary>
    /// One AdamW step of cross-entropy on B windows of k uint8 frames (B·k·H·W·3 bytes) and their B target
    /// actions, the gradient clipped to global norm 1; returns the loss before the step.
    /// </summary>
    public double TrainStep(AdamW optimizer, ReadOnlySpan<byte> frames, int[] targets, float lr)
    {
        using var scope = new TensorScope();
        var loss = Ops.CrossEntropy(Forward(Input(frames, targets.Length)), targets);
        double value = loss.Item();
        loss.Backward();
        GradClip.ClipGlobalNorm(optimizer.Parameters, 1f);
        optimizer.Step(lr);
        optimizer.ZeroGrad();
        return value;
    }
}
