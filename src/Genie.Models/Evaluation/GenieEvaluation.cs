using Genie.Core;
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
/// <param name="Counts">Transitions by latent action (rows, every latent action) and true action (columns): the matrix behind both figures.</param>
public sealed record ActionRecovery(double Nmi, double MappedAccuracy, int Transitions, Dictionary<int, int> Mapping, int[][]? Counts = null);

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
    /// <summary>Mean over latent actions of <see cref="ActionMotion.Agreement"/>: how consistently each action means one motion.</summary>
    public double Agreement => Actions.Count == 0 ? 0 : Actions.Average(a => a.Agreement);
}

/// <summary>
/// Autoregressive rollouts against the real clips they start from (<see cref="GenieEvaluation.ComputeRollouts"/>).
/// Frames are 1-based as in the paper: frame 1 is the prompt, frames 2..T are generated.
/// </summary>
/// <param name="PsnrInferred">Mean PSNR(x_t, x̂_t) for t = 2..T (index t − 2): x̂ generated from x_1 with the latent actions the LAM infers from the real clip.</param>
/// <param name="PsnrRandom">The same with uniformly random latent actions (same sampling seed).</param>
/// <param name="PsnrRealContext">Mean PSNR of frame t generated from the real frames 1..t−1 (teacher forcing), for t = 2..T.</param>
/// <param name="Motion">The view's motion in the inferred-action rollouts against the real clips, over every transition.</param>
/// <param name="Clips">Clips rolled out.</param>
/// <param name="MotionRealContext">The view's motion from each real frame (as the tokenizer decodes it) to the next frame generated from the real frames
/// (teacher forcing) against the real clips': whether the model moves the world when its context is real, which
/// separates what it has not learned from what exposure to its own frames undoes.</param>
/// <param name="DirectionCounts">Transitions by the real view's direction (rows) and the inferred-action rollout's (columns),
/// both as <see cref="Metrics.DirectionClass"/>: where <paramref name="Motion"/>'s direction agreement is lost.</param>
/// <param name="DirectionCountsRealContext">The same for the teacher-forced next frames (<paramref name="MotionRealContext"/>).</param>
public sealed record RolloutEvaluation(double[] PsnrInferred, double[] PsnrRandom, double[] PsnrRealContext, MotionComparison Motion, int Clips,
    MotionComparison MotionRealContext, int[][] DirectionCounts, int[][] DirectionCountsRealContext)
{
    /// <summary>Δ_t PSNR for t = 2..T (index t − 2).</summary>
    public double[] DeltaCurve => PsnrInferred.Zip(PsnrRandom, (a, b) => a - b).ToArray();
    /// <summary>Δ_t PSNR at frame t (2 ≤ t ≤ T) as the paper's one-number figure.</summary>
    public DeltaPsnr At(int t) => new(PsnrInferred[t - 2], PsnrRandom[t - 2], Clips, t);
    /// <summary>Mean PSNR of the next frame generated from the real frames before it, over frames 2..T.</summary>
    public double NextFramePsnrRealContext => PsnrRealContext.Average();
    /// <summary>Mean PSNR of the next frame generated from the model's own frames before it (the inferred-action rollout), over frames 2..T.</summary>
    public double NextFramePsnrOwnContext => PsnrInferred.Average();
}

/// <summary>One clip's rollouts as <see cref="GenieEvaluation.ComputeRollouts"/> made them, for reports (frames (T, H, W, 3) each).</summary>
/// <param name="Index">The clip's place in the enumeration (0-based).</param>
/// <param name="Real">The real clip.</param>
/// <param name="Inferred">Generated from its first frame with the latent actions the LAM infers from it (frame 1: the decoded prompt).</param>
/// <param name="Random">Generated from its first frame with uniformly random latent actions (same sampling seed).</param>
/// <param name="InferredActions">The inferred latent actions (T − 1).</param>
/// <param name="RandomActions">The random latent actions (T − 1).</param>
/// <param name="GenerationSeconds">Wall-clock seconds the two rollouts took (2·(T − 1) generated frames).</param>
public sealed record RolloutClip(int Index, byte[] Real, byte[] Inferred, byte[] Random, int[] InferredActions, int[] RandomActions, double GenerationSeconds);

