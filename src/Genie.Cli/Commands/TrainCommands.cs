using System.CommandLine;
using Genie.Data;
using Genie.Engine.Parallel;
using Genie.Models;
using Genie.Models.Training;

namespace Genie.Cli.Commands;

/// <summary>`genie train tokenizer|dynamics`: the two training stages (ARCHITECTURE.md §7).</summary>
public static class TrainCommands
{
    /// <summary>Adds this area's commands to <paramref name="root"/>.</summary>
    public static void Register(RootCommand root)
    {
        var train = new Command("train", "training: the tokenizer (stage 1), merging its codes, the dynamics (stage 2)");
        root.Add(train);
        train.Add(StageCommand("tokenizer",
            "stage 1: train the video tokenizer on a dataset\n" +
            "  genie train tokenizer --data DIR [--config small] [--set key=value ...] [--init RUN0] --out RUN\n" +
            "  genie train tokenizer --resume RUN [--data DIR] [--set train_tokenizer.steps=N]\n" +
            "Trains the VQ-VAE video tokenizer (ARCHITECTURE.md §4) on clips of the dataset. Writes RUN/config.json,\n" +
            "RUN/metrics.jsonl (train loss every 10 steps, validation PSNR), RUN/samples/*.png (real vs reconstructed)\n" +
            "and checkpoints under RUN/checkpoints (resume with --resume RUN, bit-identical to an uninterrupted run)."));
        train.Add(StageCommand("dynamics",
            "stage 2: train the latent action model and dynamics on a frozen tokenizer\n" +
            "  genie train dynamics --data DIR --tokenizer RUN [--config NAME] [--set key=value ...] [--init RUN0] --out RUN\n" +
            "  genie train dynamics --resume RUN [--data DIR]\n" +
            "Trains the latent action model and the MaskGIT dynamics model together (ARCHITECTURE.md §5-§7) on the\n" +
            "tokens of the frozen tokenizer in --tokenizer RUN. The config defaults to the tokenizer run's own.\n" +
            "Validation: LAM reconstruction PSNR, masked-token accuracy, PSNR of generated frames, Δ PSNR, and\n" +
            "(for a world's dataset) how well latent actions recover the true ones (NMI). The run folder holds\n" +
            "all three models: `genie play --run RUN` plays it."));
        train.Add(MergeCodesCommand());
    }

    private static Command MergeCodesCommand()
    {
        var tokenizer = Opt.Text("--tokenizer", "the tokenizer run (not changed)", "RUN", required: true);
        var outOption = Opt.Text("--out", "the new tokenizer run, missing or empty", "RUN2", required: true);
        var data = Opt.Text("--data", "the dataset (default: the one RUN was trained on)", "DIR");
        var threshold = Opt.Double("--threshold", 0.99, "cosine above which a code joins a more used one, in (0, 1)");
        var clips = Opt.Int("--clips", 64, "training clips to count code usage on", min: 1);
        var cmd = new Command("merge-codes",
            "between the stages: merge the tokenizer's near-duplicate codes, so unchanged patches keep their token\n" +
            "A trained codebook holds many near-identical codes (dead-code re-seeding puts them where most patches are),\n" +
            "and which of them a patch gets then depends on the rest of the frame: tokens flicker although nothing on\n" +
            "screen changed, and the dynamics model has to predict that noise. This merges codes whose directions are\n" +
            "within --threshold (cosine) of a more used one (usage counted on --clips training clips), and writes the\n" +
            "tokenizer with the merged codebook to RUN2 (RUN is not changed), with merge.json: PSNR, codes in use and\n" +
            "code flicker on the validation clips, before and after. Train the dynamics on RUN2.")
        { tokenizer, outOption, data, threshold, clips };
        cmd.SetAction(p => MergeCodes(p.GetValue(tokenizer)!, p.GetValue(outOption)!, p.GetValue(data), p.GetValue(threshold), p.GetValue(clips), CommandText.Of(p)));
        return cmd;
    }

