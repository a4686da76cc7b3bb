using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Genie.Cli.Agents;
using Genie.Cli.Report;
using Genie.Core;
using Genie.Core.IO;
using Genie.Data;
using Genie.Engine.Parallel;
using Genie.Models;
using Genie.Models.Agents;
using Genie.Play;
using Genie.Worlds.Agents;
using Genie.Worlds.Platformer;
using ScottPlot;

namespace Genie.Cli.Commands;

/// <summary>`genie agent bc`: agents from video, behaviour cloning through latent actions (paper §6, figure 15).</summary>
public static class AgentCommands
{
    /// <summary>Adds this area's commands to <paramref name="root"/>.</summary>
    public static void Register(RootCommand root)
    {
        var agent = new Command("agent", "agents that learn to play from video");
        root.Add(agent);
        agent.Add(BcCommand());
    }

    private static Command BcCommand()
    {
        var run = Opt.Text("--run", "a trained run or export whose latent action model labels the video (default models/small)", "RUN");
        var data = Opt.Text("--data", "an expert dataset with actions (default: played here with the expert, 10 % random actions, " +
            "as `genie data make --agent expert --seed 1000000+SEED` seeds it)", "EXPERT_DIR");
        var labels = Opt.String("--labels", "10,50,100,200,500,1000", "label counts: labelled transitions behind the latent→real map", "N,N,...");
        var difficulty = Opt.Text("--difficulty", "easy or hard (default: the run's data's, else easy)", "LEVEL", choices: ["easy", "hard"]);
        var seeds = Opt.Int("--seeds", 3, "repetitions (seeds 0..N−1): expert data, policy weights and labels", min: 1);
        var levels = Opt.Int("--levels", 100, "held-out levels each policy is scored on (none played by any training episode)", min: 1);
        var episodes = Opt.Int("--episodes", 100, "expert episodes per seed when no --data is given", min: 1);
        var frames = Opt.Int("--frames", 4, "frames the policies see (the current one and those before)", min: 1);
        var steps = Opt.Int("--steps", 1000, "training steps of each policy", min: 1);
        var batch = Opt.Int("--batch", 32, "transitions per training step", min: 1);
        var lr = Opt.Double("--lr", 1e-3, "learning rate of the policies (AdamW)");
        var temperature = Opt.Double("--temperature", 1.0, "the cloned policies draw each action from softmax(logits / T); 0 takes the most likely one");
        var outDir = Opt.Text("--out", "write DIR/bc.jsonl (every score), DIR/bc.md (the table) and DIR/bc.png (figure 15)", "DIR");
        var json = Opt.Flag("--json", "print one JSON object per score: policy, labels, difficulty, seed, solved_share");
        var threads = Opt.Threads(Workers.ThreadCount, "kernel threads (all cores unless GENIE_THREADS is set)");
        var cmd = new Command("bc",
            "behaviour cloning from latent actions (paper §6): imitate an expert from its video alone\n" +
            "Labels the expert's video with the run's frozen latent action model, trains a policy (the last --frames frames\n" +
            "→ ST-transformer → linear head) to predict the latent action, and maps latents to real actions with the\n" +
            "paper's dictionary from N labelled transitions (D[a]: the real actions seen with latent a, sampled at play\n" +
            "time; a latent never seen plays the most common real action). Baselines on the same levels: an oracle trained\n" +
            "on every true action, and a uniformly random policy. Scores: the share of --levels held-out levels solved\n" +
            "within the step limit, per policy, label count and seed, with 95 % intervals over seeds.")
        { run, data, labels, difficulty, seeds, levels, episodes, frames, steps, batch, lr, temperature, outDir, json, threads };
        cmd.SetAction(p =>
        {
            Workers.ThreadCount = p.GetValue(threads);
            var counts = ParseLabels(p.GetValue(labels)!);
            double rate = p.GetValue(lr);
            if (!(rate > 0 && rate <= 1)) throw new UsageException($"--lr must be in (0, 1], got {rate}");
            double temp = p.GetValue(temperature);
            if (!(temp >= 0 && temp <= 100)) throw new UsageException($"--temperature must be in [0, 100], got {temp}");
            return Run(p.GetValue(run), p.GetValue(data), counts, p.GetValue(difficulty), p.GetValue(seeds), p.GetValue(levels), p.GetValue(episodes),
                p.GetValue(frames), p.GetValue(steps), p.GetValue(batch), (float)rate, (float)temp, p.GetValue(outDir), p.GetValue(json));
        });
        return cmd;
    }

