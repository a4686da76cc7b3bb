using System.CommandLine;
using System.Diagnostics;
using System.Text;
using Genie.Media;
using Genie.Worlds.Agents;
using Genie.Worlds.Platformer;

namespace Genie.Cli.Commands;

/// <summary>`genie world ...`: see, play, evaluate and time the platformer world.</summary>
public static class WorldCommands
{
    /// <summary>Adds this area's commands to <paramref name="root"/>.</summary>
    public static void Register(RootCommand root)
    {
        var world = new Command("world", "the platformer world: render, evaluate agents, play in the terminal, print maps, time it");
        root.Add(world);
        world.Add(RenderCommand());
        world.Add(EvalCommand());
        world.Add(PlayCommand());
        world.Add(MapCommand());
        world.Add(BenchCommand());
    }

    // ------------------------------------------------------------------ shared options and parsing

    /// <summary>`--difficulty easy|hard`.</summary>
    internal static Option<string> DifficultyOption(string help = "hard (enemies, varied themes, like the paper's CoinRun data) or easy") =>
        Opt.String("--difficulty", "hard", help, "easy|hard", "easy", "hard");

    /// <summary>`--size WxH`.</summary>
    internal static Option<string> SizeOption(string help = "frame size in pixels") => Opt.String("--size", "64x64", help, "WxH");

    /// <summary>`--agent NAME`, one of <see cref="AgentRegistry.Names"/>.</summary>
    internal static Option<string> AgentOption(string defaultValue, string help) =>
        Opt.String("--agent", defaultValue, help, string.Join('|', AgentRegistry.Names), [.. AgentRegistry.Names]);

    /// <summary>Parses "64x64" (also "64") into (width, height).</summary>
    internal static (int W, int H) ParseSize(string s)
    {
        var parts = s.ToLowerInvariant().Split('x');
        if (parts.Length is 1 or 2 && parts.All(p => int.TryParse(p, out int v) && v > 0))
        {
            int w = int.Parse(parts[0]), h = parts.Length == 2 ? int.Parse(parts[1]) : w;
            if (w >= 8 && h >= 8 && w <= 4096 && h <= 4096) return (w, h);
            throw new UsageException($"--size {s}: each side must be 8..4096 pixels");
        }
        throw new UsageException($"--size expects WIDTHxHEIGHT such as 64x64, got '{s}'");
    }

    internal static Difficulty ParseDifficulty(string s) => s.ToLowerInvariant() switch
    {
        "hard" => Difficulty.Hard,
        "easy" => Difficulty.Easy,
        _ => throw new UsageException($"--difficulty must be easy or hard, got '{s}'"),
    };

    internal static string ParseAgent(string s)
    {
        if (!AgentRegistry.Names.Contains(s)) throw new UsageException($"unknown agent '{s}' (choose from: {string.Join(", ", AgentRegistry.Names)})");
        return s;
    }

    // ------------------------------------------------------------------ render

    private static Command RenderCommand()
    {
        var outOption = Opt.Text("--out", "FILE.gif: an animated GIF; FILE.png: a contact sheet of every 4th frame; DIR: one PNG per frame",
            "FILE.gif|FILE.png|DIR", required: true);
        var seedOption = Opt.Int("--seed", 0, "the level", min: 0);
        var difficultyOption = DifficultyOption();
        var agentOption = AgentOption("expert", "who plays");
        var stepsOption = Opt.Int("--steps", 1000, "step limit", min: 1);
        var sizeOption = SizeOption();
        var scaleOption = Opt.OptionalInt("--scale", "enlarge each frame K times with crisp pixels for viewing (default 4 for GIF/PNG sheet, 1 for DIR)", min: 1);
        var fpsOption = Opt.Double("--fps", 15, "GIF playback rate, (0, 100]");
        var agentSeedOption = Opt.OptionalInt("--agent-seed", "seed of the agent's choices (default: the level seed)", min: 0);
        var cmd = new Command("render",
            "play a level with an agent and save it as a GIF or PNG frames\n" +
            "Plays level --seed with the agent until the episode ends or --steps steps.")
        { outOption, seedOption, difficultyOption, agentOption, stepsOption, sizeOption, scaleOption, fpsOption, agentSeedOption };
        cmd.SetAction(p => Render(p.GetValue(outOption)!, p.GetValue(seedOption), ParseDifficulty(p.GetValue(difficultyOption)!), ParseAgent(p.GetValue(agentOption)!),
            p.GetValue(stepsOption), ParseSize(p.GetValue(sizeOption)!), p.GetValue(scaleOption), p.GetValue(fpsOption), p.GetValue(agentSeedOption)));
        return cmd;
    }

