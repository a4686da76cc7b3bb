using Genie.Core;
using Genie.Data;
using Genie.Engine;
using Genie.Models.Evaluation;
using Genie.Nn;

namespace Genie.Models.Training;

/// <summary>
/// Stage 2 (ARCHITECTURE.md §7): the latent action model and the dynamics model trained together on the
/// frozen tokenizer's tokens; the dynamics loss sees the LAM's actions through a stop-gradient. The
/// checkpoint holds all three models (kind "genie"), so a run folder is everything play needs.
/// </summary>
public sealed class DynamicsTrainer : Trainer
{
    private readonly IReadOnlyList<ClipBatch> _validation;
    private readonly string _tokenizerRun;
    private IReadOnlyList<Tensor>? _params;
    private VqResult? _lastVq;

    /// <summary>All three models; the tokenizer part is frozen.</summary>
    public GenieModel Genie { get; }

    /// <summary>
    /// Sets up stage 2 with the tokenizer of <paramref name="tokenizerRun"/> (its latest checkpoint: a tokenizer run,
    /// or a dynamics run or export, whose tokenizer part is taken). The
    /// tokenizer's own config must agree with <paramref name="config"/> on frame size, T_max and the tokenizer section.
    /// </summary>
    public DynamicsTrainer(GenieConfig config, string tokenizerRun, IClipSource train, IReadOnlyList<ClipBatch> validation, RunOptions options)
        : base(config, config.TrainDynamics, train, options)
    {
        _validation = validation;
        _tokenizerRun = Path.GetFullPath(tokenizerRun);
        Genie = new GenieModel(config, new Rng(config.TrainDynamics.Seed));
        var (tokConfig, weights, prefix) = Checkpoint.LoadTokenizer(Path.Combine(Checkpoint.RequireLatest(tokenizerRun), "model.safetensors"));
        if (tokConfig.Tokenizer != config.Tokenizer || tokConfig.Height != config.Height || tokConfig.Width != config.Width || tokConfig.MaxFrames != config.MaxFrames)
            throw new InvalidDataException($"the tokenizer in {tokenizerRun} was trained with another geometry or tokenizer section than config '{config.Name}'; use the same config for both stages");
        Genie.Tokenizer.LoadWeights(weights, prefix);
    }

    /// <inheritdoc />
    protected override string Stage => "genie";
    /// <inheritdoc />
    protected override Module Model => Genie;
    /// <inheritdoc />
    protected override IReadOnlyList<Tensor> TrainableParameters =>
        _params ??= [.. Train.LamFrozen ? [] : Genie.Lam.NamedParameters("lam.").Select(p => p.Param), .. Genie.Dynamics.NamedParameters("dynamics.").Select(p => p.Param)];
    /// <inheritdoc />
    protected override IReadOnlyDictionary<string, VectorQuantizer> Quantizers => new Dictionary<string, VectorQuantizer> { ["lam.vq"] = Genie.Lam.Quantizer };

    /// <summary>The LAM and the dynamics model (or those of <see cref="RunOptions.InitParts"/>): the frozen tokenizer
    /// stays the one of the run's --tokenizer.</summary>
    protected override void LoadInitWeights(IReadOnlyDictionary<string, (int[] Shape, float[] Data)> weights)
    {
        var parts = Options.InitParts ?? ["lam", "dynamics"];
        if (parts.Count == 0 || parts.Any(p => p is not ("lam" or "dynamics")))
            throw new ArgumentException($"the models to initialise must be lam and/or dynamics, got '{string.Join(",", parts)}'");
        if (parts.Contains("lam")) LoadExactly(Genie.Lam, weights, "lam.");
        if (parts.Contains("dynamics"))
            LoadExactly(Genie.Dynamics, Options.GrowDepth ? Genie.Dynamics.Body.GrownWeights(weights, "dynamics.body.") : weights, "dynamics.");
        else if (Options.GrowDepth) throw new ArgumentException("growing the dynamics model's depth needs it among the models to initialise");
    }

    /// <inheritdoc />
    protected override TrainingState DecorateState(TrainingState state) => state with { TokenizerRun = _tokenizerRun };

