using Genie.Data;
using Genie.Engine;
using Genie.Models.Training;

namespace Genie.Models.Evaluation;

/// <summary>Controllability Δ_t PSNR (paper §5, ARCHITECTURE.md §8).</summary>
/// <param name="PsnrInferred">Mean PSNR(x_t, x̂_t), x̂ generated from x_1 with the latent actions the LAM infers from the real clip.</param>
/// <param name="PsnrRandom">Mean PSNR(x_t, x̂′_t), x̂′ generated from x_1 with uniformly random latent actions.</param>
/// <param name="Clips">Clips averaged.</param>
/// <param name="T">The frame t compared (1-based, as in the paper's Δ₄).</param>
public sealed record DeltaPsnr(double PsnrInferred, double PsnrRandom, int Clips, int T)
{
    /// <summary>Δ_t PSNR = PSNR(x_t, x̂_t) − PSNR(x_t, x̂′_t).</summary>
    public double Delta => PsnrInferred - PsnrRandom;
}

/// <summary>How well latent actions recover the world's true actions (ARCHITECTURE.md §8).</summary>
/// <param name="Nmi">Normalised mutual information between latent and true actions.</param>
/// <param name="MappedAccuracy">Accuracy after mapping each latent code to its most frequent true action.</param>
/// <param name="Transitions">Transitions compared.</param>
/// <param name="Mapping">Latent action → true action used for the accuracy.</param>
public sealed record ActionRecovery(double Nmi, double MappedAccuracy, int Transitions, Dictionary<int, int> Mapping);

/// <summary>What one latent action does to the view when held, over rollouts from several prompt frames.</summary>
/// <param name="Action">The latent action.</param>
/// <param name="FirstRight">Mean view motion from the prompt to the first generated frame, pixels to the right.</param>
/// <param name="FirstUp">The same, pixels up.</param>
/// <param name="LaterRight">Mean view motion per frame over the following generated frames, pixels to the right.</param>
/// <param name="LaterUp">The same, pixels up.</param>
/// <param name="StillShare">Share of those following frames in which the view did not move at all.</param>
/// <param name="Agreement">Share of prompts whose rollout moved in the action's most common direction (right/none/left ×
/// up/none/down of the rollout's mean motion, half a pixel per frame or less counting as none).</param>
public sealed record ActionMotion(int Action, double FirstRight, double FirstUp, double LaterRight, double LaterUp, double StillShare, double Agreement);

/// <summary>
/// Controllability seen in the frames: for every latent action, rollouts that hold it from each prompt, with the
/// view's motion between consecutive frames measured by <see cref="Metrics.ViewShift"/>. In the platformer the
/// camera follows the player, so this is the player's motion.
/// </summary>
/// <param name="Actions">One row per latent action.</param>
/// <param name="Prompts">Prompt frames.</param>
/// <param name="Steps">Frames generated per rollout.</param>
public sealed record Controllability(IReadOnlyList<ActionMotion> Actions, int Prompts, int Steps)
{
    /// <summary>Share of generated frames after the first in which the view did not move, over all actions.</summary>
    public double StillShare => Actions.Count == 0 ? 0 : Actions.Average(a => a.StillShare);
}

/// <summary>The paper's evaluation of a trained Genie on held-out clips.</summary>
public static class GenieEvaluation
{
    /// <summary>
    /// Δ_t PSNR over clips of at least t frames. Both generations use the same seed for their MaskGIT
    /// sampling, so the only difference between them is the actions.
    /// </summary>
    public static DeltaPsnr ComputeDeltaPsnr(GenieModel model, IEnumerable<ClipBatch> clips, int t, ulong seed, int? steps = null, float? temperature = null)
    {
        var cfg = model.Config;
        int h = cfg.Height, w = cfg.Width, a = model.NumActions, frameBytes = h * w * 3;
        double inferred = 0, random = 0;
        int count = 0;
        var actionRng = new Rng(seed ^ 0xAC7);
        foreach (var batch in clips)
        {
            if (batch.ClipLength < t) throw new ArgumentException($"Δ{t} PSNR needs clips of at least {t} frames, got {batch.ClipLength}");
            int b = batch.BatchSize;
            var first = new byte[b * t * frameBytes];
            var prompts = new byte[b * frameBytes];
            for (int c = 0; c < b; c++)
            {
                Array.Copy(batch.Frames, c * batch.ClipLength * frameBytes, first, c * t * frameBytes, t * frameBytes);
                Array.Copy(batch.Frames, c * batch.ClipLength * frameBytes, prompts, c * frameBytes, frameBytes);
            }
            int[] latent;
            using (new TensorScope())
                latent = model.Lam.InferActions(Patches.Tensor(first, b, t, h, w, cfg.Lam.Patch));   // (B·(t−1))
            var randomActions = new int[latent.Length];
            for (int i = 0; i < randomActions.Length; i++) randomActions[i] = actionRng.NextInt(a);
            var withInferred = model.Generate(prompts, b, latent, t, new Rng(seed), steps, temperature);
            var withRandom = model.Generate(prompts, b, randomActions, t, new Rng(seed), steps, temperature);
            for (int c = 0; c < b; c++)
            {
                var real = first.AsSpan((c * t + t - 1) * frameBytes, frameBytes);
                inferred += Metrics.Psnr(real, withInferred.AsSpan((c * t + t - 1) * frameBytes, frameBytes));
                random += Metrics.Psnr(real, withRandom.AsSpan((c * t + t - 1) * frameBytes, frameBytes));
                count++;
            }
        }
        return new DeltaPsnr(count == 0 ? 0 : inferred / count, count == 0 ? 0 : random / count, count, t);
    }