    private static int[] ParseLabels(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var counts = new List<int>();
        foreach (var s in parts)
        {
            if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < 1)
                throw new UsageException($"--labels must be positive integers separated by commas, got '{text}'");
            counts.Add(n);
        }
        if (counts.Count == 0) throw new UsageException("--labels needs at least one count");
        return counts.Distinct().Order().ToArray();
    }

    private static int Run(string? runGiven, string? dataDir, int[] labelCounts, string? difficultyGiven, int seeds, int levels, int episodes,
        int k, int steps, int batch, float lr, float temperature, string? outDir, bool json)
    {
        string? run = ModelLocator.Resolve(runGiven, out var searched);
        if (run is null) throw new UsageException($"no --run given and the default {ModelLocator.DefaultRun} is missing (looked in {string.Join(", ", searched.Distinct())}); pass --run RUN");
        if (outDir is not null && File.Exists(outDir)) throw new UsageException($"--out {outDir} is a file, not a folder");
        var genie = GenieModel.Load(run);
        var config = genie.Config;
        var (settings, runDifficulty, runManifest) = BehaviourCloning.RunWorld(run, config);
        string difficulty = (difficultyGiven ?? runDifficulty ?? "easy").ToLowerInvariant();
        settings = settings with { Difficulty = WorldCommands.ParseDifficulty(difficulty) };
        var policyConfig = new PolicyConfig(config.Height, config.Width, config.Lam.Patch, k, 2);

        // The levels every training episode played: the run's own data, the expert data of every seed.
        var seen = new HashSet<int>();
        if (runManifest?["seed"]?.GetValue<ulong>() is { } runSeed && runManifest["episode_count"]?.GetValue<int>() is { } runEpisodes)
            seen.UnionWith(HeldOutLevels.OfDataset(runSeed, runEpisodes));
        ExpertEpisodes? given = null;
        if (dataDir is not null)
        {
            given = LoadExpert(dataDir, config);
            seen.UnionWith(given.Levels);
        }
        else
            for (int s = 0; s < seeds; s++) seen.UnionWith(HeldOutLevels.OfDataset(BehaviourCloning.ExpertDataSeed(s), episodes));
        var heldOut = HeldOutLevels.Pick(12345, levels, seen);
        Console.Error.WriteLine($"agent bc: run {run}, {difficulty} levels, ticks per frame {settings.TicksPerStep}, {levels} held-out levels, " +
                                $"{seeds} seed(s), labels {string.Join(",", labelCounts)}, policy temperature {temperature}");

        var clock = Stopwatch.StartNew();
        var scores = new List<BcScore>();
        void Add(BcScore s)
        {
            scores.Add(s);
            if (json) Console.WriteLine(BehaviourCloning.JsonLine(s));
        }
        for (int seed = 0; seed < seeds; seed++)
        {
            string tag = $"seed {seed}";
            ExpertEpisodes expert;
            if (given is not null) expert = given;
            else
            {
                var bar = new ProgressBar($"{tag}: expert episodes", episodes, "episodes");
                expert = BehaviourCloning.MakeExpertData(settings, BehaviourCloning.ExpertDataSeed(seed), episodes, d => bar.Report(d));
                bar.Done(episodes);
            }
            var labelBar = new ProgressBar($"{tag}: latent actions", expert.Frames.Count, "episodes");
            var latents = BehaviourCloning.LabelWithLam(genie.Lam, config, expert, d => labelBar.Report(d));
            labelBar.Done(expert.Frames.Count);
            var trueActions = expert.Actions.Select(a => a[..^1]).ToList();
            var allLatents = latents.SelectMany(l => l).ToArray();
            var allTrue = trueActions.SelectMany(a => a).ToArray();
            if (labelCounts[^1] > expert.Transitions)
                throw new UsageException($"--labels {labelCounts[^1]} is more than the expert data's {expert.Transitions} transitions; give more --episodes");

            var latentPolicy = Train($"{tag}: train latent policy", policyConfig with { Classes = genie.NumActions }, expert, latents, steps, batch, lr, (ulong)seed * 2 + 1);
            var oracle = Train($"{tag}: train oracle", policyConfig with { Classes = PlatformerActions.Count }, expert, trueActions, steps, batch, lr, (ulong)seed * 2 + 2);

            foreach (int n in labelCounts)
            {
                var dict = BehaviourCloning.Dictionary(latents, expert, n, genie.NumActions, (ulong)seed);
                double agreement = dict.Agreement(allLatents, allTrue);
                double share = Score($"{tag}: latent, {n} labels", settings, heldOut, level =>
                {
                    var rng = new Rng((ulong)level * 31 + (ulong)seed);
                    return BehaviourCloning.PolicyAgent(latentPolicy, latent => dict.Sample(latent, rng), "latent", temperature, rng);
                }, threads: 1);
                Add(new BcScore("latent", n, difficulty, seed, share, agreement));
            }
            Add(new BcScore("oracle", null, difficulty, seed,
                Score($"{tag}: oracle", settings, heldOut, level => BehaviourCloning.PolicyAgent(oracle, a => a, "oracle", temperature,
                    new Rng((ulong)level * 31 + (ulong)seed)), threads: 1)));
            Add(new BcScore("random", null, difficulty, seed, Score($"{tag}: random", settings, heldOut, level =>
            {
                var rng = new Rng((ulong)level * 31 + (ulong)seed);
                return new FramePolicyAgent(_ => rng.NextInt(PlatformerActions.Count), 1, "random");
            }, threads: Environment.ProcessorCount)));
        }

        var table = Table(scores, labelCounts, difficulty, levels);
        if (!json) Console.Write(table);
        if (outDir is not null)
        {
            Directory.CreateDirectory(outDir);
            AtomicFile.WriteAllText(Path.Combine(outDir, "bc.jsonl"), string.Concat(scores.Select(s => BehaviourCloning.JsonLine(s) + "\n")));
            AtomicFile.WriteAllText(Path.Combine(outDir, "bc.md"), table);
            AtomicFile.WriteAllBytes(Path.Combine(outDir, "bc.png"), Plot(scores, labelCounts, difficulty, levels));
            Console.Error.WriteLine($"wrote {Path.Combine(outDir, "bc.jsonl")}, bc.md and bc.png");
        }
        Console.Error.WriteLine($"agent bc: done in {clock.Elapsed.TotalMinutes:F1} min");
        return 0;
    }

    private static PolicyNetwork Train(string label, PolicyConfig config, ExpertEpisodes data, List<int[]> targets, int steps, int batch, float lr, ulong seed)
    {
        var bar = new ProgressBar(label, steps, "steps");
        double last = double.NaN;
        var policy = BehaviourCloning.TrainPolicy(config, data, targets, steps, batch, lr, seed, (s, loss) =>
        {
            last = loss;
            bar.Report(s, (long)s * batch, "transitions");
        });
        bar.Done(steps, (long)steps * batch, "transitions");
        Console.Error.WriteLine($"{label}: final loss {last:F3}");
        return policy;
    }

    private static double Score(string label, PlatformerSettings settings, int[] levels, Func<int, IAgent> makeAgent, int threads)
    {
        var bar = new ProgressBar(label, levels.Length, "levels");
        var results = PolicyEvaluation.Run(settings, levels, makeAgent, threads, d => bar.Report(d));
        bar.Done(levels.Length);
        return PolicyEvaluation.SolvedShare(results);
    }

    private static ExpertEpisodes LoadExpert(string dir, GenieConfig config)
    {
        using var dataset = Dataset.Open(dir);
        if (!dataset.HasActions) throw new InvalidDataException($"{dir} has no actions: the oracle and the labels need the expert's true actions");
        if (dataset.Height != config.Height || dataset.Width != config.Width)
            throw new InvalidDataException($"the dataset's frames are {dataset.Width}x{dataset.Height}, the model's {config.Width}x{config.Height}");
        var frames = new List<byte[]>();
        var actions = new List<int[]>();
        var levels = new List<int>();
        foreach (var e in dataset.Episodes)
        {
            var f = new byte[e.Length * dataset.FrameBytes];
            dataset.CopyFrames(e.Index, 0, e.Length, f);
            frames.Add(f);
            actions.Add(dataset.Actions(e.Index)!);
            if (e.Info?["level_seed"]?.GetValue<int>() is { } level) levels.Add(level);
        }
        return new ExpertEpisodes(frames, actions, levels);
    }

    private static string Table(List<BcScore> scores, int[] labelCounts, string difficulty, int levels)
    {
        var sb = new System.Text.StringBuilder();
        int seeds = scores.Select(s => s.Seed).Distinct().Count();
        sb.AppendLine($"Share of {levels} held-out {difficulty} levels solved (mean ± 95 % interval over {seeds} seed(s)). Agreement: on the");
        sb.AppendLine("expert data's transitions, the chance that a draw from D[latent] is the expert's true action (mean over seeds).");
        sb.AppendLine();
        sb.AppendLine("| policy | labels | solved share | latent→true action agreement |");
        sb.AppendLine("|---|---:|---:|---:|");
        string Row(string policy, int? n)
        {
            var rows = scores.Where(s => s.Policy == policy && s.Labels == n).ToList();
            var (mean, half) = SeedInterval.Of(rows.Select(s => s.SolvedShare).ToList());
            string agree = rows.All(s => s.MappingAgreement is not null) && rows.Count > 0 ? $"{rows.Average(s => s.MappingAgreement!.Value):0.000}" : "–";
            return $"| {policy} | {(n is null ? "–" : n.ToString())} | {mean:0.000} ± {half:0.000} | {agree} |";
        }
        foreach (int n in labelCounts) sb.AppendLine(Row("latent", n));
        sb.AppendLine(Row("oracle", null));
        sb.AppendLine(Row("random", null));
        return sb.ToString();
    }

    private static byte[] Plot(List<BcScore> scores, int[] labelCounts, string difficulty, int levels)
    {
        var plot = PlotFonts.NewPlot();
        var xs = labelCounts.Select(n => Math.Log10(n)).ToArray();
        var stats = labelCounts.Select(n => SeedInterval.Of(scores.Where(s => s.Policy == "latent" && s.Labels == n).Select(s => s.SolvedShare).ToList())).ToArray();
        var line = plot.Add.Scatter(xs, stats.Select(s => s.Mean).ToArray());
        line.LegendText = "latent actions → dictionary";
        var bars = plot.Add.ErrorBar(xs, stats.Select(s => s.Mean).ToArray(), stats.Select(s => s.HalfWidth).ToArray());
        bars.Color = line.Color;
        foreach (var (policy, color) in new[] { ("oracle", Colors.Green), ("random", Colors.Gray) })
        {
            var mean = SeedInterval.Of(scores.Where(s => s.Policy == policy).Select(s => s.SolvedShare).ToList()).Mean;
            var h = plot.Add.HorizontalLine(mean, color: color, pattern: LinePattern.Dashed);
            h.LegendText = policy == "oracle" ? "oracle (every true action)" : "random";
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(xs, labelCounts.Select(n => n.ToString()).ToArray());
        plot.Axes.SetLimitsY(-0.02, 1.02);
        plot.Title($"Behaviour cloning from latent actions ({difficulty}, {levels} held-out levels)");
        plot.XLabel("labelled transitions (log scale)");
        plot.YLabel("share of levels solved");
        plot.ShowLegend(Alignment.UpperLeft);
        return plot.GetImageBytes(640, 400, ImageFormat.Png);
    }
}