    private static Command StageCommand(string stage, string description)
    {
        var data = Opt.Text("--data", "the dataset (make one with `genie data make`; a resumed run defaults to its own)", "DIR");
        var outOption = Opt.Text("--out", "the run folder to write", "RUN");
        var resume = Opt.Text("--resume", "continue RUN from its latest checkpoint, in place", "RUN");
        var tokenizer = Opt.Text("--tokenizer", "the frozen tokenizer: a run of `genie train tokenizer` (or `train merge-codes`), or the tokenizer part of a trained world (a dynamics run or an export such as models/small)", "RUN");
        var init = Opt.Text("--init", stage == "tokenizer"
            ? "start from the weights of RUN0's latest checkpoint (same architecture) instead of seeded ones, with a fresh " +
              "optimiser, schedule and data order: fine-tuning on other video"
            : "start the latent action and dynamics models from RUN0's latest checkpoint (a dynamics run of the same " +
              "architecture; training options such as masking may differ; the tokenizer stays --tokenizer's), with a fresh " +
              "optimiser, schedule and data order: fine-tuning a trained world on other video of the same look", "RUN0");
        var config = Opt.Text("--config", stage == "tokenizer"
            ? "a name in configs/ or a JSON path (default small)"
            : "a name in configs/ or a JSON path (default: the tokenizer run's config)", "NAME");
        var sets = Opt.Sets();
        var threads = Opt.Threads(Workers.ThreadCount, "kernel threads (all cores unless GENIE_THREADS is set)");
        var initParts = Opt.Text("--init-parts", "with --init: the models that start from RUN0, lam and/or dynamics (default both); " +
            "the others start from seeded weights, e.g. a new latent action model with another lam.num_actions", "lam,dynamics");
        var stopAt = Opt.OptionalInt("--stop-at", "stop after step N, checkpointed there, though the schedule runs to the configured steps " +
            "(a slice of the run: continue it later with --resume)", min: 1);
        var grow = Opt.Flag("--init-grow", "with --init: RUN0's dynamics model may have fewer blocks than this config's dynamics.depth " +
            "(--set dynamics.depth=N); its blocks are spread evenly over the deeper stack and each new block starts as the identity " +
            "(output projections zero), so training starts from what RUN0 computes");
        var cmd = new Command(stage, description) { data, outOption, resume, init, config, sets, stopAt, threads };
        if (stage == "dynamics") { cmd.Add(tokenizer); cmd.Add(initParts); cmd.Add(grow); }
        cmd.SetAction(p => Run(stage, p.GetValue(resume), p.GetValue(data), p.GetValue(outOption), stage == "dynamics" ? p.GetValue(tokenizer) : null,
            p.GetValue(init), stage == "dynamics" ? p.GetValue(initParts) : null, p.GetValue(sets)!, p.GetValue(config), p.GetValue(stopAt), p.GetValue(threads),
            stage == "dynamics" && p.GetValue(grow)));
        return cmd;
    }

