using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Genie.Data;
using Genie.Media;
using Genie.Worlds.Agents;
using Genie.Worlds.Platformer;

namespace Genie.Cli.Commands;

/// <summary>`genie data ...`: make datasets from the world, ingest videos, inspect datasets.</summary>
public static class DataCommands
{
    /// <summary>How a world's settings are written in a dataset's manifest (<c>details.settings</c>) and read back.</summary>
    public static readonly JsonSerializerOptions SettingsJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    // "MIN-MAX" (or one number): steps the random agent holds each action.
    private static (int Min, int Max) ParseHold(string text)
    {
        var parts = text.Split('-');
        if (parts.Length is 1 or 2 && int.TryParse(parts[0], out int min) && int.TryParse(parts[^1], out int max) && min >= 1 && max >= min && max <= 100_000)
            return (min, max);
        throw new UsageException($"--hold must be MIN-MAX steps with 1 ≤ MIN ≤ MAX (e.g. 10-30), got '{text}'");
    }

    /// <summary>Adds this area's commands to <paramref name="root"/>.</summary>
    public static void Register(RootCommand root)
    {
        var data = new Command("data", "datasets: make them from the world, ingest your videos, inspect them");
        root.Add(data);
        data.Add(MakeCommand());
        data.Add(IngestCommand());
        data.Add(InfoCommand());
        data.Add(ShowCommand());
    }

    // ------------------------------------------------------------------ make

    private static Command MakeCommand()
    {
        var episodesOption = Opt.OptionalInt("--episodes", "episodes to play, one level each", min: 1, required: true);
        var outOption = Opt.Text("--out", "the dataset folder to write", "DIR", required: true);
        var worldOption = Opt.String("--world", "platformer", "the world to play", "WORLD", "platformer");
        var agentOption = WorldCommands.AgentOption("random",
            "random (sticky actions held 2-8 steps), explorer (holds a direction 10-30 steps, jumps when blocked and now " +
            "and then: a held button keeps the player moving) or expert (plans with the world's physics)");
        var holdOption = Opt.Text("--hold", "steps the random agent holds each action, or the explorer each direction (default 2-8 and " +
            "10-30); long holds give video in which a button stays down, as a player holds one", "MIN-MAX");
        var purposefulOption = Opt.Flag("--purposeful", "explorer only: start each level going right, turn around at a wall a jump " +
            "does not get over instead of pushing against it for the rest of the hold, and keep pauses and looks back (left) short " +
            "(most of the plain explorer's 'left' presses push against the level's left border and move nothing)");
        var difficultyOption = WorldCommands.DifficultyOption();
        var sizeOption = WorldCommands.SizeOption();
        var seedOption = Opt.Int("--seed", 0, "episode i plays a level seed drawn from (seed, i)", min: 0);
        var maxStepsOption = Opt.Int("--max-steps", 1000, "step limit per episode", min: 1);
        var ticksOption = Opt.Int("--ticks-per-frame", 1, "action repeat: world ticks per recorded frame, one action held for all", min: 1);
        var viewTilesOption = Opt.Double("--view-tiles", 13, "tiles visible across the frame (13, as CoinRun)");
        var cameraStepOption = Opt.Int("--camera-step", 0, "move the camera only in whole steps of this many pixels (0: follow smoothly); " +
            "with --view-tiles = width / step, tiles line up with a step-pixel grid in every frame", min: 0);
        var parallaxOption = Opt.Double("--parallax", 1, "scale of the background layers' parallax, 0..1 (0: background fixed to the screen)");
        var animateOption = Opt.Flag("--animate-per-frame", "animations (walk cycle, lava, saws, coin) advance one phase per recorded frame " +
            "instead of per tick, so the next frame's pose follows from the frame and latent actions need not encode it");
        var valOption = Opt.Double("--val-fraction", 0.05, "share of episodes held out for validation, [0, 1)");
        var fpsOption = Opt.Double("--fps", 10, "frame rate recorded in the manifest (the world ticks once per frame)");
        var threadsOption = Opt.Threads(Environment.ProcessorCount);
        var overwriteOption = Opt.Flag("--overwrite", "replace DIR if it exists (otherwise an existing DIR is an error)");
        var cmd = new Command("make",
            "generate a dataset of gameplay video with true actions from a world\n" +
            "Plays N episodes (one level each) and writes DIR/manifest.json and DIR/episodes/NNNNNN.{frames,actions}.npy.\n" +
            "Deterministic for a seed, whatever the thread count.")
        {
            episodesOption, outOption, worldOption, agentOption, holdOption, purposefulOption, difficultyOption, sizeOption, seedOption, maxStepsOption, ticksOption,
            viewTilesOption, cameraStepOption, parallaxOption, animateOption, valOption, fpsOption, threadsOption, overwriteOption,
        };
        cmd.SetAction(p =>
        {
            string agentName = WorldCommands.ParseAgent(p.GetValue(agentOption)!);
            (int Min, int Max)? hold = p.GetValue(holdOption) is { } holdText ? ParseHold(holdText) : null;
            if (hold is not null && agentName == "expert") throw new UsageException("--hold sets how long the random and explorer agents hold their buttons; the expert plans its own");
            bool purposeful = p.GetValue(purposefulOption);
            if (purposeful && agentName != "explorer") throw new UsageException($"--purposeful changes the explorer agent; the {agentName} agent has no such setting");
            var (w, h) = WorldCommands.ParseSize(p.GetValue(sizeOption)!);
            var settings = new PlatformerSettings
            {
                Width = w, Height = h, Difficulty = WorldCommands.ParseDifficulty(p.GetValue(difficultyOption)!), MaxSteps = p.GetValue(maxStepsOption),
                TicksPerStep = p.GetValue(ticksOption), ViewTiles = p.GetValue(viewTilesOption), CameraStep = p.GetValue(cameraStepOption),
                Parallax = p.GetValue(parallaxOption), AnimatePerFrame = p.GetValue(animateOption),
            };
            return Make(p.GetValue(worldOption)!, p.GetValue(episodesOption)!.Value, p.GetValue(outOption)!, agentName, hold, purposeful, settings, (ulong)p.GetValue(seedOption),
                p.GetValue(valOption), p.GetValue(fpsOption), p.GetValue(threadsOption), p.GetValue(overwriteOption), CommandText.Of(p));
        });
        return cmd;
    }

