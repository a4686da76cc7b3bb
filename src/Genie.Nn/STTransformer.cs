using Genie.Core;
using Genie.Engine;

namespace Genie.Nn;

/// <summary>
/// One ST-transformer block (ARCHITECTURE.md §2), pre-LayerNorm with three residual sub-layers:
/// <code>
/// x = x + SpatialAttention(LN_s(x))     // over the N tokens of each frame, bidirectional
/// x = x + TemporalAttention(LN_t(x))    // over the T frames at each position, causal
/// x = x + FFN(LN_f(x))                  // Linear(D,4D) → GELU(tanh) → Linear(4D,D)
/// </code>
/// Parameter names: norm_s, attn_s, norm_t, attn_t, norm_f, ffn (tools/golden/st_block.py uses the same).
/// </summary>
public sealed class STBlock : Module
{
    internal readonly LayerNorm NormS, NormT, NormF;
    internal readonly MultiHeadAttention AttnS, AttnT;
    internal readonly FeedForward Ffn;

    /// <summary>A block of width <paramref name="dim"/>; residual output projections use <paramref name="outStd"/>;
    /// with <paramref name="rotary"/>, the spatial attention has 2D rotary positions.</summary>
    public STBlock(int dim, int heads, bool qkNorm, Rng rng, float outStd = Initializers.Std, SpatialRotary? rotary = null)
    {
        NormS = Child("norm_s", new LayerNorm(dim));
        AttnS = Child("attn_s", new MultiHeadAttention(dim, heads, qkNorm, rng, outStd, rotary));
        NormT = Child("norm_t", new LayerNorm(dim));
        AttnT = Child("attn_t", new MultiHeadAttention(dim, heads, qkNorm, rng, outStd));
        NormF = Child("norm_f", new LayerNorm(dim));
        Ffn = Child("ffn", new FeedForward(dim, 4 * dim, rng, outStd));
    }

    /// <summary>x_BTND → (B, T, N, D); with <paramref name="cache"/>, the temporal keys/values are stored in it.</summary>
    public Tensor Forward(Tensor x_BTND, KvCache? cache = null)
    {
        var x = AttnS.Forward(NormS.Forward(x_BTND), AttentionAxis.Spatial, residual: x_BTND);
        x = AttnT.Forward(NormT.Forward(x), AttentionAxis.Temporal, cache, residual: x);
        return Ffn.Forward(NormF.Forward(x), residual: x);
    }

    /// <summary>One new frame x_B1ND after <paramref name="past"/> cached frames → (B, 1, N, D).</summary>
    public Tensor ForwardFrame(Tensor x_B1ND, KvCache cache, int past, bool commit)
    {
        var x = AttnS.Forward(NormS.Forward(x_B1ND), AttentionAxis.Spatial, residual: x_B1ND);
        x = AttnT.ForwardCached(NormT.Forward(x), cache, past, commit, residual: x);
        return Ffn.Forward(NormF.Forward(x), residual: x);
    }
}

/// <summary>
/// A stack of ST blocks with learned spatial (N, D) and temporal (T_max, D) position embeddings added before
/// the first block, and a final LayerNorm (ARCHITECTURE.md §2). Input and output are (B, T, N, D), T ≤ T_max.
/// </summary>
public sealed class STTransformer : Module
{
    internal readonly STBlock[] Blocks;
    internal readonly LayerNorm FinalNorm;
    internal readonly Tensor SpatialPos;   // (N, D)
    internal readonly Tensor TemporalPos;  // (T_max, D)

    /// <summary>Tokens per frame N.</summary>
    public int Tokens { get; }
    /// <summary>Longest clip T_max.</summary>
    public int MaxFrames { get; }
    /// <summary>Width D.</summary>
    public int Dim { get; }