    /// <summary>
    /// The stage's joint loss on one batch: the frozen tokenizer's ids, the LAM's pass, and the dynamics pass on
    /// the LAM's actions through a stop-gradient. Loss = LAM loss + dynamics cross-entropy.
    /// </summary>
    public static (Tensor Loss, LamOutput Lam, DynamicsOutput Dynamics) Losses(GenieModel genie, ClipBatch batch, Rng rng)
    {
        var cfg = genie.Config;
        int b = batch.BatchSize, t = batch.ClipLength, h = batch.Height, w = batch.Width;
        var ids = genie.Tokenizer.Encode(Patches.Tensor(batch.Frames, b, t, h, w, cfg.Tokenizer.Patch));   // frozen tokenizer
        var lam = genie.Lam.Forward(Patches.Tensor(batch.Frames, b, t, h, w, cfg.Lam.Patch));
        var dyn = genie.Dynamics.Forward(ids, lam.Actions.Detach(), b, t, rng);                            // sg(actions)
        return (Ops.Add(lam.Loss, dyn.Loss), lam, dyn);
    }

    /// <inheritdoc />
    protected override (double, Dictionary<string, double>) TrainStep(ClipBatch batch)
    {
        if (Step < Train.LamWarmup)
        {
            // LAM warm-up: its own loss only. The dynamics parameters get zero gradients (AdamW then changes them by
            // weight decay alone), so the optimiser state and checkpoints are the same shape as after it.
            var cfg = Genie.Config;
            var warm = Genie.Lam.Forward(Patches.Tensor(batch.Frames, batch.BatchSize, batch.ClipLength, batch.Height, batch.Width, cfg.Lam.Patch));
            warm.Loss.Backward();
            foreach (var (_, p) in Genie.Dynamics.NamedParameters()) p.GradOrZeros();
            _lastVq = warm.Vq;
            return (warm.Loss.Item(), new Dictionary<string, double> { ["lam_recon"] = warm.ReconLoss.Item(), ["lam_vq"] = warm.Vq.Loss.Item() });
        }
        var (loss, lam, dyn) = Losses(Genie, batch, Rng);
        if (Train.LamFrozen)
        {
            // The LAM only labels the clip: its actions reach the dynamics model through a stop-gradient already.
            dyn.Loss.Backward();
            return (dyn.Loss.Item(), new Dictionary<string, double> { ["lam_recon"] = lam.ReconLoss.Item(), ["dynamics_ce"] = dyn.Loss.Item() });
        }
        loss.Backward();
        _lastVq = lam.Vq;
        return (loss.Item(), new Dictionary<string, double>
        {
            ["lam_recon"] = lam.ReconLoss.Item(),
            ["lam_vq"] = lam.Vq.Loss.Item(),
            ["dynamics_ce"] = dyn.Loss.Item(),
        });
    }

    /// <inheritdoc />
    protected override Dictionary<string, double> AfterStep()
    {
        if (Train.LamFrozen) return new();
        var stats = Genie.Lam.Quantizer.Update(_lastVq!, Step, Rng);
        _lastVq = null;
        return new() { ["actions_used"] = stats.Used, ["action_perplexity"] = stats.Perplexity, ["reseeded"] = stats.Reseeded };
    }