/// <summary>The tokenizer on held-out clips (<see cref="GenieEvaluation.ComputeTokenizerQuality"/>).</summary>
/// <param name="Psnr">Mean per-frame PSNR of the reconstruction.</param>
/// <param name="Frames">Frames measured.</param>
/// <param name="CodesUsed">Distinct token ids seen.</param>
/// <param name="CodeFlicker">Of the patches unchanged since the frame before, the share whose token id changed.</param>
/// <param name="Ssim">Mean per-frame SSIM (<see cref="Statistics.Ssim"/>) of the reconstruction.</param>
/// <param name="Perplexity">Perplexity of the token ids used (<see cref="Statistics.Perplexity"/>).</param>
public sealed record TokenizerQuality(double Psnr, int Frames, int CodesUsed, double CodeFlicker, double Ssim = 0, double Perplexity = 0);

/// <summary>
/// How much of the view's motion the latent actions carry (<see cref="GenieEvaluation.ComputeLatentMotion"/>): each real
/// transition's latent action beside the direction its view moves (<see cref="Metrics.DirectionClass"/> of
/// <see cref="Metrics.ViewShift"/> between the two real frames). Needs no true actions, so it applies to any video.
/// </summary>
/// <param name="Counts">Transitions by latent action (rows) and direction class (columns, <see cref="Metrics.DirectionNames"/>).</param>
/// <param name="Nmi">Normalised mutual information between latent action and direction class (still included).</param>
/// <param name="DirectionShare">Of the transitions whose view moves, the share that move their latent action's most common way
/// among its moving transitions: the rollouts' direction agreement a model would reach that gave each latent one motion
/// whatever the frame (a model that reads the frames can do better, one whose latents mean less cannot).</param>
/// <param name="SelfFollow">Per latent action, the share of its transitions that the next transition of the clip shares
/// (<see cref="Metrics.SelfFollow"/>; NaN for a latent never followed within a clip).</param>
/// <param name="SelfFollowOverall">The same over all consecutive transitions.</param>
public sealed record LatentMotion(int[][] Counts, double Nmi, double DirectionShare, double[] SelfFollow, double SelfFollowOverall);

/// <summary>
/// What the latent action model makes of a world's own buttons held (<see cref="GenieEvaluation.ComputeHeldLatents"/>):
/// the rollouts of the controllability yardstick, each button held from each prompt, read by the LAM one transition at a
/// time. A LAM whose latents were the buttons would give a held button one latent, and different buttons different ones.
/// </summary>
/// <param name="Counts">Transitions by button held (rows) and latent action inferred (columns).</param>
/// <param name="Purity">Mean over buttons of the share of the button's transitions that get its most common latent
/// (<see cref="Metrics.RowPurity"/>).</param>
/// <param name="Nmi">Normalised mutual information between button and latent over those transitions.</param>
/// <param name="SelfFollow">Of consecutive transitions within one held rollout, the share whose latent is the same.</param>
/// <param name="Sequences">The latents of each rollout, in the order given (one per transition read).</param>
public sealed record HeldLatents(int[][] Counts, double Purity, double Nmi, double SelfFollow, IReadOnlyList<int[]> Sequences);