    /// <summary>A stack of <paramref name="depth"/> blocks over frames of <paramref name="tokens"/> tokens; with
    /// <paramref name="rotary"/>, every spatial attention also has 2D rotary positions (the learned ones stay).</summary>
    public STTransformer(int dim, int heads, int depth, int tokens, int maxFrames, bool qkNorm, Rng rng, SpatialRotary? rotary = null)
    {
        if (rotary is not null && rotary.Period != tokens)
            throw new ArgumentException($"spatial rotary tables cover {rotary.Period} tokens per frame, the transformer has {tokens}");
        Dim = dim;
        Tokens = tokens;
        MaxFrames = maxFrames;
        SpatialPos = Param("pos_spatial", [tokens, dim], decay: false, t => Init.Normal(t, rng, Initializers.Std));
        TemporalPos = Param("pos_temporal", [maxFrames, dim], decay: false, t => Init.Normal(t, rng, Initializers.Std));
        // GPT-2's scaled init for the projections that write into the residual stream (3 per block).
        float outStd = Initializers.Std / MathF.Sqrt(3f * depth);
        Blocks = new STBlock[depth];
        for (int i = 0; i < depth; i++) Blocks[i] = Child($"blocks.{i}", new STBlock(dim, heads, qkNorm, rng, outStd, rotary));
        FinalNorm = Child("norm", new LayerNorm(dim));
    }

    /// <summary>
    /// x_BTND (token embeddings, without positions) → (B, T, N, D). With <paramref name="cache"/>, the run
    /// also fills the cache with the T frames' keys and values (prefill for frame-by-frame inference).
    /// </summary>
    public Tensor Forward(Tensor x_BTND, InferenceCache? cache = null)
    {
        int t = x_BTND.Shape[1], n = x_BTND.Shape[2];
        if (x_BTND.Rank != 4 || n != Tokens || x_BTND.Shape[3] != Dim || t > MaxFrames)
            throw new ArgumentException($"ST-transformer expects (B, T ≤ {MaxFrames}, {Tokens}, {Dim}), got {x_BTND.ShapeString}");
        cache?.CheckFits(this, x_BTND.Shape[0]);
        var x = AddPositions(x_BTND, 0);
        for (int i = 0; i < Blocks.Length; i++) x = Blocks[i].Forward(x, cache?.Layers[i]);
        if (cache is not null) cache.Length = t;
        return FinalNorm.Forward(x);
    }

    /// <summary>
    /// The next frame x_B1ND (embeddings, without positions) given the frames in <paramref name="cache"/>:
    /// costs one frame of compute (ARCHITECTURE.md §2). Outputs equal those of <see cref="Forward"/> on the
    /// whole clip at that frame. With <paramref name="commit"/> the frame is appended to the cache.
    /// </summary>
    public Tensor ForwardFrame(Tensor x_B1ND, InferenceCache cache, bool commit)
    {
        int past = cache.Length;
        if (past >= MaxFrames) throw new InvalidOperationException($"the cache holds {past} frames, T_max = {MaxFrames}; slide the window (re-prefill) first");
        if (x_B1ND.Rank != 4 || x_B1ND.Shape[1] != 1 || x_B1ND.Shape[2] != Tokens || x_B1ND.Shape[3] != Dim)
            throw new ArgumentException($"ForwardFrame expects (B, 1, {Tokens}, {Dim}), got {x_B1ND.ShapeString}");
        cache.CheckFits(this, x_B1ND.Shape[0]);
        var x = AddPositions(x_B1ND, past);
        for (int i = 0; i < Blocks.Length; i++) x = Blocks[i].ForwardFrame(x, cache.Layers[i], past, commit);
        if (commit) cache.Length = past + 1;
        return FinalNorm.Forward(x);
    }

