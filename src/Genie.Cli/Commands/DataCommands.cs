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
    // "MIN-MAX" (or one number): steps the random agent holds each action.
    private static (int Min, int Max) ParseHold(string text)
    {
        var parts = text.Split('-');
        if (parts.Length is 1 or 2 && int.TryParse(parts[0], out int min) && int.TryParse(parts[^1], out int max) && min >= 1 && max >= min && max <= 100_000)
            return (min, max);
        throw new UsageException($"--hold must be MIN-MAX steps with 1 ≤ MIN ≤ MAX (e.g. 10-30), got '{text}'");
    }

    /// <summary>Adds this area's commands to <paramref name="commands"/>.</summary>
    public static void Register(List<Command> commands)
    {
        commands.Add(new Command("data make", "generate a dataset of gameplay video with true actions from a world",
            "usage: genie data make --episodes N --out DIR [--world platformer] [--agent random|explorer|expert] [--difficulty easy|hard]\n" +
            "                       [--size WxH] [--seed S] [--max-steps N] [--ticks-per-frame K] [--val-fraction F] [--fps F]\n" +
            "                       [--view-tiles N] [--camera-step PX] [--parallax P] [--animate-per-frame] [--hold MIN-MAX]\n" +
            "                       [--threads N] [--overwrite]\n" +
            "  Plays N episodes (one level each) and writes DIR/manifest.json and DIR/episodes/NNNNNN.{frames,actions}.npy.\n" +
            "  Deterministic for a seed, whatever the thread count. Episode i plays a level seed drawn from (S, i).\n" +
            "  --agent         random (default; sticky actions held 2-8 steps), explorer (holds a direction 10-30 steps,\n" +
            "                  jumps when blocked and now and then: a held button keeps the player moving) or expert\n" +
            "                  (plans with the world's physics)\n" +
            "  --hold          steps the random agent holds each action, or the explorer each direction, MIN-MAX (default\n" +
            "                  2-8 and 10-30); long holds give video in which a button stays down, as a player holds one\n" +
            "  --difficulty    hard (default: enemies, varied themes, like the paper's CoinRun data) or easy\n" +
            "  --size          frame size (default 64x64)\n" +
            "  --max-steps     step limit per episode (default 1000)\n" +
            "  --ticks-per-frame  action repeat: world ticks per recorded frame, one action held for all (default 1)\n" +
            "  --view-tiles   tiles visible across the frame (default 13, as CoinRun)\n" +
            "  --camera-step  move the camera only in whole steps of this many pixels (default 0: follow smoothly); with\n" +
            "                 --view-tiles = width / step, tiles line up with a step-pixel grid in every frame\n" +
            "  --parallax     scale of the background layers' parallax, 0..1 (default 1; 0: background fixed to the screen)\n" +
            "  --animate-per-frame  animations (walk cycle, lava, saws, coin) advance one phase per recorded frame instead\n" +
            "                 of per tick, so the next frame's pose follows from the frame and latent actions need not\n" +
            "                 encode it\n" +
            "  --val-fraction  share of episodes held out for validation (default 0.05)\n" +
            "  --fps           frame rate recorded in the manifest (default 10; the world ticks once per frame)\n" +
            "  --overwrite     replace DIR if it exists (otherwise an existing DIR is an error)",
            MakeCommand));

        commands.Add(new Command("data ingest", "turn your own videos into a dataset (frames only) with ffmpeg",
            "usage: genie data ingest VIDEO_OR_DIR... --out DIR [--fps 10] [--size 64x64] [--fit crop|letterbox|stretch]\n" +
            "                         [--max-frames 1000] [--min-frames 16] [--scene-threshold 0.5] [--val-fraction 0.05]\n" +
            "                         [--seed S] [--ffmpeg PATH] [--overwrite]\n" +
            "  Decodes each file with ffmpeg (directories are searched for video files), resamples to --fps, resizes to\n" +
            "  --size, cuts episodes at scene changes and every --max-frames frames, drops pieces shorter than\n" +
            "  --min-frames, and writes the same format as `data make` without actions. A file that fails to decode is\n" +
            "  reported and skipped. The dataset appears only when complete.\n" +
            "  --fit              crop (default: fill the frame, cut the edges), letterbox (black bars) or stretch\n" +
            "  --scene-threshold  colour-histogram change that counts as a cut, 0..1 (default 0.5; 0 = never cut)\n" +
            "  --ffmpeg           the ffmpeg program (default: ffmpeg on the PATH)",
            IngestCommand));

        commands.Add(new Command("data info", "summarise a dataset",
            "usage: genie data info DIR [--json]\n" +
            "  Source, frame size, fps, episodes and frames per split, episode lengths, and (with actions) how often\n" +
            "  each action occurs. --json prints the manifest without its episode list.",
            InfoCommand));

        commands.Add(new Command("data show", "write an episode of a dataset as a GIF or a PNG contact sheet",
            "usage: genie data show DIR --out FILE.gif|FILE.png [--episode I] [--start T] [--frames N] [--scale K]\n" +
            "  Episode I (default 0) from frame T (default 0), N frames (default: all, at most 400), enlarged K times\n" +
            "  (default 4). A PNG sheet shows every 4th frame; a GIF plays at the dataset's fps.",
            ShowCommand));
    }

    // ------------------------------------------------------------------ make

    private static int MakeCommand(string[] argv)
    {
        var a = new Args(argv, "overwrite", "animate-per-frame");
        string world = a.Get("world", "platformer")!;
        a.Require("episodes");
        int episodes = WorldCommands.Positive(a, "episodes", 0);
        string outDir = a.Require("out");
        string agentName = WorldCommands.ParseAgent(a.Get("agent"), "random");
        (int Min, int Max)? hold = a.Get("hold") is { } holdText ? ParseHold(holdText) : null;
        if (hold is not null && agentName == "expert") throw new UsageException("--hold sets how long the random and explorer agents hold their buttons; the expert plans its own");
        var difficulty = WorldCommands.ParseDifficulty(a.Get("difficulty"));
        var (w, h) = WorldCommands.ParseSize(a.Get("size"), (64, 64));
        ulong seed = (ulong)WorldCommands.Positive(a, "seed", 0, 0);
        int maxSteps = WorldCommands.Positive(a, "max-steps", 1000);
        int ticksPerFrame = WorldCommands.Positive(a, "ticks-per-frame", 1);
        double viewTiles = a.Double("view-tiles", 13);
        int cameraStep = WorldCommands.Positive(a, "camera-step", 0, 0);
        double parallax = a.Double("parallax", 1);
        double valFraction = a.Double("val-fraction", 0.05);
        double fps = a.Double("fps", 10);
        int threads = WorldCommands.Positive(a, "threads", Environment.ProcessorCount);
        bool overwrite = a.Flag("overwrite");
        bool animatePerFrame = a.Flag("animate-per-frame");
        a.RejectUnknown();
        if (world != "platformer") throw new UsageException($"unknown world '{world}' (available: platformer)");
        if (!(valFraction >= 0 && valFraction < 1)) throw new UsageException($"--val-fraction must be in [0, 1), got {valFraction}");
        if (!(fps > 0)) throw new UsageException($"--fps must be positive, got {fps}");

        var settings = new PlatformerSettings
        {
            Width = w, Height = h, Difficulty = difficulty, MaxSteps = maxSteps, TicksPerStep = ticksPerFrame,
            ViewTiles = viewTiles, CameraStep = cameraStep, Parallax = parallax, AnimatePerFrame = animatePerFrame,
        };
        try { settings.Validate(); } catch (ArgumentException e) { throw new UsageException(e.Message); }
        var details = new JsonObject
        {
            ["world"] = world,
            ["agent"] = agentName,
            ["agent_hold"] = hold is { } hh ? $"{hh.Min}-{hh.Max}" : agentName == "random" ? "2-8" : agentName == "explorer" ? "10-30" : null,
            ["settings"] = JsonSerializer.SerializeToNode(settings, new JsonSerializerOptions
            {
                PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
                Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
            }),
            ["episode_seeds"] = "episode i: level and agent seeds from Episodes.Seeds(seed, i)",
            ["command"] = "genie data make " + string.Join(' ', argv),
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
                    var (rgb, actions, result) = Episodes.Record(world, AgentRegistry.Create(agentName, agentSeed, hold), levelSeed);
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

    private static int IngestCommand(string[] argv)
    {
        var a = new Args(argv, "overwrite");
        string outDir = a.Require("out");
        double fps = a.Double("fps", 10);
        var (w, h) = WorldCommands.ParseSize(a.Get("size"), (64, 64));
        string fitText = a.Get("fit", "crop")!;
        int maxFrames = WorldCommands.Positive(a, "max-frames", 1000);
        int minFrames = WorldCommands.Positive(a, "min-frames", 16);
        double scene = a.Double("scene-threshold", 0.5);
        double valFraction = a.Double("val-fraction", 0.05);
        ulong seed = (ulong)WorldCommands.Positive(a, "seed", 0, 0);
        string ffmpeg = a.Get("ffmpeg", "ffmpeg")!;
        bool overwrite = a.Flag("overwrite");
        a.RejectUnknown();
        if (a.Positional.Count == 0) throw new UsageException("give at least one video file or directory");
        if (!Enum.TryParse<FitMode>(fitText, ignoreCase: true, out var fit) || int.TryParse(fitText, out _))
            throw new UsageException($"--fit must be crop, letterbox or stretch, got '{fitText}'");
        if (!(fps > 0 && fps <= 240)) throw new UsageException($"--fps must be in (0, 240], got {fps}");
        if (minFrames > maxFrames) throw new UsageException($"--min-frames ({minFrames}) is larger than --max-frames ({maxFrames})");
        if (!(scene >= 0 && scene <= 1)) throw new UsageException($"--scene-threshold must be in [0, 1], got {scene}");
        if (!(valFraction >= 0 && valFraction < 1)) throw new UsageException($"--val-fraction must be in [0, 1), got {valFraction}");

        var files = VideoIngest.ExpandInputs(a.Positional);
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

    private static int InfoCommand(string[] argv)
    {
        var a = new Args(argv, "json");
        bool json = a.Flag("json");
        a.RejectUnknown();
        if (a.Positional.Count != 1) throw new UsageException("give one dataset directory");
        using var ds = Dataset.Open(a.Positional[0]);
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

    private static int ShowCommand(string[] argv)
    {
        var a = new Args(argv);
        string outPath = a.Require("out");
        int episode = WorldCommands.Positive(a, "episode", 0, 0);
        int start = WorldCommands.Positive(a, "start", 0, 0);
        int count = WorldCommands.Positive(a, "frames", 400);
        int scale = WorldCommands.Positive(a, "scale", 4);
        a.RejectUnknown();
        if (a.Positional.Count != 1) throw new UsageException("give one dataset directory");
        bool gif = outPath.EndsWith(".gif", StringComparison.OrdinalIgnoreCase);
        if (!gif && !outPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException("--out must end in .gif or .png");
        using var ds = Dataset.Open(a.Positional[0]);
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
