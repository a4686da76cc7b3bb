using System.CommandLine;
using System.Diagnostics;
using Genie.Core;
using Genie.Core.IO;
using Genie.Data;
using Genie.Engine;
using Genie.Engine.Autograd;
using Genie.Engine.IO;
using Genie.Engine.Parallel;
using Genie.Models;
using Genie.Play;
using Genie.Worlds.Platformer;

namespace Genie.Cli.Commands;

/// <summary>`genie play`, `genie rollout`, `genie export`: the ways users meet a trained world.</summary>
public static class PlayCommands
{
    /// <summary>Adds this area's commands to <paramref name="root"/>.</summary>
    public static void Register(RootCommand root)
    {
        root.Add(PlayCommand());
        root.Add(RolloutCommand());
        root.Add(ExportCommand());
    }

    /// <summary>`--fit crop|letterbox|stretch`: how an image is fitted to the frame.</summary>
    internal static Option<string> FitOption(string help) => Opt.String("--fit", "crop", help, "crop|letterbox|stretch", "crop", "letterbox", "stretch");

    private static Option<string?> RunOption() =>
        Opt.Text("--run", "a run of `genie train dynamics` or a folder from `genie export` (default: models/small, found from here or from the program's location)", "RUN");

    // ------------------------------------------------------------------ play

    private static Command PlayCommand()
    {
        var runOption = RunOption();
        var portOption = Opt.Int("--port", 5000, "port to listen on, 0..65535 (0 picks a free port; the URL is printed)");
        var hostOption = Opt.String("--host", "127.0.0.1", "interface to listen on (loopback; anything else is reachable from the network)", "HOST");
        var dataOption = Opt.Text("--data", "take the sample prompts from this dataset (default: the model's prompts/, else its training data " +
            "if present, else frames rendered from the platformer world)", "DIR");
        var stepsOption = Opt.OptionalInt("--steps", "MaskGIT steps per frame (default: the config's; the page can change it per session)", min: 1);
        var temperatureOption = Opt.OptionalDouble("--temperature", "sampling temperature, 0..10 (default: the config's)");
        var fitOption = FitOption("how an uploaded image is fitted to the frame: crop the centre, letterbox, stretch");
        var difficultyOption = Opt.Text("--difficulty", "levels of the real world (default: the difficulty of the model's data if known, else easy)",
            "easy|hard", choices: ["easy", "hard"]);
        var maxSessionsOption = Opt.Int("--max-sessions", 4, "sessions open at once", min: 1);
        var idleOption = Opt.Double("--idle-minutes", 15, "close sessions idle this long");
        var worldOnlyOption = Opt.Flag("--world-only", "no model: only the real platformer");
        var randomInitOption = Opt.Text("--random-init", "serve a randomly initialised model of a config (development and tests; it plays noise)", "CONFIG");
        var threadsOption = Opt.Threads(Workers.ThreadCount, "kernel threads (all cores unless GENIE_THREADS is set)");
        var cmd = new Command("play",
            "play a learned world (or the real platformer) in the browser\n" +
            "Serves the play page on http://HOST:PORT: start from a sample frame, an uploaded image or a sketch,\n" +
            "press actions (buttons or keys), step back, reset, download the session as GIF or MP4 (docs/play.md).\n" +
            "The same page plays the real platformer world for comparison. Ctrl+C stops it.")
        {
            runOption, portOption, hostOption, dataOption, stepsOption, temperatureOption, fitOption, difficultyOption, maxSessionsOption,
            idleOption, worldOnlyOption, randomInitOption, threadsOption,
        };
        cmd.SetAction(p => Play(p.GetValue(runOption), p.GetValue(dataOption), p.GetValue(hostOption)!, p.GetValue(portOption), p.GetValue(stepsOption),
            p.GetValue(temperatureOption) is { } t ? (float)t : null, ParseFit(p.GetValue(fitOption)!), p.GetValue(difficultyOption),
            p.GetValue(maxSessionsOption), p.GetValue(idleOption), p.GetValue(worldOnlyOption), p.GetValue(randomInitOption), p.GetValue(threadsOption)));
        return cmd;
    }

