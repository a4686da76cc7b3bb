using Genie.Core;
using Genie.Engine;
using Genie.Engine.Autograd;
using Genie.Nn;

namespace Genie.Models;

/// <summary>Result of a tokenizer training forward pass.</summary>
/// <param name="Reconstruction">x̂ in patch layout (B, T, N, p·p·3), values in (0, 1).</param>
/// <param name="Loss">mean((x̂ − x)²) + VQ loss.</param>
/// <param name="ReconLoss">mean((x̂ − x)²) alone.</param>
/// <param name="Vq">The quantiser's output (ids, counts, ...).</param>
public sealed record TokenizerOutput(Tensor Reconstruction, Tensor Loss, Tensor ReconLoss, VqResult Vq);

/// <summary>
/// The ST-ViViT VQ-VAE video tokenizer (ARCHITECTURE.md §4).
/// <code>
/// encode:  patchify → Linear(p·p·3, D) → +pos → ST blocks (enc) → LN → Linear(D, L) → VQ(K, L) → z_BTN
/// decode:  codes(z) → Linear(L, D) → +pos → ST blocks (dec) → LN → Linear(D, p·p·3) → sigmoid → unpatchify
/// loss:    mean((x̂ − x)²) + VQ loss
/// </code>
/// Shape keys: B batch, T frames, N = (H/p)(W/p) tokens per frame, P = p·p·3, D width, L code width.
/// Temporal attention is causal in encoder and decoder, so z_t depends on x_≤t only; with encoder_temporal off the
/// encoder sees one frame at a time and z_t depends on x_t only.
/// </summary>
public sealed class VideoTokenizer : Module
{
    private readonly Linear _patchEmbed, _toLatent, _fromLatent, _toPixels;

    /// <summary>Encoder transformer.</summary>
    public STTransformer Encoder { get; }
    /// <summary>Decoder transformer.</summary>
    public STTransformer Decoder { get; }
    /// <summary>The codebook.</summary>
    public VectorQuantizer Quantizer { get; }
    /// <summary>The model's settings.</summary>
    public TokenizerConfig Config { get; }
    /// <summary>Frame height and width.</summary>
    public int Height { get; }
    /// <inheritdoc cref="Height"/>
    public int Width { get; }
    /// <summary>Tokens per frame N.</summary>
    public int Tokens { get; }
    /// <summary>Values per patch P = p·p·3.</summary>
    public int PatchDim { get; }

    /// <summary>Builds the tokenizer with seeded initial weights.</summary>
    public VideoTokenizer(GenieConfig config, Rng rng)
    {
        var c = config.Tokenizer;
        Config = c;
        Height = config.Height;
        Width = config.Width;
        Tokens = Height / c.Patch * (Width / c.Patch);
        PatchDim = Patches.PatchDim(c.Patch);
        _patchEmbed = Child("patch_embed", new Linear(PatchDim, c.Dim, rng));
        Encoder = Child("encoder", new STTransformer(c.Dim, c.Heads, c.EncoderDepth, Tokens, config.MaxFrames, c.QkNorm, rng));
        _toLatent = Child("to_latent", new Linear(c.Dim, c.LatentDim, rng));
        Quantizer = Child("vq", new VectorQuantizer(c.CodebookSize, c.LatentDim, c.Beta, c.DeadAfter, rng));
        _fromLatent = Child("from_latent", new Linear(c.LatentDim, c.Dim, rng));
        Decoder = Child("decoder", new STTransformer(c.Dim, c.Heads, c.DecoderDepth, Tokens, config.MaxFrames, c.QkNorm, rng));
        _toPixels = Child("to_pixels", new Linear(c.Dim, PatchDim, rng));
    }

    /// <summary>
    /// Patches (B, T, N, P) → continuous encoder output e (B·T·N, L), before quantisation. Without
    /// encoder_temporal each frame is encoded as a clip of one, (B·T, 1, N, P), so its codes see that frame only.
    /// </summary>
    public Tensor EncodeContinuous(Tensor patches_BTNP)
    {
        var x = Config.EncoderTemporal ? patches_BTNP
            : Ops.Reshape(patches_BTNP, [patches_BTNP.Shape[0] * patches_BTNP.Shape[1], 1, Tokens, PatchDim]);
        var h_BTND = Encoder.Forward(_patchEmbed.Forward(x));
        return Ops.Reshape(_toLatent.Forward(h_BTND), [-1, Config.LatentDim]);
    }

    /// <summary>Quantised latents (B·T·N, L) → reconstruction (B, T, N, P) in (0, 1).</summary>
    public Tensor DecodeLatents(Tensor q_RL, int b, int t)
    {
        var x_BTND = Ops.Reshape(_fromLatent.Forward(q_RL), [b, t, Tokens, Config.Dim]);
        return Ops.Sigmoid(_toPixels.Forward(Decoder.Forward(x_BTND)));
    }

    /// <summary>Training pass: reconstruction, loss and codes for patches (B, T, N, P).</summary>
    public TokenizerOutput Forward(Tensor patches_BTNP)
    {
        int b = patches_BTNP.Shape[0], t = patches_BTNP.Shape[1];
        var vq = Quantizer.Forward(EncodeContinuous(patches_BTNP));
        var recon = DecodeLatents(vq.Quantized, b, t);
        var reconLoss = Ops.MseLoss(recon, patches_BTNP);
        return new TokenizerOutput(recon, Ops.Add(reconLoss, vq.Loss), reconLoss, vq);
    }

    /// <summary>Token ids z (B·T·N, row-major over B, T, N) of patches (B, T, N, P). No gradient.</summary>
    public int[] Encode(Tensor patches_BTNP)
    {
        using var _ = Tape.NoGrad();
        return Quantizer.Forward(EncodeContinuous(patches_BTNP)).Ids;
    }

    /// <summary>Fills the decoder cache with a context of token ids (B·T·N). No gradient.</summary>
    public void PrefillDecoder(int[] ids, int b, int t, InferenceCache cache)
    {
        using var _ = Tape.NoGrad();
        var x_BTND = Ops.Reshape(_fromLatent.Forward(Quantizer.Lookup(ids)), [b, t, Tokens, Config.Dim]);
        Decoder.Forward(x_BTND, cache);
    }

    /// <summary>
    /// Decodes the next frame's ids (B·N) given the frames in <paramref name="cache"/>, appending it unless
    /// <paramref name="commit"/> is false: (B, 1, N, P). One frame of compute. No gradient.
    /// </summary>
    public Tensor DecodeFrame(int[] frameIds, InferenceCache cache, bool commit = true)
    {
        using var _ = Tape.NoGrad();
        int b = cache.Batch;
        var x_B1ND = Ops.Reshape(_fromLatent.Forward(Quantizer.Lookup(frameIds)), [b, 1, Tokens, Config.Dim]);
        return Ops.Sigmoid(_toPixels.Forward(Decoder.ForwardFrame(x_B1ND, cache, commit)));
    }

    /// <summary>Token ids (B·T·N) → reconstruction (B, T, N, P). No gradient.</summary>
    public Tensor Decode(int[] ids, int b, int t)
    {
        using var _ = Tape.NoGrad();
        if (ids.Length != b * t * Tokens) throw new ArgumentException($"{ids.Length} token ids are not {b}x{t} frames of {Tokens} tokens");
        return DecodeLatents(Quantizer.Lookup(ids), b, t);
    }
}
