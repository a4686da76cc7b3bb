using Genie.Core;
using Genie.Data;
using Genie.Engine;
using Genie.Models.Evaluation;
using Genie.Nn;

namespace Genie.Models.Training;

/// <summary>Stage 1 (ARCHITECTURE.md §7): the video tokenizer alone, on clips.</summary>
public sealed class TokenizerTrainer : Trainer
{
    private readonly IReadOnlyList<ClipBatch> _validation;
    private VqResult? _lastVq;

    /// <summary>The model being trained.</summary>
    public VideoTokenizer Tokenizer { get; }

    /// <summary>Sets up tokenizer training from a seeded initialisation.</summary>
    public TokenizerTrainer(GenieConfig config, IClipSource train, IReadOnlyList<ClipBatch> validation, RunOptions options)
        : base(config, config.TrainTokenizer, train, options)
    {
        Tokenizer = new VideoTokenizer(config, new Rng(config.TrainTokenizer.Seed));
        _validation = validation;
    }

    /// <inheritdoc />
    protected override string Stage => "tokenizer";
    /// <inheritdoc />
    protected override Module Model => Tokenizer;
    /// <inheritdoc />
    protected override IReadOnlyList<Tensor> TrainableParameters => _params ??= Tokenizer.Parameters();
    private IReadOnlyList<Tensor>? _params;
    /// <inheritdoc />
    protected override IReadOnlyDictionary<string, VectorQuantizer> Quantizers => new Dictionary<string, VectorQuantizer> { ["vq"] = Tokenizer.Quantizer };

    private Tensor ToPatches(ClipBatch batch) => ToPatches(Tokenizer, batch);

    private static Tensor ToPatches(VideoTokenizer tokenizer, ClipBatch batch) =>
        Patches.Tensor(batch.Frames, batch.BatchSize, batch.ClipLength, batch.Height, batch.Width, tokenizer.Config.Patch);

    /// <summary>The stage's loss on one batch: reconstruction MSE + VQ loss (ARCHITECTURE.md §4).</summary>
    public static TokenizerOutput Losses(VideoTokenizer tokenizer, ClipBatch batch) => tokenizer.Forward(ToPatches(tokenizer, batch));

    /// <inheritdoc />
    protected override (double, Dictionary<string, double>) TrainStep(ClipBatch batch)
    {
        var output = Losses(Tokenizer, batch);
        output.Loss.Backward();
        _lastVq = output.Vq;
        return (output.Loss.Item(), new Dictionary<string, double>
        {
            ["recon_loss"] = output.ReconLoss.Item(),
            ["vq_loss"] = output.Vq.Loss.Item(),
        });
    }

    /// <inheritdoc />
    protected override Dictionary<string, double> AfterStep()
    {
        var stats = Tokenizer.Quantizer.Update(_lastVq!, Step, Rng);
        _lastVq = null;
        return new() { ["codebook_used"] = stats.Used, ["perplexity"] = stats.Perplexity, ["reseeded"] = stats.Reseeded };
    }

    /// <inheritdoc />
    protected override Dictionary<string, double> Evaluate()
    {
        var q = GenieEvaluation.ComputeTokenizerQuality(Tokenizer, _validation);
        return new() { ["psnr"] = q.Psnr, ["codes_used"] = q.CodesUsed, ["code_flicker"] = q.CodeFlicker };
    }

    /// <summary>Sum over frames of each frame's PSNR; both arrays hold <paramref name="frames"/> equal-sized frames.</summary>
    internal static double FramePsnrSum(float[] a, float[] b, int frames)
    {
        int per = a.Length / frames;
        double sum = 0;
        for (int f = 0; f < frames; f++) sum += Metrics.Psnr(a.AsSpan(f * per, per), b.AsSpan(f * per, per));
        return sum;
    }

    /// <inheritdoc />
    protected override void WriteSamples(string dir)
    {
        if (_validation.Count == 0) return;
        var batch = _validation[0];
        int clips = Math.Min(4, batch.BatchSize), t = batch.ClipLength;
        var frames = batch.Frames.AsSpan(0, clips * t * batch.FrameBytes).ToArray();
        var first = ClipBatch.FromFrames(frames, null, clips, t, batch.Height, batch.Width);
        var recon = Patches.Frames(Tokenizer.Forward(ToPatches(first)).Reconstruction, batch.Height, batch.Width, Config.Tokenizer.Patch);
        // Rows: real clip, its reconstruction; columns: frames.
        var rows = new List<byte[]>();
        for (int c = 0; c < clips; c++)
        {
            rows.Add(frames.AsSpan(c * t * batch.FrameBytes, t * batch.FrameBytes).ToArray());
            rows.Add(recon.AsSpan(c * t * batch.FrameBytes, t * batch.FrameBytes).ToArray());
        }
        SampleGrid.Write(Path.Combine(dir, $"tokenizer_step_{Step:D6}.png"), rows, t, batch.Height, batch.Width);
    }
}