    private static int Play(string? run, string? dataDir, string host, int port, int? steps, float? temperature, FitMode fit, string? difficultyText,
        int maxSessions, double idle, bool worldOnly, string? randomInit, int threads)
    {
        if (port is < 0 or > 65535) throw new UsageException($"--port must be in 0..65535, got {port}");
        if (!(idle > 0)) throw new UsageException($"--idle-minutes must be positive, got {idle}");
        if (temperature is < 0 or > 10) throw new UsageException($"--temperature must be in 0..10, got {temperature}");
        if (worldOnly && (run is not null || randomInit is not null)) throw new UsageException("--world-only plays no model; leave out --run and --random-init");
        if (run is not null && randomInit is not null) throw new UsageException("give --run or --random-init, not both");
        Workers.ThreadCount = threads;

        GenieModel? model = null;
        ActionMap? latentActions = null;
        string description = "", runDir = "";
        if (randomInit is not null)
        {
            model = new GenieModel(GenieConfig.Load(randomInit), new Rng(0));
            description = $"randomly initialised '{model.Config.Name}' (untrained: it plays noise)";
        }
        else if (!worldOnly)
        {
            var resolved = ModelLocator.Resolve(run, out var searched);
            if (resolved is null)
            {
                Console.Error.WriteLine("genie play: " + ModelLocator.MissingMessage(searched));
                return 1;
            }
            runDir = resolved;
            Console.Error.WriteLine($"loading {runDir} …");
            using (var loaded = GenieWorld.Load(runDir)) (model, latentActions) = (loaded.Model, loaded.ActionMap);
            if (model.Dynamics.SamplingWarning is { } warning) Console.Error.WriteLine("warning: " + warning);
            description = $"{Path.GetFileName(Path.GetFullPath(runDir).TrimEnd('/'))} ({Path.GetFileName(Checkpoint.RequireLatest(runDir))}, {model.ParameterCount() / 1e6:0.#}M parameters)";
        }
        var difficulty = difficultyText is not null ? WorldCommands.ParseDifficulty(difficultyText)
            : RunDifficulty(runDir == "" ? null : runDir) ?? Difficulty.Easy;
        int w = model?.Config.Width ?? 64, h = model?.Config.Height ?? 64;
        var samples = SampleFrames.Open(dataDir, runDir == "" ? null : runDir, w, h, difficulty);
        var content = new PlayContent
        {
            Model = model,
            ModelDescription = description,
            Samples = samples,
            LatentActions = latentActions ?? (model is null ? null : ActionMap.ForLatent(model.NumActions, null)),
        };
        var options = new PlayOptions
        {
            Host = host, Port = port, MaxSessions = maxSessions, IdleTimeout = TimeSpan.FromMinutes(idle),
            Steps = steps, Temperature = temperature, Fit = fit, Difficulty = difficulty,
        };
        if (host is not ("127.0.0.1" or "localhost" or "::1"))
            Console.Error.WriteLine($"warning: listening on {host}: anyone who can reach this machine can use the page (there is no login)");

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        PlayServer server;
        try { server = PlayServer.StartAsync(content, options).GetAwaiter().GetResult(); }
        catch (IOException e) when (e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase) || e.InnerException is System.Net.Sockets.SocketException)
        {
            Console.Error.WriteLine($"genie play: cannot listen on {host}:{port}: {e.Message} (another program uses the port? try --port 0)");
            return 1;
        }
        Console.WriteLine($"genie play: {(model is null ? "the real platformer only" : description)}; samples from the {samples.Source}");
        Console.WriteLine($"open {server.Url}   (Ctrl+C stops)");
        Console.Out.Flush();
        server.WaitAsync(stop.Token).GetAwaiter().GetResult();
        Console.Error.WriteLine("stopping");
        server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return 0;
    }

    /// <summary>The difficulty of the run's training data, if known.</summary>
    private static Difficulty? RunDifficulty(string? runDir) => (runDir is null ? null : ModelExport.RunDifficulty(runDir)) switch
    {
        "easy" => Difficulty.Easy,
        "hard" => Difficulty.Hard,
        _ => null,
    };

    private static FitMode ParseFit(string s) => s.ToLowerInvariant() switch
    {
        "crop" => FitMode.Crop,
        "letterbox" => FitMode.Letterbox,
        "stretch" => FitMode.Stretch,
        _ => throw new UsageException($"--fit must be crop, letterbox or stretch, got '{s}'"),
    };

    // ------------------------------------------------------------------ rollout

    private static Command RolloutCommand()
    {
        var grid = Opt.Flag("--grid", "write a contact sheet instead: for each prompt, one row per latent action holding that action for " +
            "--frames − 1 steps (columns: the prompt's reconstruction, then the generated frames), prompt by prompt, actions 0..A−1 within each");
        var promptOption = Opt.Text("--prompt", "the image (PNG, JPEG, WebP, GIF or BMP, any size: fitted to the model's frame), or sample:N for " +
            "the N-th sample prompt of the play page; with --grid, several, comma-separated", "IMG", required: true);
        var actionsOption = Opt.Text("--actions", "latent actions in order, comma-separated; 2*5 repeats action 2 five times (not with --grid)", "A,A,...");
        var outOption = Opt.Text("--out", "run.gif, run.mp4 (needs ffmpeg) or a folder of PNGs (DIR/frame_00000.png = the prompt's " +
            "reconstruction, then one per action); with --grid, sheet.png", "FILE|DIR", required: true);
        var runOption = RunOption();
        var seedOption = Opt.Int("--seed", 0, "sampling seed: the same seed and actions give the same frames", min: 0);
        var temperatureOption = Opt.OptionalDouble("--temperature", "sampling temperature, 0..10 (default: the config's)");
        var stepsOption = Opt.OptionalInt("--steps", "MaskGIT steps per frame (default: the config's)", min: 1);
        var fitOption = FitOption("how the prompt image is fitted to the frame: crop the centre, letterbox, stretch");
        var scaleOption = Opt.OptionalInt("--scale", "enlargement with crisp pixels, at most 16 (default 4 for GIF/MP4, 1 for PNG folders; " +
            "with --grid at most 8, default 2)", min: 1);
        var fpsOption = Opt.Double("--fps", 10, "playback rate of GIF/MP4, 1..60 (the data's rate; not with --grid)");
        var framesOption = Opt.Int("--frames", 16, "with --grid: frames per row, 2..1000", min: 2);
        var threadsOption = Opt.Threads(Workers.ThreadCount, "kernel threads (all cores unless GENIE_THREADS is set)");
        var cmd = new Command("rollout",
            "generate frames from a prompt image and a list of actions (for scripts)\n" +
            "  genie rollout --prompt IMG --actions 3,3,1,... --out run.gif|run.mp4|DIR [options]\n" +
            "  genie rollout --grid --prompt IMG[,IMG...] --out sheet.png [--frames 16] [options]\n" +
            "Prompts the world model with IMG and takes the latent actions in order. Plays through GenieWorld (the\n" +
            "library API; the cached interactive sampler), as the play page does.")
        {
            grid, promptOption, actionsOption, outOption, runOption, seedOption, temperatureOption, stepsOption, fitOption, scaleOption, fpsOption,
            framesOption, threadsOption,
        };
        cmd.SetAction(p =>
        {
            Workers.ThreadCount = p.GetValue(threadsOption);
            string prompt = p.GetValue(promptOption)!, outPath = p.GetValue(outOption)!;
            string? run = p.GetValue(runOption);
            int seed = p.GetValue(seedOption);
            int? steps = p.GetValue(stepsOption), scale = p.GetValue(scaleOption);
            float? temperature = p.GetValue(temperatureOption) is { } t ? (float)t : null;
            if (temperature is < 0 or > 10) throw new UsageException($"--temperature must be in 0..10, got {temperature}");
            var fit = ParseFit(p.GetValue(fitOption)!);
            if (p.GetValue(grid))
            {
                foreach (var other in new Option[] { actionsOption, fpsOption })
                    if (Opt.Given(p, other)) throw new UsageException($"{other.Name} does not apply to --grid");
                return Grid(prompt, outPath, run, seed, p.GetValue(framesOption), scale ?? 2, steps, temperature, fit);
            }
            if (Opt.Given(p, framesOption)) throw new UsageException("--frames applies to --grid only; give the actions with --actions");
            string actions = p.GetValue(actionsOption) ?? throw new UsageException("missing required option --actions");
            return Rollout(prompt, actions, outPath, run, seed, steps, temperature, fit, scale, p.GetValue(fpsOption));
        });
        return cmd;
    }

    private static int Rollout(string prompt, string actionsText, string outPath, string? run, int seed, int? steps, float? temperature, FitMode fit,
        int? scaleGiven, double fps)
    {
        if (temperature is < 0 or > 10) throw new UsageException($"--temperature must be in 0..10, got {temperature}");
        if (!(fps >= 1 && fps <= 60)) throw new UsageException($"--fps must be in 1..60, got {fps}");
        string kind = outPath.EndsWith(".gif", StringComparison.OrdinalIgnoreCase) ? "gif"
            : outPath.EndsWith(".mp4", StringComparison.OrdinalIgnoreCase) ? "mp4" : "dir";
        int scale = scaleGiven ?? (kind == "dir" ? 1 : 4);
        if (scale > 16) throw new UsageException($"--scale must be at most 16, got {scale}");
        if (kind == "dir" && File.Exists(outPath)) throw new UsageException($"--out {outPath} is a file; give a .gif, a .mp4 or a folder");

        var resolved = ModelLocator.Resolve(run, out var searched);
        if (resolved is null) { Console.Error.WriteLine("genie rollout: " + ModelLocator.MissingMessage(searched, offerWorldOnly: false)); return 1; }
        using var world = GenieWorld.Load(resolved);
        if (world.Model.Dynamics.SamplingWarning is { } warning) Console.Error.WriteLine("warning: " + warning);
        var cfg = world.Model.Config;
        var actions = ParseActions(actionsText, world.ActionCount);
        var promptFrame = LoadPrompt(prompt, resolved, cfg, fit);
        if (steps is { } s) world.Steps = s;
        if (temperature is { } t) world.Temperature = t;

        var clock = Stopwatch.StartNew();
        world.Start(promptFrame, cfg.Width, cfg.Height, (ulong)seed);
        var bar = new ProgressBar("rollout", actions.Length, "frames");
        for (int i = 0; i < actions.Length; i++)
        {
            world.Step(actions[i]);
            bar.Report(i + 1, i + 1);
        }
        bar.Done(actions.Length, actions.Length);
        var frames = world.Frames;
        double secs = clock.Elapsed.TotalSeconds;
        switch (kind)
        {
            case "gif": AtomicFile.WriteAllBytes(outPath, VideoExport.Gif(frames, cfg.Width, cfg.Height, scale, fps)); break;
            case "mp4":
                try { AtomicFile.WriteAllBytes(outPath, VideoExport.Mp4(frames, cfg.Width, cfg.Height, scale, fps)); }
                catch (FfmpegMissingException e) { Console.Error.WriteLine($"genie rollout: {e.Message}"); return 1; }
                break;
            default: VideoExport.PngFolder(outPath, frames, cfg.Width, cfg.Height, scale); break;
        }
        Console.WriteLine($"wrote {outPath}: {frames.Count} frames (the prompt and {actions.Length} steps) of {cfg.Width}x{cfg.Height} " +
                          $"in {secs:F1} s ({actions.Length / Math.Max(secs, 1e-9):F2} frames/s), seed {seed}");
        return 0;
    }

    // A prompt frame at the model's size: an image file, or sample:N of the play page's sample prompts.
    private static byte[] LoadPrompt(string prompt, string run, GenieConfig cfg, FitMode fit)
    {
        if (!prompt.StartsWith("sample:")) return PromptImage.FromFile(prompt, cfg.Width, cfg.Height, fit);
        if (!int.TryParse(prompt["sample:".Length..], out int i) || i < 0) throw new UsageException($"--prompt sample:N needs a number, got '{prompt}'");
        return SampleFrames.Open(null, run, cfg.Width, cfg.Height, RunDifficulty(run) ?? Difficulty.Easy).Get(i);
    }

    private static int Grid(string promptList, string outPath, string? run, int seed, int frames, int scale, int? steps, float? temperature, FitMode fit)
    {
        var prompts = promptList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (!outPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--grid writes a PNG; --out {outPath} does not end in .png");
        if (frames > 1000) throw new UsageException($"--frames must be at most 1000, got {frames}");
        if (scale > 8) throw new UsageException($"--scale must be at most 8, got {scale}");

        var resolved = ModelLocator.Resolve(run, out var searched);
        if (resolved is null) { Console.Error.WriteLine("genie rollout: " + ModelLocator.MissingMessage(searched, offerWorldOnly: false)); return 1; }
        var model = GenieModel.Load(resolved);
        if (model.Dynamics.SamplingWarning is { } warning) Console.Error.WriteLine("warning: " + warning);
        var cfg = model.Config;
        int actions = model.NumActions, fb = cfg.Height * cfg.Width * 3;
        var rows = new List<byte[]>();
        var bar = new ProgressBar("rollout grid", prompts.Length * actions, "rows");
        var clock = Stopwatch.StartNew();
        using (Tape.NoGrad())
            foreach (var p in prompts)
            {
                var frame = LoadPrompt(p, resolved, cfg, fit);
                for (int act = 0; act < actions; act++)
                {
                    using (new TensorScope()) rows.Add(model.Generate(frame, 1, Enumerable.Repeat(act, frames - 1).ToArray(), frames, (ulong)seed, steps, temperature));
                    bar.Report(rows.Count, (long)rows.Count * (frames - 1));
                }
            }
        bar.Done(rows.Count, (long)rows.Count * (frames - 1));
        var (rgb, w, h) = Genie.Models.Training.SampleGrid.Compose(rows, frames, cfg.Height, cfg.Width);
        var image = new Genie.Media.Image(w, h, rgb);
        if (scale > 1) image = Genie.Media.Resize.Scale(image, scale);
        Genie.Media.Png.Save(image, outPath);   // atomic
        Console.WriteLine($"wrote {outPath}: {prompts.Length} prompts × {actions} latent actions, {frames} frames each ({w * scale}x{h * scale} pixels) " +
                          $"in {clock.Elapsed.TotalSeconds:F1} s, seed {seed}");
        return 0;
    }

    /// <summary>"3,3,1", "2*5,0": latent action ids, each checked against the model's A.</summary>
    internal static int[] ParseActions(string text, int numActions)
    {
        var list = new List<int>();
        foreach (var raw in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = raw.Split('*');
            if (parts.Length > 2 || !int.TryParse(parts[0], out int act) || (parts.Length == 2 && (!int.TryParse(parts[1], out int n) || n < 1 || n > 100_000)))
                throw new UsageException($"--actions: '{raw}' is not an action id (or ID*COUNT)");
            if ((uint)act >= (uint)numActions) throw new UsageException($"--actions: action {act} does not exist; this model has latent actions 0..{numActions - 1}");
            int count = parts.Length == 2 ? int.Parse(parts[1]) : 1;
            list.AddRange(Enumerable.Repeat(act, count));
        }
        if (list.Count == 0) throw new UsageException("--actions is empty; give a comma-separated list such as 3,3,1");
        if (list.Count > 100_000) throw new UsageException($"--actions has {list.Count} actions; at most 100000");
        return list.ToArray();
    }

    // ------------------------------------------------------------------ export

    private static Command ExportCommand()
    {
        var runOption = Opt.Text("--run", "a run of `genie train dynamics`", "RUN", required: true);
        var outOption = Opt.Text("--out", "the folder to write", "DIR", required: true);
        var dtypeOption = Opt.String("--dtype", "bf16", "weight precision: bf16 halves the size", "bf16|f32", "bf16", "f32");
        var promptsOption = Opt.Int("--prompts", 12, "prompt frames (PNG) to include", min: 0);
        var dataOption = Opt.Text("--data", "take the prompt frames from this dataset (default: the run's)", "DIR");
        var overwriteOption = Opt.Flag("--overwrite", "replace DIR if it is an earlier export");
        var sets = Opt.Sets();
        sets.Description = "change a play setting in the copy's config, e.g. --set dynamics.choice_temperature=1 (repeatable; only " +
                           string.Join(", ", GenieConfig.PlayKeys) + ")";
        var cmd = new Command("export",
            "write a slim, play-only copy of a run (weights in BF16, config, prompts)\n" +
            "Copies what `genie play` needs from a run of `genie train dynamics`: the newest model weights (converted\n" +
            "to BF16 by default, halving the size), config.json, the `latest` pointer, RUN/actions.json if present,\n" +
            "and a few prompt frames (PNG) from the run's dataset (or --data). No optimizer state, metrics or samples.\n" +
            "Prints the size; the repository's models/small is made this way.")
        { runOption, outOption, dtypeOption, promptsOption, dataOption, overwriteOption, sets };
        cmd.SetAction(p => Export(p.GetValue(runOption)!, p.GetValue(outOption)!, p.GetValue(dtypeOption)!.ToLowerInvariant(), p.GetValue(promptsOption),
            p.GetValue(dataOption), p.GetValue(overwriteOption), p.GetValue(sets)!, CommandText.Of(p)));
        return cmd;
    }

    private static int Export(string run, string outDir, string dtypeText, int prompts, string? dataDir, bool overwrite, string[] sets, string commandLine)
    {
        var dtype = dtypeText switch
        {
            "bf16" => SafeTensorsDType.BF16,
            "f32" => SafeTensorsDType.F32,
            _ => throw new UsageException($"--dtype must be bf16 or f32, got '{dtypeText}'"),
        };
        if (Directory.Exists(outDir) && !overwrite) throw new UsageException($"{outDir} exists; add --overwrite to replace it");
        var r = ModelExport.Write(run, outDir, dtype, prompts, dataDir, overwrite, commandLine, sets);
        Console.WriteLine($"wrote {outDir}: {r.Parameters / 1e6:0.##}M parameters in {dtypeText.ToUpperInvariant()}, {r.Bytes / 1e6:0.##} MB in all, " +
                          (r.Dataset is null ? "no prompt frames (no dataset found; pass --data DIR to include some)" : $"{r.Prompts} prompt frames from {r.Dataset}"));
        if (r.Bytes > 25_000_000) Console.Error.WriteLine($"warning: {r.Bytes / 1e6:0.#} MB is over the 25 MB the repository allows for a shipped model");
        var exported = GenieConfig.Load(Path.Combine(outDir, "config.json")).Dynamics;
        if (DynamicsConfig.GuidanceWarning(exported.Guidance, exported.ActionDropout) is { } warning) Console.Error.WriteLine("warning: the export samples at " + warning);
        return 0;
    }
}