    /// <summary>
    /// Weights for this transformer grown from a shallower one's (<paramref name="weights"/>, named under
    /// <paramref name="prefix"/>): the old stack's block i becomes block ⌊i·depth/oldDepth⌋, so its blocks stay in order
    /// and spread evenly, and every other block keeps this transformer's seeded weights with its three output
    /// projections (attn_s.proj, attn_t.proj, ffn.fc2) set to zero, which makes it the identity on the residual stream.
    /// The grown stack therefore computes exactly what the old one did, and training then finds uses for the new blocks.
    /// Weights outside the blocks are passed through; the result names every weight of this transformer under
    /// <paramref name="prefix"/> (and keeps the entries outside it), ready for <see cref="Module.LoadWeights"/>.
    /// </summary>
    public Dictionary<string, (int[] Shape, float[] Data)> GrownWeights(IReadOnlyDictionary<string, (int[] Shape, float[] Data)> weights, string prefix)
    {
        string blocks = prefix + "blocks.";
        int oldDepth = 0;
        while (weights.Keys.Any(k => k.StartsWith($"{blocks}{oldDepth}.", StringComparison.Ordinal))) oldDepth++;
        if (oldDepth == 0) throw new InvalidDataException($"the checkpoint has no blocks under '{blocks}'");
        if (oldDepth > Blocks.Length) throw new InvalidDataException($"the checkpoint's stack has {oldDepth} blocks, more than this one's {Blocks.Length}; growing only adds blocks");
        var grown = weights.Where(kv => !kv.Key.StartsWith(blocks, StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
        var fromOld = new int?[Blocks.Length];
        for (int i = 0; i < oldDepth; i++) fromOld[i * Blocks.Length / oldDepth] = i;
        for (int j = 0; j < Blocks.Length; j++)
        {
            foreach (var (name, p) in Blocks[j].NamedParameters())
            {
                string key = $"{blocks}{j}.{name}";
                if (fromOld[j] is int i)
                {
                    if (!weights.TryGetValue($"{blocks}{i}.{name}", out var w))
                        throw new InvalidDataException($"the checkpoint has no weight '{blocks}{i}.{name}'");
                    grown[key] = w;
                }
                else
                {
                    bool output = name.StartsWith("attn_s.proj.", StringComparison.Ordinal) || name.StartsWith("attn_t.proj.", StringComparison.Ordinal) ||
                                  name.StartsWith("ffn.fc2.", StringComparison.Ordinal);
                    grown[key] = (p.Shape.ToArray(), output ? new float[p.Size] : p.ToArray());
                }
            }
        }
        return grown;
    }

    /// <summary>Adds the spatial embedding and temporal embeddings rows [t0, t0 + T).</summary>
    internal Tensor AddPositions(Tensor x_BTND, int t0)
    {
        int t = x_BTND.Shape[1];
        var temporal_T1D = Ops.Reshape(Ops.Slice(TemporalPos, 0, t0, t), [t, 1, Dim]);
        return Ops.Add(Ops.Add(x_BTND, SpatialPos), temporal_T1D);
    }
}

/// <summary>
/// Per-layer temporal keys and values of an <see cref="STTransformer"/> for B clips, so each new frame costs
/// one frame of compute. Persistent memory: B · T_max · N · D floats per layer for keys and again for values.
/// </summary>
public sealed class InferenceCache : IDisposable
{
    /// <summary>One cache per block.</summary>
    public KvCache[] Layers { get; }
    /// <summary>Clips B.</summary>
    public int Batch { get; }
    /// <summary>Frames held (0..T_max).</summary>
    public int Length { get; internal set; }
    private readonly STTransformer _owner;

    /// <summary>An empty cache for <paramref name="batch"/> clips of <paramref name="model"/>.</summary>
    public InferenceCache(STTransformer model, int batch)
    {
        _owner = model;
        Batch = batch;
        Layers = model.Blocks.Select(_ => new KvCache(
            Tensor.Persistent(batch, model.MaxFrames, model.Tokens, model.Dim),
            Tensor.Persistent(batch, model.MaxFrames, model.Tokens, model.Dim))).ToArray();
    }

    /// <summary>Forgets every frame (the memory is kept).</summary>
    public void Clear() => Length = 0;

    internal void CheckFits(STTransformer model, int batch)
    {
        if (!ReferenceEquals(model, _owner)) throw new ArgumentException("this cache belongs to another transformer");
        if (batch != Batch) throw new ArgumentException($"the cache holds {Batch} clips, the input has {batch}");
    }

    /// <summary>Frees the cache memory.</summary>
    public void Dispose()
    {
        foreach (var l in Layers) { l.K.Dispose(); l.V.Dispose(); }
    }
}