    private static int Render(string outPath, int seed, Difficulty difficulty, string agentName, int steps, (int, int) size, int? scaleGiven, double fps, int? agentSeedGiven)
    {
        var (w, h) = size;
        int agentSeed = agentSeedGiven ?? seed;
        bool gif = outPath.EndsWith(".gif", StringComparison.OrdinalIgnoreCase);
        bool sheet = outPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase);
        int scale = scaleGiven ?? (gif || sheet ? 4 : 1);
        if (!(fps > 0 && fps <= 100)) throw new UsageException($"--fps must be in (0, 100], got {fps}");

        var world = new PlatformerWorld(new PlatformerSettings { Width = w, Height = h, Difficulty = difficulty, MaxSteps = steps });
        var agent = AgentRegistry.Create(agentName, (ulong)agentSeed);
        var frames = new List<Image>();
        var result = Episodes.Run(world, agent, seed, (rgb, _) => frames.Add(Image.FromRgb(w, h, rgb)));
        var shown = scale == 1 ? frames : frames.Select(f => Resize.Scale(f, scale)).ToList();

        if (gif) GifWriter.Save(outPath, shown, (int)Math.Round(100 / fps));
        else if (sheet) Png.Save(Image.Grid(shown.Where((_, i) => i % 4 == 0 || i == shown.Count - 1).ToList(), 10, 2, (40, 40, 40)), outPath);
        else
        {
            Directory.CreateDirectory(outPath);
            for (int i = 0; i < shown.Count; i++) Png.Save(shown[i], Path.Combine(outPath, $"frame{i:D5}.png"));
        }
        Console.WriteLine($"level {seed} ({difficulty.ToString().ToLowerInvariant()}), {agentName}: {(result.Success ? "reached the coin" : "ended: " + result.Reason)} " +
                          $"after {result.Steps} steps; wrote {frames.Count} frames to {outPath}");
        return 0;
    }

    // ------------------------------------------------------------------ eval

    private static Command EvalCommand()
    {
        var agentOption = AgentOption("expert", "who plays");
        var difficultyOption = DifficultyOption();
        var levelsOption = Opt.Int("--levels", 200, "levels to play", min: 1);
        var firstOption = Opt.Int("--first-seed", 0, "the first level's seed", min: 0);
        var maxStepsOption = Opt.Int("--max-steps", 1000, "step limit per episode", min: 1);
        var threadsOption = Opt.Threads(Environment.ProcessorCount);
        var jsonOption = Opt.Flag("--json", "one JSON object: success rate, steps, how episodes ended, unsolved seeds");
        var cmd = new Command("eval",
            "success rate of an agent over many levels\n" +
            "Plays levels S..S+N−1 once each and prints the share solved, the mean episode length\n" +
            "and how episodes ended. Deterministic: the same command gives the same numbers.")
        { agentOption, difficultyOption, levelsOption, firstOption, maxStepsOption, threadsOption, jsonOption };
        cmd.SetAction(p => Eval(ParseAgent(p.GetValue(agentOption)!), ParseDifficulty(p.GetValue(difficultyOption)!), p.GetValue(levelsOption),
            p.GetValue(firstOption), p.GetValue(maxStepsOption), p.GetValue(threadsOption), p.GetValue(jsonOption)));
        return cmd;
    }

    private static int Eval(string agentName, Difficulty difficulty, int levels, int first, int maxSteps, int threads, bool json)
    {

        var settings = new PlatformerSettings { Difficulty = difficulty, MaxSteps = maxSteps };
        var bar = json ? null : new ProgressBar($"eval {agentName}/{difficulty.ToString().ToLowerInvariant()}", levels, "levels");
        var clock = Stopwatch.StartNew();
        var results = Episodes.Evaluate(settings, seed => AgentRegistry.Create(agentName, (ulong)seed), first, levels, threads, n => bar?.Report(n));
        bar?.Done(levels);
        int solved = results.Count(r => r.Success);
        double rate = (double)solved / levels;
        double se = Math.Sqrt(rate * (1 - rate) / levels);
        var reasons = results.GroupBy(r => r.Reason).OrderByDescending(g => g.Count()).Select(g => (Reason: g.Key.ToString(), Count: g.Count())).ToList();
        double meanSteps = results.Average(r => r.Steps);
        double meanSolvedSteps = solved > 0 ? results.Where(r => r.Success).Average(r => r.Steps) : 0;
        if (json)
        {
            Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
            {
                agent = agentName, difficulty = difficulty.ToString().ToLowerInvariant(), levels, first_seed = first, max_steps = maxSteps,
                solved, success_rate = rate, mean_steps = meanSteps, mean_steps_solved = meanSolvedSteps,
                ended = reasons.ToDictionary(r => r.Reason, r => r.Count), seconds = clock.Elapsed.TotalSeconds,
                unsolved_seeds = results.Where(r => !r.Success).Select(r => r.LevelSeed).ToArray(),
            }));
        }
        else
        {
            Console.WriteLine($"{agentName} on {levels} {difficulty.ToString().ToLowerInvariant()} levels (seeds {first}..{first + levels - 1}): " +
                              $"solved {solved} = {rate:P1} (± {se:P1} s.e.)");
            Console.WriteLine($"  mean steps {meanSteps:F1} (solved episodes: {meanSolvedSteps:F1}); ended: {string.Join(", ", reasons.Select(r => $"{r.Reason} {r.Count}"))}");
            var failed = results.Where(r => !r.Success).Select(r => r.LevelSeed).Take(20).ToList();
            if (failed.Count > 0 && agentName == "expert") Console.WriteLine($"  unsolved seeds: {string.Join(' ', failed)}{(levels - solved > 20 ? " …" : "")}");
            Console.WriteLine($"  {clock.Elapsed.TotalSeconds:F1} s");
        }
        return 0;
    }

    // ------------------------------------------------------------------ map

    private static Command MapCommand()
    {
        var seedOption = Opt.Int("--seed", 0, "the level", min: 0);
        var difficultyOption = DifficultyOption();
        var cmd = new Command("map",
            "print a level's tile map as text\n" +
            "# ground, = crate, ~ lava, ^ saw, $ coin, e enemy (start position), P player start.")
        { seedOption, difficultyOption };
        cmd.SetAction(p => Map(p.GetValue(seedOption), ParseDifficulty(p.GetValue(difficultyOption)!)));
        return cmd;
    }

    private static int Map(int seed, Difficulty difficulty)
    {
        var level = LevelGenerator.Generate(seed, difficulty);
        Console.WriteLine(RenderMap(level));
        Console.WriteLine($"level {seed} ({difficulty.ToString().ToLowerInvariant()}): complexity {level.Complexity}, {level.Sections.Count} sections, " +
                          $"pit hazard {level.PitHazard}, {level.Enemies.Count} enemies, coin at ({level.Coin.X}, {level.Coin.Y})");
        return 0;
    }

    /// <summary>The level as text, top row first, cropped to the rows and columns that matter.</summary>
    internal static string RenderMap(Level level)
    {
        int top = 1;
        for (int y = 1; y < level.Height - 1; y++)
            for (int x = 1; x <= level.Coin.X; x++)
                if (level[x, y] != Tile.Empty) top = Math.Max(top, y);
        var sb = new StringBuilder();
        for (int y = Math.Min(level.Height - 1, top + 3); y >= 0; y--)
        {
            for (int x = 0; x <= Math.Min(level.Width - 1, level.Coin.X + 2); x++)
            {
                char c = level[x, y] switch { Tile.Wall => '#', Tile.Crate => '=', Tile.Lava => '~', Tile.Saw => '^', Tile.Coin => '$', _ => ' ' };
                if (level.Enemies.Any(e => (int)Math.Floor(e.StartX) == x && (int)e.Y == y)) c = 'e';
                if ((int)level.Start.X == x && y == (int)level.Start.Y) c = 'P';
                sb.Append(c);
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }

    // ------------------------------------------------------------------ bench

    private static Command BenchCommand()
    {
        var framesOption = Opt.Int("--frames", 20000, "frames per measurement", min: 1);
        var sizeOption = SizeOption();
        var aaOption = Opt.Int("--antialias", new PlatformerSettings().Antialias, "supersampling factor of the renderer", min: 1);
        var threadsOption = Opt.Threads(Environment.ProcessorCount);
        var jsonOption = Opt.Flag("--json", "one JSON object with the three rates");
        var cmd = new Command("bench",
            "frames per second of the world (stepping and rendering)\n" +
            "Steps a random agent through hard levels and renders every frame, on one thread and then on --threads\n" +
            "threads; also the stepping rate alone.")
        { framesOption, sizeOption, aaOption, threadsOption, jsonOption };
        cmd.SetAction(p => Bench(p.GetValue(framesOption), ParseSize(p.GetValue(sizeOption)!), p.GetValue(aaOption), p.GetValue(threadsOption), p.GetValue(jsonOption)));
        return cmd;
    }

    private static int Bench(int frames, (int, int) size, int aa, int threads, bool json)
    {
        var (w, h) = size;
        var settings = new PlatformerSettings { Width = w, Height = h, Antialias = aa };
        try { settings.Validate(); } catch (ArgumentException e) { throw new UsageException(e.Message); }

        Measure(settings, frames / 4, 1, render: true); // warm up the JIT
        double step1 = Measure(settings, frames * 5, 1, render: false);
        double render1 = Measure(settings, frames, 1, render: true);
        double renderN = Measure(settings, frames, threads, render: true);
        if (json)
            Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { width = w, height = h, antialias = aa, threads, step_only_fps = step1, render_fps_1_thread = render1, render_fps = renderN }));
        else
        {
            Console.WriteLine($"platformer {w}x{h}, antialias {aa}:");
            Console.WriteLine($"  step only, 1 thread:        {step1,12:N0} ticks/s");
            Console.WriteLine($"  step + render, 1 thread:    {render1,12:N0} frames/s");
            Console.WriteLine($"  step + render, {threads} threads:   {renderN,12:N0} frames/s");
        }
        return 0;
    }

    /// <summary>Frames (or ticks) per second of a random sticky agent playing hard levels, on <paramref name="threads"/> threads.</summary>
    internal static double Measure(PlatformerSettings settings, int frames, int threads, bool render)
    {
        int per = Math.Max(1, frames / threads);
        var clock = Stopwatch.StartNew();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            var world = new PlatformerWorld(settings, (ulong)t + 1);
            var agent = new RandomStickyAgent((ulong)t + 1);
            var rgb = new byte[settings.Width * settings.Height * 3];
            for (int i = 0; i < per; i++)
            {
                if (render) world.Render(rgb);
                if (world.Step(agent.Act(world)).Done) { world.Reset(); agent.Reset(); }
            }
        });
        return per * threads / clock.Elapsed.TotalSeconds;
    }

    // ------------------------------------------------------------------ play

    private static Command PlayCommand()
    {
        var seedOption = Opt.Int("--seed", 0, "the first level", min: 0);
        var difficultyOption = DifficultyOption();
        var sizeOption = SizeOption();
        var fpsOption = Opt.Double("--fps", 15, "ticks per second in real-time mode, (0, 60]");
        var stepOption = Opt.Flag("--step", "turn-based: each key press advances one tick (any other key: no-op)");
        var cmd = new Command("play",
            "play the platformer in this terminal\n" +
            "Draws the world with coloured half-block characters (needs a terminal with 24-bit colour).\n" +
            "Keys: ←/a and →/d set the direction you keep walking, ↓/s stops (and drops through crates),\n" +
            "      ↑/w/space jumps, r restarts the level, n goes to the next level, q or Esc quits.")
        { seedOption, difficultyOption, sizeOption, fpsOption, stepOption };
        cmd.SetAction(p => Play(p.GetValue(seedOption), ParseDifficulty(p.GetValue(difficultyOption)!), ParseSize(p.GetValue(sizeOption)!),
            p.GetValue(fpsOption), p.GetValue(stepOption)));
        return cmd;
    }

    private static int Play(int seed, Difficulty difficulty, (int, int) size, double fps, bool stepMode)
    {
        var (w, h) = size;
        if (!(fps > 0 && fps <= 60)) throw new UsageException($"--fps must be in (0, 60], got {fps}");
        if (Console.IsInputRedirected || Console.IsOutputRedirected)
        {
            Console.Error.WriteLine("genie world play: needs an interactive terminal (stdin and stdout must not be redirected).\n" +
                                    "To look at the world without one, try: genie world render --seed 0 --out run.gif");
            return 1;
        }

        var world = new PlatformerWorld(new PlatformerSettings { Width = w, Height = h, Difficulty = difficulty });
        world.Reset(seed);
        var frame = new Image(w, h);
        int direction = 0, jumpTicks = 0, lastAction = 0;
        bool dropping = false;
        string message = "";
        var tickClock = Stopwatch.StartNew();
        Console.Write("\u001b[?1049h\u001b[?25l"); // alternate screen, hide cursor
        try
        {
            while (true)
            {
                world.Render(frame.Data);
                Console.Out.Write(Ansi(frame, $"level {world.LevelSeed} · tick {world.Tick} · {PlatformerActions.Names[lastAction],-10} · {message}",
                    stepMode ? "keys: ← → ↑ ↓ (one tick each) · space jump · . wait · r restart · n next · q quit"
                             : "keys: ←/→ walk · ↓ stop · ↑/space jump · r restart · n next level · q quit"));
                Console.Out.Flush();

                // --- input
                bool quit = false, restart = false, next = false, acted = false;
                if (stepMode)
                {
                    var k = Console.ReadKey(intercept: true);
                    (direction, jumpTicks, dropping) = (0, 0, false);
                    acted = true;
                    HandleKey(k, ref direction, ref jumpTicks, ref dropping, ref quit, ref restart, ref next);
                }
                else
                {
                    while (Console.KeyAvailable)
                        HandleKey(Console.ReadKey(intercept: true), ref direction, ref jumpTicks, ref dropping, ref quit, ref restart, ref next);
                    acted = true;
                }
                if (quit) break;
                if (restart || next)
                {
                    world.Reset(next ? world.LevelSeed + 1 : world.LevelSeed);
                    (direction, jumpTicks, dropping, message) = (0, 0, false, "");
                    continue;
                }
                if (acted && !world.Done)
                {
                    lastAction = dropping ? PlatformerActions.Down
                        : jumpTicks > 0 ? (direction < 0 ? PlatformerActions.LeftJump : direction > 0 ? PlatformerActions.RightJump : PlatformerActions.Jump)
                        : direction < 0 ? PlatformerActions.Left : direction > 0 ? PlatformerActions.Right : PlatformerActions.Noop;
                    if (jumpTicks > 0) jumpTicks--;
                    var r = world.Step(lastAction);
                    if (r.Done) message = r.Success ? "you got the coin! (n: next level, r: again)" : $"ended: {r.Reason} (r: try again)";
                }
                if (!stepMode)
                {
                    long wait = (long)(1000 / fps) - tickClock.ElapsedMilliseconds;
                    if (wait > 0) Thread.Sleep((int)wait);
                    tickClock.Restart();
                }
            }
        }
        finally
        {
            Console.Write("\u001b[0m\u001b[?25h\u001b[?1049l");
        }
        return 0;
    }

    private static void HandleKey(ConsoleKeyInfo k, ref int direction, ref int jumpTicks, ref bool dropping, ref bool quit, ref bool restart, ref bool next)
    {
        switch (k.Key)
        {
            case ConsoleKey.LeftArrow or ConsoleKey.A: direction = -1; dropping = false; break;
            case ConsoleKey.RightArrow or ConsoleKey.D: direction = 1; dropping = false; break;
            case ConsoleKey.DownArrow or ConsoleKey.S: direction = 0; dropping = true; break;
            case ConsoleKey.UpArrow or ConsoleKey.W or ConsoleKey.Spacebar: jumpTicks = 3; dropping = false; break;
            case ConsoleKey.R: restart = true; break;
            case ConsoleKey.N: next = true; break;
            case ConsoleKey.Q or ConsoleKey.Escape: quit = true; break;
        }
    }

    /// <summary>The frame as 24-bit-colour half blocks (two pixel rows per text row), with two status lines.</summary>
    internal static string Ansi(Image img, string status, string help)
    {
        var sb = new StringBuilder(img.Width * img.Height * 12);
        sb.Append("\u001b[H");
        int lastFg = -1, lastBg = -1;
        for (int y = 0; y < img.Height; y += 2)
        {
            for (int x = 0; x < img.Width; x++)
            {
                int o = (y * img.Width + x) * 3;
                int fg = img.Data[o] << 16 | img.Data[o + 1] << 8 | img.Data[o + 2];
                int bg = 0;
                if (y + 1 < img.Height) { int o2 = o + img.Width * 3; bg = img.Data[o2] << 16 | img.Data[o2 + 1] << 8 | img.Data[o2 + 2]; }
                if (fg != lastFg) { sb.Append($"\u001b[38;2;{fg >> 16};{(fg >> 8) & 255};{fg & 255}m"); lastFg = fg; }
                if (bg != lastBg) { sb.Append($"\u001b[48;2;{bg >> 16};{(bg >> 8) & 255};{bg & 255}m"); lastBg = bg; }
                sb.Append('▀');
            }
            sb.Append("\u001b[0m\u001b[K\n");
            lastFg = lastBg = -1;
        }
        sb.Append(status).Append("\u001b[K\n").Append(help).Append("\u001b[K");
        return sb.ToString();
    }
}