    /// <summary>
    /// Holds each latent action for <paramref name="steps"/> frames from each prompt frame (H, W, 3) with the
    /// interactive sampler (<see cref="GenieSession"/>, the play page's), and measures how the view moves
    /// (searching shifts up to <paramref name="radius"/> pixels). Every rollout uses sampling seed
    /// <paramref name="seed"/>.
    /// </summary>
    public static Controllability ComputeControllability(GenieModel model, IReadOnlyList<byte[]> prompts, int steps, ulong seed,
        int? samplingSteps = null, float? temperature = null, int radius = 12)
    {
        if (prompts.Count == 0) throw new ArgumentException("controllability needs at least one prompt frame");
        if (steps < 2) throw new ArgumentOutOfRangeException(nameof(steps), "hold each action for at least 2 frames");
        int h = model.Config.Height, w = model.Config.Width;
        var rows = new List<ActionMotion>();
        for (int a = 0; a < model.NumActions; a++)
        {
            double firstX = 0, firstY = 0, laterX = 0, laterY = 0;
            int still = 0, later = 0;
            var directions = new Dictionary<(int, int), int>();
            foreach (var prompt in prompts)
            {
                using var session = new GenieSession(model, prompt, seed, samplingSteps, temperature);
                var previous = session.CurrentFrame;
                double sumX = 0, sumY = 0;
                for (int i = 0; i < steps; i++)
                {
                    var frame = session.Step(a);
                    var (dx, dy) = Metrics.ViewShift(previous, frame, h, w, radius);
                    previous = frame;
                    sumX += dx; sumY -= dy;
                    if (i == 0) { firstX += dx; firstY -= dy; continue; }
                    laterX += dx; laterY -= dy; later++;
                    if (dx == 0 && dy == 0) still++;
                }
                var direction = (Direction(sumX / steps), Direction(sumY / steps));
                directions[direction] = directions.GetValueOrDefault(direction) + 1;
            }
            int n = prompts.Count;
            rows.Add(new ActionMotion(a, firstX / n, firstY / n, laterX / later, laterY / later, (double)still / later,
                (double)directions.Values.Max() / n));
        }
        return new Controllability(rows, prompts.Count, steps);

        static int Direction(double pixelsPerFrame) => pixelsPerFrame > 0.5 ? 1 : pixelsPerFrame < -0.5 ? -1 : 0;
    }

    /// <summary>Mean per-frame PSNR of the tokenizer's reconstruction (encode, quantise, decode) over clips.</summary>
    public static (double Psnr, int Frames, int CodesUsed) ComputeTokenizerPsnr(VideoTokenizer tokenizer, IEnumerable<ClipBatch> clips)
    {
        double sum = 0;
        int frames = 0;
        var used = new HashSet<int>();
        foreach (var batch in clips)
        {
            using var _ = new TensorScope();
            using var __ = Engine.Autograd.Tape.NoGrad();
            var x = Patches.Tensor(batch.Frames, batch.BatchSize, batch.ClipLength, batch.Height, batch.Width, tokenizer.Config.Patch);
            var output = tokenizer.Forward(x);
            foreach (var id in output.Vq.Ids) used.Add(id);
            var a = output.Reconstruction.ToArray();
            var b = x.ToArray();
            int n = batch.BatchSize * batch.ClipLength, per = a.Length / n;
            for (int f = 0; f < n; f++) sum += Metrics.Psnr(a.AsSpan(f * per, per), b.AsSpan(f * per, per));
            frames += n;
        }
        return (frames == 0 ? 0 : sum / frames, frames, used.Count);
    }

    /// <summary>Latent actions of every transition of labelled clips against the true actions.</summary>
    public static ActionRecovery ComputeActionRecovery(LatentActionModel lam, GenieConfig cfg, IEnumerable<ClipBatch> clips)
    {
        var latent = new List<int>();
        var truth = new List<int>();
        foreach (var batch in clips)
        {
            if (batch.Actions is null) throw new ArgumentException("action recovery needs clips with true actions (a world's dataset, not ingested video)");
            int[] ids;
            using (new TensorScope())
                ids = lam.InferActions(Patches.Tensor(batch.Frames, batch.BatchSize, batch.ClipLength, batch.Height, batch.Width, cfg.Lam.Patch));
            for (int c = 0; c < batch.BatchSize; c++)
                for (int i = 0; i < batch.ClipLength - 1; i++)
                {
                    latent.Add(ids[c * (batch.ClipLength - 1) + i]);
                    truth.Add(batch.Actions[c * batch.ClipLength + i]);   // action after frame i leads to frame i+1
                }
        }
        var l = latent.ToArray();
        var tr = truth.ToArray();
        var (acc, mapping) = Metrics.MajorityMappingAccuracy(l, tr);
        return new ActionRecovery(Metrics.NormalizedMutualInformation(l, tr), acc, l.Length, mapping);
    }
}