/// <summary>
/// The model driven by the world's own buttons as the LAM reads them (<see cref="GenieEvaluation.ComputeWorldDriven"/>):
/// from each prompt, the latents the LAM inferred from the world's held button, one per frame, instead of one latent
/// held. What a player would see whose keys sent the LAM's reading of the world's buttons, frame by frame.
/// </summary>
/// <param name="Control">The controllability measure over the world's buttons, measured as the world's own.</param>
/// <param name="DirectionAgreement">Of the frames in which the world's view moves, the share in which the model's moves the
/// same way (<see cref="Metrics.DirectionClass"/>; both axes' signs), frame by frame.</param>
/// <param name="MovingFrames">Frames in which the world's view moves.</param>
public sealed record WorldDriven(Controllability Control, double DirectionAgreement, int MovingFrames);

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
            var withInferred = model.Generate(prompts, b, latent, t, seed, steps, temperature);
            var withRandom = model.Generate(prompts, b, randomActions, t, seed, steps, temperature);
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
    /// Rolls out every clip from its first frame for its whole length with the play sampler (clip i of the
    /// enumeration seeded with <paramref name="seed"/> + i): once with the latent actions the LAM infers from the
    /// real clip, once with uniformly random ones (same sampling seed), and once teacher-forced (each next frame
    /// sampled from the real frames before it, with the inferred action). Measures PSNR per frame against the real
    /// clip, and the view's motion (<see cref="Metrics.ViewShift"/>, shifts up to <paramref name="radius"/>) of the
    /// inferred-action rollout against the real clip's. <paramref name="progress"/> is told after each clip;
    /// <paramref name="onClip"/>, if given, receives each clip's frames and rollouts (for reports: pictures, features, timing).
    /// </summary>
    public static RolloutEvaluation ComputeRollouts(GenieModel model, IEnumerable<ClipBatch> clips, ulong seed, int? steps = null, float? temperature = null,
        int radius = 12, Action<int>? progress = null, Action<RolloutClip>? onClip = null)
    {
        var cfg = model.Config;
        int h = cfg.Height, w = cfg.Width, a = model.NumActions, frameBytes = h * w * 3, n = model.Tokenizer.Tokens;
        double[]? inferred = null, random = null, realContext = null;
        var motion = new MotionComparison();
        var forcedMotion = new MotionComparison();
        int classes = Metrics.DirectionNames.Count;
        var directions = Enumerable.Range(0, classes).Select(_ => new int[classes]).ToArray();
        var forcedDirections = Enumerable.Range(0, classes).Select(_ => new int[classes]).ToArray();
        var actionRng = new Rng(seed ^ 0xAC7);
        int count = 0;
        foreach (var batch in clips)
        {
            int t = batch.ClipLength;
            if (t < 2) throw new ArgumentException($"rollouts need clips of at least 2 frames, got {t}");
            if (inferred is null) { inferred = new double[t - 1]; random = new double[t - 1]; realContext = new double[t - 1]; }
            else if (inferred.Length != t - 1) throw new ArgumentException("every clip must have the same length");
            int[] latent, realIds;
            using (new TensorScope())
            {
                latent = model.Lam.InferActions(Patches.Tensor(batch.Frames, batch.BatchSize, t, h, w, cfg.Lam.Patch));   // (B·(t−1))
                realIds = model.Tokenizer.Encode(Patches.Tensor(batch.Frames, batch.BatchSize, t, h, w, cfg.Tokenizer.Patch));
            }
            for (int c = 0; c < batch.BatchSize; c++, count++)
            {
                var real = batch.Frames.AsSpan(c * t * frameBytes, t * frameBytes).ToArray();
                var prompt = real.AsSpan(0, frameBytes).ToArray();
                var acts = latent.AsSpan(c * (t - 1), t - 1).ToArray();
                var randomActs = new int[t - 1];
                for (int i = 0; i < randomActs.Length; i++) randomActs[i] = actionRng.NextInt(a);
                ulong clipSeed = seed + (ulong)count;
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                var withInferred = model.Generate(prompt, 1, acts, t, clipSeed, steps, temperature);
                var withRandom = model.Generate(prompt, 1, randomActs, t, clipSeed, steps, temperature);
                double generationSeconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
                var realShift = new (int, int)[t - 1];
                var generatedShift = new (int, int)[t - 1];
                var forcedShift = new (int, int)[t - 1];
                using (var forced = new GenieSession(model, prompt, clipSeed, steps, temperature))
                {
                    for (int f = 1; f < t; f++)
                    {
                        var x = real.AsSpan(f * frameBytes, frameBytes);
                        inferred![f - 1] += Metrics.Psnr(x, withInferred.AsSpan(f * frameBytes, frameBytes));
                        random![f - 1] += Metrics.Psnr(x, withRandom.AsSpan(f * frameBytes, frameBytes));
                        // The motion is measured between two decoded frames (the real frame before, as the tokenizer
                        // gives it back, and the sampled one), as in the rollouts: between a real and a decoded frame the
                        // decoder's small errors count as changed pixels, and a perfect model would agree on only 74 % of
                        // the moving frames of x2's data (94 % decoded against decoded).
                        var previous = forced.CurrentFrame;
                        var next = forced.Preview(forced.SampleNext(acts[f - 1]));
                        realContext![f - 1] += Metrics.Psnr(x, next);
                        forcedShift[f - 1] = Metrics.ViewShift(previous, next, h, w, radius);
                        forced.Append(realIds.AsSpan(((c * t) + f) * n, n).ToArray(), acts[f - 1]);
                        realShift[f - 1] = Metrics.ViewShift(real.AsSpan((f - 1) * frameBytes, frameBytes), x, h, w, radius);
                        generatedShift[f - 1] = Metrics.ViewShift(withInferred.AsSpan((f - 1) * frameBytes, frameBytes),
                            withInferred.AsSpan(f * frameBytes, frameBytes), h, w, radius);
                    }
                }
                motion += Metrics.CompareMotion(realShift, generatedShift);
                forcedMotion += Metrics.CompareMotion(realShift, forcedShift);
                for (int i = 0; i < t - 1; i++)
                {
                    int r = Metrics.DirectionClass(realShift[i]);
                    directions[r][Metrics.DirectionClass(generatedShift[i])]++;
                    forcedDirections[r][Metrics.DirectionClass(forcedShift[i])]++;
                }
                onClip?.Invoke(new RolloutClip(count, real, withInferred, withRandom, acts, randomActs, generationSeconds));
                progress?.Invoke(count + 1);
            }
        }
        if (inferred is null) throw new ArgumentException("no clips to roll out");
        for (int i = 0; i < inferred.Length; i++) { inferred[i] /= count; random![i] /= count; realContext![i] /= count; }
        return new RolloutEvaluation(inferred, random!, realContext!, motion, count, forcedMotion, directions, forcedDirections);
    }

    /// <summary>
    /// Holds each latent action for <paramref name="steps"/> frames from each prompt frame (H, W, 3) with the
    /// interactive sampler (<see cref="GenieSession"/>, the play page's), and measures how the view moves
    /// (searching shifts up to <paramref name="radius"/> pixels). Every rollout uses sampling seed
    /// <paramref name="seed"/>. <paramref name="viewShift"/> replaces <see cref="Metrics.ViewShift"/> as the measure of
    /// the motion between two frames (right, down), for a world whose motion is better measured another way.
    /// </summary>
    public static Controllability ComputeControllability(GenieModel model, IReadOnlyList<byte[]> prompts, int steps, ulong seed,
        int? samplingSteps = null, float? temperature = null, int radius = 12, Func<byte[], byte[], (int Dx, int Dy)>? viewShift = null)
    {
        if (prompts.Count == 0) throw new ArgumentException("controllability needs at least one prompt frame");
        if (steps < 2) throw new ArgumentOutOfRangeException(nameof(steps), "hold each action for at least 2 frames");
        int h = model.Config.Height, w = model.Config.Width;
        return HeldActions(model.NumActions, prompts.Count, steps, (a, p) =>
        {
            using var session = new GenieSession(model, prompts[p], seed, samplingSteps, temperature);
            var frames = new List<byte[]> { session.CurrentFrame };
            for (int i = 0; i < steps; i++) frames.Add(session.Step(a));
            return frames;
        }, viewShift ?? ((x, y) => Metrics.ViewShift(x, y, h, w, radius)));
    }

    /// <summary>
    /// The controllability measure of any world that can hold an action from a prompt: <paramref name="rollout"/>(a, p)
    /// gives the frames of action a held from prompt p (the prompt first, then up to <paramref name="steps"/> frames;
    /// fewer where the world's episode ended), and <paramref name="viewShift"/> the motion between two frames (right,
    /// down). Each row is <see cref="ActionMotion"/> over the frames that exist.
    /// </summary>
    public static Controllability HeldActions(int actions, int prompts, int steps, Func<int, int, IReadOnlyList<byte[]>> rollout,
        Func<byte[], byte[], (int Dx, int Dy)> viewShift)
    {
        var rows = new List<ActionMotion>();
        for (int a = 0; a < actions; a++)
        {
            double firstX = 0, firstY = 0, laterX = 0, laterY = 0;
            int still = 0, later = 0, first = 0;
            var directions = new Dictionary<(int, int), int>();
            for (int p = 0; p < prompts; p++)
            {
                var frames = rollout(a, p);
                if (frames.Count > steps + 1) throw new ArgumentException($"a rollout of {steps} steps gave {frames.Count - 1} frames");
                double sumX = 0, sumY = 0;
                for (int i = 1; i < frames.Count; i++)
                {
                    var (dx, dy) = viewShift(frames[i - 1], frames[i]);
                    sumX += dx; sumY -= dy;
                    if (i == 1) { firstX += dx; firstY -= dy; first++; continue; }
                    laterX += dx; laterY -= dy; later++;
                    if (dx == 0 && dy == 0) still++;
                }
                if (frames.Count < 2) continue;
                var direction = (Direction(sumX / (frames.Count - 1)), Direction(sumY / (frames.Count - 1)));
                directions[direction] = directions.GetValueOrDefault(direction) + 1;
            }
            int n = Math.Max(first, 1), m = Math.Max(later, 1);
            rows.Add(new ActionMotion(a, firstX / n, firstY / n, laterX / m, laterY / m, later == 0 ? 0 : (double)still / later,
                directions.Count == 0 ? 0 : (double)directions.Values.Max() / directions.Values.Sum()));
        }
        return new Controllability(rows, prompts, steps);

        static int Direction(double pixelsPerFrame) => pixelsPerFrame > 0.5 ? 1 : pixelsPerFrame < -0.5 ? -1 : 0;
    }

    /// <summary>
    /// The tokenizer on clips: mean per-frame PSNR of the reconstruction (encode, quantise, decode), the codes in use,
    /// and code flicker (<see cref="Metrics.CodeFlicker"/>: the share of unchanged patches whose id changes).
    /// </summary>
    public static TokenizerQuality ComputeTokenizerQuality(VideoTokenizer tokenizer, IEnumerable<ClipBatch> clips)
    {
        double sum = 0, ssim = 0;
        int frames = 0;
        long unchanged = 0, flickered = 0;
        var used = new HashSet<int>();
        var allIds = new List<int>();
        foreach (var batch in clips)
        {
            using var _ = new TensorScope();
            using var __ = Engine.Autograd.Tape.NoGrad();
            var x = Patches.Tensor(batch.Frames, batch.BatchSize, batch.ClipLength, batch.Height, batch.Width, tokenizer.Config.Patch);
            var output = tokenizer.Forward(x);
            foreach (var id in output.Vq.Ids) used.Add(id);
            allIds.AddRange(output.Vq.Ids);
            var recon = Patches.Frames(output.Reconstruction, batch.Height, batch.Width, tokenizer.Config.Patch);
            for (int i = 0; i < batch.BatchSize * batch.ClipLength; i++)
                ssim += Statistics.Ssim(batch.Frames.AsSpan(i * batch.FrameBytes, batch.FrameBytes), recon.AsSpan(i * batch.FrameBytes, batch.FrameBytes), batch.Height, batch.Width);
            var (u, f) = Metrics.CodeFlicker(batch.Frames, output.Vq.Ids, batch.BatchSize, batch.ClipLength, batch.Height, batch.Width, tokenizer.Config.Patch);
            unchanged += u;
            flickered += f;
            var a = output.Reconstruction.ToArray();
            var b = x.ToArray();
            int n = batch.BatchSize * batch.ClipLength, per = a.Length / n;
            for (int i = 0; i < n; i++) sum += Metrics.Psnr(a.AsSpan(i * per, per), b.AsSpan(i * per, per));
            frames += n;
        }
        return new TokenizerQuality(frames == 0 ? 0 : sum / frames, frames, used.Count, unchanged == 0 ? 0 : (double)flickered / unchanged,
            frames == 0 ? 0 : ssim / frames, Statistics.Perplexity(allIds.ToArray()));
    }

    /// <summary>
    /// Latent actions of every transition of labelled clips against the true actions; the count matrix has a column
    /// for each of at least <paramref name="trueActions"/> true actions.
    /// </summary>
    public static ActionRecovery ComputeActionRecovery(LatentActionModel lam, GenieConfig cfg, IEnumerable<ClipBatch> clips, int trueActions = 0)
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
        var counts = Metrics.CountMatrix(l, tr, cfg.Lam.NumActions, Math.Max(trueActions, tr.Length == 0 ? 0 : tr.Max() + 1));
        return new ActionRecovery(Metrics.NormalizedMutualInformation(l, tr), acc, l.Length, mapping, counts);
    }

    /// <summary>
    /// The latent action of every transition of the clips beside the direction the real view moves in it
    /// (<see cref="Metrics.ViewShift"/> up to <paramref name="radius"/> pixels between the two real frames, as the rollouts'
    /// real motion is measured): the count matrix, its NMI, and the direction share of <see cref="LatentMotion"/>.
    /// </summary>
    public static LatentMotion ComputeLatentMotion(LatentActionModel lam, GenieConfig cfg, IEnumerable<ClipBatch> clips, int radius = 12)
    {
        var latent = new List<int>();
        var direction = new List<int>();
        var sequences = new List<int[]>();
        int frameBytes = cfg.Height * cfg.Width * 3;
        foreach (var batch in clips)
        {
            int[] ids;
            using (new TensorScope())
                ids = lam.InferActions(Patches.Tensor(batch.Frames, batch.BatchSize, batch.ClipLength, batch.Height, batch.Width, cfg.Lam.Patch));
            for (int c = 0; c < batch.BatchSize; c++)
            {
                sequences.Add(ids.AsSpan(c * (batch.ClipLength - 1), batch.ClipLength - 1).ToArray());
                for (int i = 0; i < batch.ClipLength - 1; i++)
                {
                    int at = (c * batch.ClipLength + i) * frameBytes;
                    var shift = Metrics.ViewShift(batch.Frames.AsSpan(at, frameBytes), batch.Frames.AsSpan(at + frameBytes, frameBytes), cfg.Height, cfg.Width, radius);
                    latent.Add(ids[c * (batch.ClipLength - 1) + i]);
                    direction.Add(Metrics.DirectionClass(shift));
                }
            }
        }
        if (latent.Count == 0) throw new ArgumentException("no transitions to measure");
        var counts = Metrics.CountMatrix(latent.ToArray(), direction.ToArray(), cfg.Lam.NumActions, Metrics.DirectionNames.Count);
        var (follow, overall) = Metrics.SelfFollow(sequences, cfg.Lam.NumActions);
        return new LatentMotion(counts, Metrics.NormalizedMutualInformation(latent.ToArray(), direction.ToArray()), Metrics.DirectionShare(counts),
            follow, overall);
    }

    /// <summary>
    /// The latent actions the LAM infers from rollouts of a world's own buttons held: <paramref name="rollouts"/> gives
    /// for each the button (0 ≤ button &lt; <paramref name="buttons"/>) and its frames (H, W, 3 each; at least two, at most
    /// the model's <see cref="GenieConfig.MaxFrames"/>), read as one clip. See <see cref="HeldLatents"/>.
    /// </summary>
    public static HeldLatents ComputeHeldLatents(LatentActionModel lam, GenieConfig cfg, int buttons,
        IEnumerable<(int Button, IReadOnlyList<byte[]> Frames)> rollouts)
    {
        var button = new List<int>();
        var latent = new List<int>();
        var sequences = new List<int[]>();
        int frameBytes = cfg.Height * cfg.Width * 3;
        foreach (var (b, frames) in rollouts)
        {
            if ((uint)b >= (uint)buttons) throw new ArgumentOutOfRangeException(nameof(rollouts), $"button {b} is outside 0..{buttons - 1}");
            if (frames.Count < 2) { sequences.Add([]); continue; }   // an episode that ended at once: no transition to read
            if (frames.Count > cfg.MaxFrames) throw new ArgumentException($"a rollout of {frames.Count} frames is longer than the model's {cfg.MaxFrames}");
            var clip = new byte[frames.Count * frameBytes];
            for (int i = 0; i < frames.Count; i++)
            {
                if (frames[i].Length != frameBytes) throw new ArgumentException($"a frame of {frames[i].Length} bytes, not {cfg.Width}x{cfg.Height}x3");
                frames[i].CopyTo(clip, i * frameBytes);
            }
            int[] ids;
            using (new TensorScope())
                ids = lam.InferActions(Patches.Tensor(clip, 1, frames.Count, cfg.Height, cfg.Width, cfg.Lam.Patch));
            sequences.Add(ids);
            foreach (var id in ids) { button.Add(b); latent.Add(id); }
        }
        if (latent.Count == 0) throw new ArgumentException("no held rollout with a transition to read");
        var counts = Metrics.CountMatrix(button.ToArray(), latent.ToArray(), buttons, cfg.Lam.NumActions);
        return new HeldLatents(counts, Metrics.RowPurity(counts), Metrics.NormalizedMutualInformation(button.ToArray(), latent.ToArray()),
            Metrics.SelfFollow(sequences, cfg.Lam.NumActions).Overall, sequences);
    }

    /// <summary>
    /// Drives the model with what the LAM reads in a world's held buttons: <paramref name="held"/>[b·prompts + p] is button
    /// b held from prompt p in the world (its frames, the prompt first, as <see cref="HeldActions"/> orders its rollouts)
    /// and <paramref name="latents"/> the same index's latents, one per transition (fewer than the frames' transitions
    /// when the LAM read only the start). From each prompt the interactive sampler (<see cref="GenieSession"/>, the play
    /// page's) generates one frame per latent, and the model's motion is measured as the world's: the controllability over
    /// buttons, and frame by frame the direction against the world's. See <see cref="WorldDriven"/>.
    /// </summary>
    /// <remarks><paramref name="onRollout"/>, if given, sees each driven rollout's index and frames (the decoded prompt
    /// first, as in <see cref="ComputeControllability"/>).</remarks>
    public static WorldDriven ComputeWorldDriven(GenieModel model, int buttons, int prompts, IReadOnlyList<(int Button, IReadOnlyList<byte[]> Frames)> held,
        IReadOnlyList<int[]> latents, int steps, ulong seed, int? samplingSteps = null, float? temperature = null, int radius = 12,
        Action<int, IReadOnlyList<byte[]>>? onRollout = null)
    {
        if (held.Count != buttons * prompts || latents.Count != held.Count)
            throw new ArgumentException($"{held.Count} held rollouts and {latents.Count} latent sequences for {buttons} buttons × {prompts} prompts");
        int h = model.Config.Height, w = model.Config.Width;
        (int, int) Shift(byte[] x, byte[] y) => Metrics.ViewShift(x, y, h, w, radius);
        int moving = 0, agreeing = 0;
        var control = HeldActions(buttons, prompts, steps, (b, p) =>
        {
            int i = b * prompts + p;
            var (button, world) = held[i];
            if (button != b) throw new ArgumentException($"held rollout {i} is button {button}, not {b}: give them button by button, prompt by prompt");
            var ids = latents[i];
            if (world.Count == 0 || ids.Length > world.Count - 1)
                throw new ArgumentException($"held rollout {i} has {world.Count} frames and {ids.Length} latents (one per transition at most)");
            // The decoded prompt first, as the model's held latents are measured (ComputeControllability).
            using var session = new GenieSession(model, world[0], seed, samplingSteps, temperature);
            var frames = new List<byte[]> { session.CurrentFrame };
            foreach (var id in ids) frames.Add(session.Step(id));
            var (m, a) = DirectionAgreement(world.Take(frames.Count).ToList(), frames, Shift);
            moving += m; agreeing += a;
            onRollout?.Invoke(i, frames);
            return frames;
        }, Shift);
        return new WorldDriven(control, moving == 0 ? 0 : (double)agreeing / moving, moving);
    }

    /// <summary>
    /// Frame by frame, of the transitions in which <paramref name="real"/>'s view moves (by <paramref name="viewShift"/>),
    /// how many there are and in how many <paramref name="generated"/>'s moves the same way (<see cref="Metrics.DirectionClass"/>).
    /// Both start from the same frame and have the same length.
    /// </summary>
    public static (int Moving, int Agreeing) DirectionAgreement(IReadOnlyList<byte[]> real, IReadOnlyList<byte[]> generated,
        Func<byte[], byte[], (int Dx, int Dy)> viewShift)
    {
        if (real.Count != generated.Count) throw new ArgumentException($"{real.Count} real frames against {generated.Count} generated");
        int moving = 0, agreeing = 0;
        for (int t = 1; t < real.Count; t++)
        {
            var r = viewShift(real[t - 1], real[t]);
            if (r == (0, 0)) continue;
            moving++;
            if (Metrics.DirectionClass(viewShift(generated[t - 1], generated[t])) == Metrics.DirectionClass(r)) agreeing++;
        }
        return (moving, agreeing);
    }
}