    /// <inheritdoc />
    protected override Dictionary<string, double> Evaluate()
    {
        var cfg = Config;
        var maskRng = new Rng(Train.Seed ^ 0xE7A1);
        long right = 0, masked = 0;
        double lamPsnr = 0, lossRight = 0, lossShuffled = 0;
        int lamFrames = 0;
        foreach (var batch in _validation)
        {
            using var _ = new TensorScope();
            int b = batch.BatchSize, t = batch.ClipLength;
            var ids = Genie.Tokenizer.Encode(Patches.Tensor(batch.Frames, b, t, batch.Height, batch.Width, cfg.Tokenizer.Patch));
            var lamPatches = Patches.Tensor(batch.Frames, b, t, batch.Height, batch.Width, cfg.Lam.Patch);
            var lam = Genie.Lam.Forward(lamPatches);
            var target = Ops.Slice(lamPatches, 1, 1, t - 1);
            lamPsnr += TokenizerTrainer.FramePsnrSum(lam.Prediction.ToArray(), target.ToArray(), b * (t - 1));
            lamFrames += b * (t - 1);
            var shuffleRng = new Rng(maskRng.State);                              // the same masks for both passes
            var dyn = Genie.Dynamics.Forward(ids, lam.Actions, b, t, maskRng, dropActions: false);
            if (b >= 2)
            {
                // Action sensitivity: the same clips and masks with each clip given the next clip's actions.
                var actions = lam.Actions.ToArray();
                int rows = actions.Length / b;
                var rolled = new float[actions.Length];
                for (int c = 0; c < b; c++) Array.Copy(actions, ((c + 1) % b) * rows, rolled, c * rows, rows);
                lossRight += dyn.Loss.Item();
                lossShuffled += Genie.Dynamics.Forward(ids, Tensor.From(rolled, lam.Actions.Shape), b, t, shuffleRng, dropActions: false).Loss.Item();
            }
            var logits = dyn.Logits.ToArray();
            int k = Genie.Dynamics.CodebookSize;
            for (int i = 0; i < ids.Length; i++)
            {
                if (dyn.Mask[i] == 0) continue;
                masked++;
                if (System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits.AsSpan(i * k, k)) == ids[i]) right++;
            }
        }
        var result = new Dictionary<string, double>
        {
            ["masked_token_accuracy"] = masked == 0 ? 0 : (double)right / masked,
            ["lam_psnr"] = lamFrames == 0 ? 0 : lamPsnr / lamFrames,
        };
        // Loss with the latent actions shuffled across the batch over the loss with the right ones: 1 = ignored.
        if (lossRight > 0) result["action_sensitivity"] = lossShuffled / lossRight;
        int deltaT = Math.Min(4, Train.ClipLength);
        if (_validation.Count > 0 && deltaT >= 2)
        {
            var delta = GenieEvaluation.ComputeDeltaPsnr(Genie, _validation.Take(2), deltaT, Train.Seed);
            result[$"psnr_t{deltaT}"] = delta.PsnrInferred;
            result[$"delta_psnr_t{deltaT}"] = delta.Delta;
        }
        if (_validation.Count > 0 && _validation[0].Actions is not null)
        {
            var rec = GenieEvaluation.ComputeActionRecovery(Genie.Lam, cfg, _validation);
            result["action_nmi"] = rec.Nmi;
            result["action_accuracy"] = rec.MappedAccuracy;
        }
        return result;
    }

    /// <inheritdoc />
    protected override void WriteSamples(string dir)
    {
        if (_validation.Count == 0) return;
        var cfg = Config;
        var batch = _validation[0];
        int clips = Math.Min(2, batch.BatchSize), t = Math.Min(batch.ClipLength, 8), h = batch.Height, w = batch.Width, fb = batch.FrameBytes;
        var prompts = new byte[clips * fb];
        var real = new byte[clips * t * fb];
        for (int c = 0; c < clips; c++)
        {
            Array.Copy(batch.Frames, c * batch.ClipLength * fb, prompts, c * fb, fb);
            Array.Copy(batch.Frames, c * batch.ClipLength * fb, real, c * t * fb, t * fb);
        }
        int[] latent;
        using (new TensorScope()) latent = Genie.Lam.InferActions(Patches.Tensor(real, clips, t, h, w, cfg.Lam.Patch));
        var generated = Genie.Generate(prompts, clips, latent, t, Train.Seed);
        // Rows per clip: real frames, then frames generated from the first with the inferred actions;
        // then, from the first clip's start, each latent action held for the whole row.
        var rows = new List<byte[]>();
        for (int c = 0; c < clips; c++)
        {
            rows.Add(real.AsSpan(c * t * fb, t * fb).ToArray());
            rows.Add(generated.AsSpan(c * t * fb, t * fb).ToArray());
        }
        int a = Genie.NumActions;
        var prompt = prompts.AsSpan(0, fb).ToArray();
        var held = new int[a * (t - 1)];
        for (int i = 0; i < a; i++) Array.Fill(held, i, i * (t - 1), t - 1);
        var perAction = Genie.Generate(Repeat(prompt, a), a, held, t, Train.Seed);
        for (int i = 0; i < a; i++) rows.Add(perAction.AsSpan(i * t * fb, t * fb).ToArray());
        SampleGrid.Write(Path.Combine(dir, $"genie_step_{Step:D6}.png"), rows, t, h, w);
    }

    private static byte[] Repeat(byte[] frame, int times)
    {
        var r = new byte[frame.Length * times];
        for (int i = 0; i < times; i++) frame.CopyTo(r, i * frame.Length);
        return r;
    }
}