    private static int MergeCodes(string tokenizerRun, string outDir, string? dataDir, double threshold, int clips, string commandLine)
    {
        if (!(threshold > 0 && threshold < 1)) throw new UsageException($"--threshold must be in (0, 1), got {threshold}");
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
            throw new IOException($"{outDir} exists and is not empty; choose another --out");

        var latest = Checkpoint.RequireLatest(RequireRun(tokenizerRun));
        var (config, weights) = Checkpoint.LoadModel(Path.Combine(latest, "model.safetensors"), "tokenizer");
        var statePath = Path.Combine(latest, "state.json");
        dataDir ??= File.Exists(statePath) ? Checkpoint.LoadState(statePath).Data : null;
        if (dataDir is null) throw new UsageException("the tokenizer run does not record its dataset; pass --data DIR");
        using var dataset = Dataset.Open(dataDir);
        if (dataset.Height != config.Height || dataset.Width != config.Width)
            throw new InvalidDataException($"the dataset's frames are {dataset.Width}x{dataset.Height}, the tokenizer's {config.Width}x{config.Height}");
        var tok = new VideoTokenizer(config, new Genie.Core.Rng(0));
        tok.LoadWeights(weights);
        int length = config.TrainTokenizer.ClipLength;
        var counting = ClipLoader.FixedWindows(dataset, DataSplit.Train, length, 4, clips).ToList();
        var validation = ClipLoader.FixedWindows(dataset, dataset.Validation.Count > 0 ? DataSplit.Validation : DataSplit.Train,
            length, 4, config.TrainTokenizer.EvalClips).ToList();

        Console.Error.WriteLine($"counting code usage on {counting.Sum(b => b.BatchSize)} training clips of {dataDir} …");
        var usage = new long[config.Tokenizer.CodebookSize];
        foreach (var batch in counting)
        {
            using var _ = new Genie.Engine.TensorScope();
            foreach (var id in tok.Encode(Patches.Tensor(batch.Frames, batch.BatchSize, batch.ClipLength, batch.Height, batch.Width, config.Tokenizer.Patch))) usage[id]++;
        }
        var before = Models.Evaluation.GenieEvaluation.ComputeTokenizerQuality(tok, validation);
        var representatives = tok.Quantizer.MergeNearDuplicates(usage, threshold);
        var after = Models.Evaluation.GenieEvaluation.ComputeTokenizerQuality(tok, validation);
        int groups = representatives.Distinct().Count();

        // Built beside the target and renamed when complete.
        var full = Path.GetFullPath(outDir).TrimEnd('/');
        var tmp = full + $".{Environment.ProcessId}.tmp";
        Genie.Core.IO.OutputFolder.RemoveStaleTemps(Path.GetDirectoryName(full)!, Path.GetFileName(full) + ".*.tmp");
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        try
        {
            string step = Path.GetFileName(latest);
            Directory.CreateDirectory(Path.Combine(tmp, "checkpoints", step));
            Checkpoint.SaveModel(Path.Combine(tmp, "checkpoints", step, "model.safetensors"), tok, "tokenizer", config);
            File.WriteAllText(Path.Combine(tmp, "config.json"), config.ToJson() + "\n");
            File.WriteAllText(Path.Combine(tmp, "latest"), Path.Combine("checkpoints", step));
            static object Q(Models.Evaluation.TokenizerQuality q) => new { psnr = Math.Round(q.Psnr, 3), codes_used = q.CodesUsed, code_flicker = Math.Round(q.CodeFlicker, 4) };
            var report = new
            {
                source_run = Path.GetFullPath(tokenizerRun), checkpoint = step, data = Path.GetFullPath(dataDir), threshold, clips = counting.Sum(b => b.BatchSize),
                representatives = groups, before = Q(before), after = Q(after), command = commandLine,
            };
            File.WriteAllText(Path.Combine(tmp, "merge.json"), System.Text.Json.JsonSerializer.Serialize(report, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
            if (Directory.Exists(full)) Directory.Delete(full);   // empty (checked above)
            Directory.Move(tmp, full);
        }
        catch
        {
            try { Directory.Delete(tmp, true); } catch (IOException) { }
            throw;
        }
        Console.WriteLine($"{config.Tokenizer.CodebookSize} codes → {groups} after merging at cosine {threshold}; on {before.Frames} validation frames: " +
                          $"PSNR {before.Psnr:0.00} → {after.Psnr:0.00} dB, codes in use {before.CodesUsed} → {after.CodesUsed}, " +
                          $"code flicker {before.CodeFlicker:0.000} → {after.CodeFlicker:0.000}");
        Console.WriteLine($"wrote {outDir}; train the dynamics on it: genie train dynamics --tokenizer {outDir} …");
        return 0;
    }

    private static int Run(string stage, string? resume, string? dataDir, string? outDir, string? tokenizerRun, string? init, string? initParts,
        string[] sets, string? configName, int? stopAt, int threads, bool grow = false)
    {
        if (grow && init is null) throw new UsageException("--init-grow grows the dynamics model of --init RUN0; give --init too");
        string[]? parts = initParts?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts is not null && init is null) throw new UsageException("--init-parts says which models start from --init RUN0; give --init too");
        if (parts is not null && (parts.Length == 0 || parts.Any(x => x is not ("lam" or "dynamics"))))
            throw new UsageException($"--init-parts must be lam, dynamics or lam,dynamics, got '{initParts}'");
        Workers.ThreadCount = threads;

        GenieConfig config;
        string runDir;
        if (resume is not null)
        {
            if (outDir is not null && Path.GetFullPath(outDir) != Path.GetFullPath(resume)) throw new UsageException("--resume continues RUN in place; leave out --out");
            if (init is not null) throw new UsageException("--init starts a new run from another run's weights; a resumed run has its own");
            runDir = resume;
            var latest = Checkpoint.RequireLatest(runDir);
            var state = Checkpoint.LoadState(Path.Combine(latest, "state.json"));
            config = GenieConfig.Load(Path.Combine(runDir, "config.json"), sets);
            dataDir ??= state.Data ?? throw new UsageException("the run does not record its dataset; pass --data DIR");
            tokenizerRun ??= state.TokenizerRun;
        }
        else
        {
            runDir = outDir ?? throw new UsageException("missing --out RUN (or --resume RUN)");
            if (dataDir is null) throw new UsageException("missing --data DIR (make one with `genie data make`)");
            if (stage == "dynamics")
            {
                if (tokenizerRun is null) throw new UsageException("missing --tokenizer RUN (a run of `genie train tokenizer`)");
                config = configName is not null ? GenieConfig.Load(configName, sets)
                    : GenieConfig.Load(Path.Combine(RequireRun(tokenizerRun), "config.json"), sets);
            }
            else config = GenieConfig.Load(configName ?? "small", sets);
        }

        using var dataset = Dataset.Open(dataDir);
        if (dataset.Height != config.Height || dataset.Width != config.Width)
            throw new InvalidDataException($"the dataset's frames are {dataset.Width}x{dataset.Height}, config '{config.Name}' expects {config.Width}x{config.Height}; " +
                                           $"make or ingest the data at that size (--size {config.Width}x{config.Height})");
        var train = stage == "tokenizer" ? config.TrainTokenizer : config.TrainDynamics;
        using var loader = new ClipLoader(dataset, DataSplit.Train, train.ClipLength, train.BatchSize, train.Seed);
        var validation = ClipLoader.FixedWindows(dataset, dataset.Validation.Count > 0 ? DataSplit.Validation : DataSplit.Train,
            train.ClipLength, Math.Min(train.BatchSize, train.EvalClips), maxClips: train.EvalClips).ToList();
        if (dataset.Validation.Count == 0) Console.Error.WriteLine("warning: the dataset has no validation episodes; validating on training clips");

        var bar = new ProgressBar($"train {stage}", train.Steps, "steps");
        string? lastMessage = null;
        if (init is not null) Checkpoint.RequireLatest(init);   // a clear error before anything starts
        var options = new RunOptions(runDir, resume is not null, InitFrom: init, InitParts: parts, StopAt: stopAt, GrowDepth: grow, Progress: p =>
        {
            if (p.Message is not null && p.Message != lastMessage) { bar.Note(p.Message); lastMessage = p.Message; }
            bar.Report(p.Step, (long)(p.Step * (double)train.BatchSize * train.ClipLength), "frames");
        });
        Console.Error.WriteLine($"{(resume is null ? "training" : "resuming")} {stage} '{config.Name}' on {dataDir} " +
                                $"({dataset.Train.Count} train / {dataset.Validation.Count} validation episodes) → {runDir}, {Workers.ThreadCount} threads");
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
            Console.Error.WriteLine("\nstopping after this step; the last checkpoint stays in place (continue with --resume)");
        };

        Trainer trainer = stage == "tokenizer"
            ? new TokenizerTrainer(config, loader, validation, options)
            : new DynamicsTrainer(config, tokenizerRun!, loader, validation, options);
        trainer.DataPath = Path.GetFullPath(dataDir);
        Dictionary<string, double> final;
        try { final = trainer.Run(cancel.Token); }
        catch (OperationCanceledException) { return 130; }
        if (trainer.Step < train.Steps)
            Console.Error.WriteLine($"\nstopped at step {trainer.Step} of {train.Steps} (--stop-at); continue with `genie train {stage} --resume {runDir}`");
        else bar.Done(train.Steps);
        Console.WriteLine(string.Join("  ", final.Select(kv => $"{kv.Key} {kv.Value:0.####}")));
        Console.WriteLine($"checkpoint: {Checkpoint.RequireLatest(runDir)}");
        return 0;
    }

    private static string RequireRun(string run)
    {
        if (!File.Exists(Path.Combine(run, "config.json"))) throw new DirectoryNotFoundException($"{run} is not a training run (no config.json)");
        return run;
    }
}