    private static int Make(string world, int episodes, string outDir, string agentName, (int Min, int Max)? hold, bool purposeful, PlatformerSettings settings,
        ulong seed, double valFraction, double fps, int threads, bool overwrite, string commandLine)
    {
        var difficulty = settings.Difficulty;
        int w = settings.Width, h = settings.Height;
        if (world != "platformer") throw new UsageException($"unknown world '{world}' (available: platformer)");
        if (!(valFraction >= 0 && valFraction < 1)) throw new UsageException($"--val-fraction must be in [0, 1), got {valFraction}");
        if (!(fps > 0)) throw new UsageException($"--fps must be positive, got {fps}");

        try { settings.Validate(); } catch (ArgumentException e) { throw new UsageException(e.Message); }
        var details = new JsonObject
        {
            ["world"] = world,
            ["agent"] = agentName,
            ["agent_hold"] = hold is { } hh ? $"{hh.Min}-{hh.Max}" : agentName == "random" ? "2-8" : agentName == "explorer" ? "10-30" : null,
            ["agent_purposeful"] = agentName == "explorer" ? purposeful : null,
            ["settings"] = JsonSerializer.SerializeToNode(settings, SettingsJson),
            ["episode_seeds"] = "episode i: level and agent seeds from Episodes.Seeds(seed, i)",
            ["command"] = commandLine,
        };
        using var writer = new DatasetWriter(outDir, new DatasetDescription
        {
            Source = "world", Height = h, Width = w, Fps = fps, Seed = seed, ActionCount = PlatformerActions.Count,
            ActionNames = PlatformerActions.Names.ToList(), Details = details, ValidationFraction = valFraction,
        }, overwrite);

        using var cancel = CancelOnCtrlC();
        var bar = new ProgressBar($"data make {agentName}/{difficulty.ToString().ToLowerInvariant()}", episodes, "episodes");
        var clock = Stopwatch.StartNew();
        long frames = 0;
        int done = 0, solved = 0;
        try
        {
            Parallel.For(0, episodes, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancel.Token },
                () => new PlatformerWorld(settings),
                (i, _, world) =>
                {
                    var (levelSeed, agentSeed) = Episodes.Seeds(seed, (int)i);
                    var (rgb, actions, result) = Episodes.Record(world, AgentRegistry.Create(agentName, agentSeed, hold, purposeful), levelSeed);
                    writer.WriteEpisode((int)i, rgb, actions, new JsonObject
                    {
                        ["level_seed"] = levelSeed, ["success"] = result.Success, ["end"] = result.Reason.ToString(), ["steps"] = result.Steps,
                    });
                    if (result.Success) Interlocked.Increment(ref solved);
                    long f = Interlocked.Add(ref frames, actions.Length);
                    bar.Report(Interlocked.Increment(ref done), f);
                    return world;
                },
                _ => { });
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("\ngenie data make: interrupted; nothing was written");
            return 130;
        }
        bar.Done(done, frames);
        var manifest = writer.Commit();
        double secs = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"wrote {outDir}: {manifest.EpisodeCount} episodes ({manifest.TrainEpisodes} train, {manifest.ValidationEpisodes} validation), " +
                          $"{manifest.FrameCount:N0} frames of {w}x{h} in {secs:F1} s ({manifest.FrameCount / secs:N0} frames/s); " +
                          $"the agent reached the coin in {solved} ({100.0 * solved / episodes:F1}%)");
        return 0;
    }

    // ------------------------------------------------------------------ ingest

    private static Command IngestCommand()
    {
        var inputs = new Argument<string[]>("VIDEO_OR_DIR") { Description = "video files, or directories searched for video files", Arity = ArgumentArity.ZeroOrMore };
        var outOption = Opt.Text("--out", "the dataset folder to write", "DIR", required: true);
        var fpsOption = Opt.Double("--fps", 10, "frame rate to resample to, (0, 240]");
        var sizeOption = WorldCommands.SizeOption();
        var fitOption = PlayCommands.FitOption("crop (fill the frame, cut the edges), letterbox (black bars) or stretch");
        var maxFramesOption = Opt.Int("--max-frames", 1000, "cut episodes every this many frames", min: 1);
        var minFramesOption = Opt.Int("--min-frames", 16, "drop pieces shorter than this", min: 1);
        var sceneOption = Opt.Double("--scene-threshold", 0.5, "colour-histogram change that counts as a cut, 0..1 (0 = never cut)");
        var valOption = Opt.Double("--val-fraction", 0.05, "share of episodes held out for validation, [0, 1)");
        var seedOption = Opt.Int("--seed", 0, "seed of the validation split", min: 0);
        var ffmpegOption = Opt.String("--ffmpeg", "ffmpeg", "the ffmpeg program (a bare name is looked up on the PATH)", "PATH");
        var overwriteOption = Opt.Flag("--overwrite", "replace DIR if it is an earlier dataset");
        var cmd = new Command("ingest",
            "turn your own videos into a dataset (frames only) with ffmpeg\n" +
            "Decodes each file with ffmpeg (directories are searched for video files), resamples to --fps, resizes to\n" +
            "--size, cuts episodes at scene changes and every --max-frames frames, drops pieces shorter than\n" +
            "--min-frames, and writes the same format as `data make` without actions. A file that fails to decode is\n" +
            "reported and skipped. The dataset appears only when complete.")
        { inputs, outOption, fpsOption, sizeOption, fitOption, maxFramesOption, minFramesOption, sceneOption, valOption, seedOption, ffmpegOption, overwriteOption };
        cmd.SetAction(p => Ingest(p.GetValue(inputs)!, p.GetValue(outOption)!, p.GetValue(fpsOption), WorldCommands.ParseSize(p.GetValue(sizeOption)!),
            p.GetValue(fitOption)!, p.GetValue(maxFramesOption), p.GetValue(minFramesOption), p.GetValue(sceneOption), p.GetValue(valOption),
            (ulong)p.GetValue(seedOption), p.GetValue(ffmpegOption)!, p.GetValue(overwriteOption)));
        return cmd;
    }

    private static int Ingest(string[] inputs, string outDir, double fps, (int, int) size, string fitText, int maxFrames, int minFrames,
        double scene, double valFraction, ulong seed, string ffmpeg, bool overwrite)
    {
        var (w, h) = size;
        if (inputs.Length == 0) throw new UsageException("give at least one video file or directory");
        if (!Enum.TryParse<FitMode>(fitText, ignoreCase: true, out var fit) || int.TryParse(fitText, out _))
            throw new UsageException($"--fit must be crop, letterbox or stretch, got '{fitText}'");
        if (!(fps > 0 && fps <= 240)) throw new UsageException($"--fps must be in (0, 240], got {fps}");
        if (minFrames > maxFrames) throw new UsageException($"--min-frames ({minFrames}) is larger than --max-frames ({maxFrames})");
        if (!(scene >= 0 && scene <= 1)) throw new UsageException($"--scene-threshold must be in [0, 1], got {scene}");
        if (!(valFraction >= 0 && valFraction < 1)) throw new UsageException($"--val-fraction must be in [0, 1), got {valFraction}");

        var files = VideoIngest.ExpandInputs(inputs);
        var options = new IngestOptions
        {
            Fps = fps, Width = w, Height = h, Fit = fit, MaxFrames = maxFrames, MinFrames = minFrames, SceneThreshold = scene,
            ValidationFraction = valFraction, Seed = seed, Overwrite = overwrite, Ffmpeg = ffmpeg,
        };
        using var cancel = CancelOnCtrlC();
        var bar = new ProgressBar("data ingest", files.Count, "files");
        var clock = Stopwatch.StartNew();
        IngestReport report;
        try
        {
            report = VideoIngest.Run(files, outDir, options,
                log: bar.Note,
                progress: (file, frames) => bar.Report(file, frames),
                cancel: cancel.Token);
        }
        catch (FfmpegNotFoundException e)
        {
            Console.Error.WriteLine($"genie data ingest: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("genie data ingest: interrupted; nothing was written");
            return 130;
        }
        bar.Done(files.Count, report.Frames);
        Console.WriteLine($"wrote {outDir}: {report.Episodes} episodes, {report.Frames:N0} frames of {w}x{h} at {fps:0.##} fps " +
                          $"from {report.Files - report.FilesSkipped} of {report.Files} files in {clock.Elapsed.TotalSeconds:F1} s" +
                          (report.FilesSkipped > 0 ? $"; {report.FilesSkipped} skipped (see above)" : "") +
                          (report.PiecesDropped > 0 ? $"; {report.PiecesDropped} pieces shorter than {minFrames} frames dropped" : ""));
        return 0;
    }

    // ------------------------------------------------------------------ info / show

    private static Command InfoCommand()
    {
        var dir = new Argument<string>("DIR") { Description = "the dataset folder" };
        var jsonOption = Opt.Flag("--json", "print the manifest without its episode list");
        var cmd = new Command("info",
            "summarise a dataset\n" +
            "Source, frame size, fps, episodes and frames per split, episode lengths, and (with actions) how often\n" +
            "each action occurs.")
        { dir, jsonOption };
        cmd.SetAction(p => Info(p.GetValue(dir)!, p.GetValue(jsonOption)));
        return cmd;
    }

    private static int Info(string dir, bool json)
    {
        using var ds = Dataset.Open(dir);
        var m = ds.Manifest;
        if (json)
        {
            Console.WriteLine((m with { Episodes = new() }).ToJson());
            return 0;
        }
        Console.WriteLine($"{ds.Directory}: {m.Source} dataset, {m.Width}x{m.Height} RGB at {m.Fps:0.##} fps, seed {m.Seed}, created {m.Created}");
        if (m.Details != null) Console.WriteLine($"  {string.Join(", ", m.Details.Where(kv => kv.Value is JsonValue).Select(kv => $"{kv.Key}: {kv.Value}"))}");
        foreach (var (name, ids) in new[] { ("train", ds.Train), ("validation", ds.Validation) })
        {
            var lens = ids.Select(i => ds.Episodes[i].Length).ToList();
            Console.WriteLine(lens.Count == 0 ? $"  {name}: no episodes"
                : $"  {name}: {lens.Count} episodes, {lens.Sum(l => (long)l):N0} frames (length min {lens.Min()}, median {lens.Order().ElementAt(lens.Count / 2)}, max {lens.Max()})");
        }
        if (ds.HasActions)
        {
            var counts = new long[ds.ActionCount];
            for (int e = 0; e < ds.Episodes.Count; e++)
                foreach (int act in ds.Actions(e)!) if (act >= 0) counts[act]++;
            long total = counts.Sum();
            Console.WriteLine($"  actions ({m.ActionAlignment}):");
            for (int i = 0; i < counts.Length; i++)
                Console.WriteLine($"    {i} {m.ActionNames?.ElementAtOrDefault(i) ?? "?",-11} {counts[i],10:N0}  {100.0 * counts[i] / Math.Max(1, total),5:F1}%");
            var ends = ds.Episodes.Select(e => e.Info?["end"]?.ToString()).Where(s => s != null).GroupBy(s => s).Select(g => $"{g.Key} {g.Count()}").ToList();
            if (ends.Count > 0) Console.WriteLine($"  episodes ended: {string.Join(", ", ends)}");
        }
        return 0;
    }

    private static Command ShowCommand()
    {
        var dir = new Argument<string>("DIR") { Description = "the dataset folder" };
        var outOption = Opt.Text("--out", "an animated GIF (at the dataset's fps) or a PNG contact sheet of every 4th frame", "FILE.gif|FILE.png", required: true);
        var episodeOption = Opt.Int("--episode", 0, "the episode", min: 0);
        var startOption = Opt.Int("--start", 0, "the first frame", min: 0);
        var framesOption = Opt.Int("--frames", 400, "frames to show (at most the rest of the episode)", min: 1);
        var scaleOption = Opt.Int("--scale", 4, "enlargement with crisp pixels", min: 1);
        var cmd = new Command("show", "write an episode of a dataset as a GIF or a PNG contact sheet")
            { dir, outOption, episodeOption, startOption, framesOption, scaleOption };
        cmd.SetAction(p => Show(p.GetValue(dir)!, p.GetValue(outOption)!, p.GetValue(episodeOption), p.GetValue(startOption), p.GetValue(framesOption), p.GetValue(scaleOption)));
        return cmd;
    }

    private static int Show(string dir, string outPath, int episode, int start, int count, int scale)
    {
        bool gif = outPath.EndsWith(".gif", StringComparison.OrdinalIgnoreCase);
        if (!gif && !outPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException("--out must end in .gif or .png");
        using var ds = Dataset.Open(dir);
        if (episode >= ds.Episodes.Count) throw new UsageException($"--episode {episode}: the dataset has {ds.Episodes.Count} episodes (0..{ds.Episodes.Count - 1})");
        int len = ds.Episodes[episode].Length;
        if (start >= len) throw new UsageException($"--start {start}: episode {episode} has {len} frames");
        count = Math.Min(count, len - start);
        var frames = Enumerable.Range(start, count).Select(t => Resize.Scale(new Image(ds.Width, ds.Height, ds.ReadFrame(episode, t)), scale)).ToList();
        if (gif) GifWriter.Save(outPath, frames, (int)Math.Max(1, Math.Round(100 / ds.Fps)));
        else Png.Save(Image.Grid(frames.Where((_, i) => i % 4 == 0).ToList(), 10, 2, (40, 40, 40)), outPath);
        Console.WriteLine($"wrote {outPath}: episode {episode}, frames {start}..{start + count - 1}");
        return 0;
    }

    /// <summary>A token cancelled by the first Ctrl+C (so writers can remove their temporary files); a second one kills.</summary>
    private static CancellationTokenSource CancelOnCtrlC()
    {
        var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler? handler = null;
        handler = (_, e) =>
        {
            if (cts.IsCancellationRequested) return;
            e.Cancel = true;
            Console.Error.WriteLine("\ninterrupted: cleaning up (press Ctrl+C again to kill)");
            cts.Cancel();
        };
        Console.CancelKeyPress += handler;
        return cts;
    }
}
