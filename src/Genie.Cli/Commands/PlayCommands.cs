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
    /// <summary>Adds this area's commands to <paramref name="commands"/>.</summary>
    public static void Register(List<Command> commands)
    {
        commands.Add(new Command("play", "play a learned world (or the real platformer) in the browser",
            "usage: genie play [--run RUN] [--port 5000] [--host 127.0.0.1] [--data DIR] [--steps S] [--temperature T]\n" +
            "                  [--fit crop|letterbox|stretch] [--difficulty easy|hard] [--max-sessions N] [--idle-minutes M]\n" +
            "                  [--world-only] [--random-init CONFIG] [--threads N]\n" +
            "  Serves the play page on http://HOST:PORT: start from a sample frame, an uploaded image or a sketch,\n" +
            "  press actions (buttons or keys), step back, reset, download the session as GIF or MP4 (docs/play.md).\n" +
            "  The same page plays the real platformer world for comparison. Ctrl+C stops it.\n" +
            "  --run           a run of `genie train dynamics` or a folder from `genie export` (default: models/small,\n" +
            "                  found from here or from the program's location)\n" +
            "  --port          0 picks a free port; the URL is printed\n" +
            "  --host          interface to listen on (default loopback; anything else is reachable from the network)\n" +
            "  --data          take the sample prompts from this dataset (default: the model's prompts/, else its\n" +
            "                  training data if present, else frames rendered from the platformer world)\n" +
            "  --steps, --temperature  MaskGIT sampling defaults (the page can change steps per session)\n" +
            "  --fit           how an uploaded image is fitted to the frame: crop the centre (default), letterbox, stretch\n" +
            "  --difficulty    levels of the real world (default: the difficulty of the model's data if known, else easy)\n" +
            "  --max-sessions  sessions open at once (default 4); --idle-minutes closes idle ones (default 15)\n" +
            "  --world-only    no model: only the real platformer\n" +
            "  --random-init   serve a randomly initialised model of a config (development and tests; it plays noise)",
            PlayCommand));

        commands.Add(new Command("rollout", "generate frames from a prompt image and a list of actions (for scripts)",
            "usage: genie rollout --prompt IMG --actions 3,3,1,... --out run.gif|run.mp4|DIR [--run RUN] [--seed S]\n" +
            "                     [--temperature T] [--steps S] [--fit crop|letterbox|stretch] [--scale K] [--fps F]\n" +
            "  Prompts the world model with IMG (PNG, JPEG, WebP, GIF or BMP, any size: fitted to the model's frame) and\n" +
            "  takes the latent actions in order (`2*5` repeats action 2 five times). Writes an animated GIF, an MP4 (needs\n" +
            "  ffmpeg), or a folder of PNGs (DIR/frame_00000.png = the prompt's reconstruction, then one per action).\n" +
            "  Plays through GenieWorld (the library API; the cached interactive sampler), as the play page does.\n" +
            "  --prompt   the image, or sample:N for the N-th sample prompt of the play page\n" +
            "  --run      as for `genie play` (default models/small)\n" +
            "  --seed     sampling seed (default 0): the same seed and actions give the same frames\n" +
            "  --scale    enlargement of GIF/MP4 frames with crisp pixels (default 4; PNG folders default to 1)\n" +
            "  --fps      playback rate of GIF/MP4 (default 10, the data's rate)\n" +
            "usage: genie rollout --grid --prompt IMG[,IMG...] --out sheet.png [--frames 16] [--run RUN] [--seed S] [--scale K]\n" +
            "                     [--steps S] [--temperature T]\n" +
            "  A contact sheet: for each prompt (comma-separated; sample:N as above), one row per latent action holding\n" +
            "  that action for --frames − 1 steps (columns: the prompt's reconstruction, then the generated frames).\n" +
            "  Rows go prompt by prompt, actions 0..A−1 within each; --scale enlarges it (default 2).",
            RolloutCommand));

        commands.Add(new Command("export", "write a slim, play-only copy of a run (weights in BF16, config, prompts)",
            "usage: genie export --run RUN --out DIR [--dtype bf16|f32] [--prompts 12] [--data DIR] [--overwrite]\n" +
            "  Copies what `genie play` needs from a run of `genie train dynamics`: the newest model weights (converted\n" +
            "  to BF16 by default, halving the size), config.json, the `latest` pointer, RUN/actions.json if present,\n" +
            "  and a few prompt frames (PNG) from the run's dataset (or --data). No optimizer state, metrics or samples.\n" +
            "  Prints the size; the repository's models/small is made this way.",
            ExportCommand));
    }

    // ------------------------------------------------------------------ play

    private static int PlayCommand(string[] argv)
    {
        var a = new Args(argv, "world-only");
        string? run = a.Get("run");
        string? dataDir = a.Get("data");
        string host = a.Get("host", "127.0.0.1")!;
        int port = a.Int("port", 5000);
        int? steps = a.Get("steps") is null ? null : WorldCommands.Positive(a, "steps", 25);
        float? temperature = a.Get("temperature") is null ? null : (float)a.Double("temperature", 1);
        var fit = ParseFit(a.Get("fit"));
        string? difficultyText = a.Get("difficulty");
        int maxSessions = WorldCommands.Positive(a, "max-sessions", 4);
        double idle = a.Double("idle-minutes", 15);
        bool worldOnly = a.Flag("world-only");
        string? randomInit = a.Get("random-init");
        int threads = WorldCommands.Positive(a, "threads", Workers.ThreadCount);
        a.RejectUnknown();
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}'");
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

    private static FitMode ParseFit(string? s) => s?.ToLowerInvariant() switch
    {
        null or "crop" => FitMode.Crop,
        "letterbox" => FitMode.Letterbox,
        "stretch" => FitMode.Stretch,
        _ => throw new UsageException($"--fit must be crop, letterbox or stretch, got '{s}'"),
    };

    // ------------------------------------------------------------------ rollout

    private static int RolloutCommand(string[] argv)
    {
        if (argv.Contains("--grid")) return GridCommand(argv);
        var a = new Args(argv);
        string prompt = a.Require("prompt");
        string actionsText = a.Require("actions");
        string outPath = a.Require("out");
        string? run = a.Get("run");
        int seed = WorldCommands.Positive(a, "seed", 0, 0);
        int? steps = a.Get("steps") is null ? null : WorldCommands.Positive(a, "steps", 25);
        float? temperature = a.Get("temperature") is null ? null : (float)a.Double("temperature", 1);
        var fit = ParseFit(a.Get("fit"));
        string? scaleText = a.Get("scale");
        double fps = a.Double("fps", 10);
        int threads = WorldCommands.Positive(a, "threads", Workers.ThreadCount);
        a.RejectUnknown();
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}'");
        if (temperature is < 0 or > 10) throw new UsageException($"--temperature must be in 0..10, got {temperature}");
        if (!(fps >= 1 && fps <= 60)) throw new UsageException($"--fps must be in 1..60, got {fps}");
        string kind = outPath.EndsWith(".gif", StringComparison.OrdinalIgnoreCase) ? "gif"
            : outPath.EndsWith(".mp4", StringComparison.OrdinalIgnoreCase) ? "mp4" : "dir";
        int scale = scaleText is null ? (kind == "dir" ? 1 : 4) : WorldCommands.Positive(a, "scale", 4);
        if (scale > 16) throw new UsageException($"--scale must be at most 16, got {scale}");
        if (kind == "dir" && File.Exists(outPath)) throw new UsageException($"--out {outPath} is a file; give a .gif, a .mp4 or a folder");
        Workers.ThreadCount = threads;

        var resolved = ModelLocator.Resolve(run, out var searched);
        if (resolved is null) { Console.Error.WriteLine("genie rollout: " + ModelLocator.MissingMessage(searched, offerWorldOnly: false)); return 1; }
        using var world = GenieWorld.Load(resolved);
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

    private static int GridCommand(string[] argv)
    {
        var a = new Args(argv, "grid");
        a.Flag("grid");
        var prompts = a.Require("prompt").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        string outPath = a.Require("out");
        string? run = a.Get("run");
        int seed = WorldCommands.Positive(a, "seed", 0, 0);
        int frames = WorldCommands.Positive(a, "frames", 16, 2);
        int scale = WorldCommands.Positive(a, "scale", 2);
        int? steps = a.Get("steps") is null ? null : WorldCommands.Positive(a, "steps", 25);
        float? temperature = a.Get("temperature") is null ? null : (float)a.Double("temperature", 1);
        var fit = ParseFit(a.Get("fit"));
        int threads = WorldCommands.Positive(a, "threads", Workers.ThreadCount);
        a.RejectUnknown();
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}'");
        if (!outPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--grid writes a PNG; --out {outPath} does not end in .png");
        if (frames > 1000) throw new UsageException($"--frames must be at most 1000, got {frames}");
        if (scale > 8) throw new UsageException($"--scale must be at most 8, got {scale}");
        Workers.ThreadCount = threads;

        var resolved = ModelLocator.Resolve(run, out var searched);
        if (resolved is null) { Console.Error.WriteLine("genie rollout: " + ModelLocator.MissingMessage(searched, offerWorldOnly: false)); return 1; }
        var model = GenieModel.Load(resolved);
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

    private static int ExportCommand(string[] argv)
    {
        var a = new Args(argv, "overwrite");
        string run = a.Require("run");
        string outDir = a.Require("out");
        string dtypeText = a.Get("dtype", "bf16")!.ToLowerInvariant();
        int prompts = WorldCommands.Positive(a, "prompts", 12, 0);
        string? dataDir = a.Get("data");
        bool overwrite = a.Flag("overwrite");
        a.RejectUnknown();
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}'");
        var dtype = dtypeText switch
        {
            "bf16" => SafeTensorsDType.BF16,
            "f32" => SafeTensorsDType.F32,
            _ => throw new UsageException($"--dtype must be bf16 or f32, got '{dtypeText}'"),
        };
        if (Directory.Exists(outDir) && !overwrite) throw new UsageException($"{outDir} exists; add --overwrite to replace it");
        var r = ModelExport.Write(run, outDir, dtype, prompts, dataDir, overwrite, "genie export " + string.Join(' ', argv));
        Console.WriteLine($"wrote {outDir}: {r.Parameters / 1e6:0.##}M parameters in {dtypeText.ToUpperInvariant()}, {r.Bytes / 1e6:0.##} MB in all, " +
                          (r.Dataset is null ? "no prompt frames (no dataset found; pass --data DIR to include some)" : $"{r.Prompts} prompt frames from {r.Dataset}"));
        if (r.Bytes > 25_000_000) Console.Error.WriteLine($"warning: {r.Bytes / 1e6:0.#} MB is over the 25 MB the repository allows for a shipped model");
        return 0;
    }
}
