using System.CommandLine;
using Genie.Engine.Parallel;

namespace Genie.Cli.Commands;

/// <summary>`genie bench ...`: throughput measurements (the code lives in bench/Genie.Bench).</summary>
public static class BenchCommands
{
    /// <summary>Adds this area's commands to <paramref name="root"/>.</summary>
    public static void Register(RootCommand root)
    {
        var bench = new Command("bench", "throughput measurements: kernels, training steps, interactive play");
        root.Add(bench);
        bench.Add(Kernels());
        bench.Add(Train());
        bench.Add(Play());
    }

    private static Command Kernels()
    {
        var json = Opt.Flag("--json", "one JSON object per line: name, gflops, peak_gflops, fraction_of_peak");
        var quick = Opt.Flag("--quick", "fewer sizes and repetitions (a smoke test)");
        var threads = Opt.Threads(Workers.ThreadCount, "kernel threads (all cores unless GENIE_THREADS is set)");
        var cmd = new Command("kernels",
            "FMA peak, GEMM and attention GFLOP/s on this machine\n" +
            "Measures this machine's fp32 FMA peak with a register-only loop on all cores, then GEMM\n" +
            "(NN, NT, TN at M=N=K in 64..2048) and fused attention (spatial and temporal shapes).")
        { json, quick, threads };
        cmd.SetAction(p =>
        {
            Workers.ThreadCount = p.GetValue(threads);
            return Genie.Bench.KernelBench.Run(p.GetValue(json), p.GetValue(quick));
        });
        return cmd;
    }

    private static Command Train()
    {
        var config = Opt.String("--config", "small", "a name in configs/ or a JSON path", "NAME");
        var sets = Opt.Sets();
        var steps = Opt.Int("--steps", 10, "timed steps per stage", min: 1);
        var warmup = Opt.Int("--warmup", 2, "untimed steps first", min: 0);
        var json = Opt.Flag("--json", "one JSON object per line: name, config, ms_median (plus ms_min, steps, frames_per_s, threads)");
        var threads = Opt.Threads(Workers.ThreadCount, "kernel threads (all cores unless GENIE_THREADS is set)");
        var cmd = new Command("train",
            "milliseconds per training step of each stage\n" +
            "Times full training steps (forward, backward, clipping, AdamW) of the tokenizer and of the latent\n" +
            "action model + dynamics at the config's sizes, on synthetic frames.")
        { config, sets, steps, warmup, json, threads };
        cmd.SetAction(p =>
        {
            var cfg = Genie.Models.GenieConfig.Load(p.GetValue(config)!, p.GetValue(sets)!);
            Workers.ThreadCount = p.GetValue(threads);
            return Genie.Bench.TrainBench.Run(cfg, p.GetValue(steps), p.GetValue(warmup), p.GetValue(json), Console.Out);
        });
        return cmd;
    }

    private static Command Play()
    {
        var run = Opt.Text("--run", "time a trained model (default: a randomly initialised model of --config; speed does not depend on training)", "RUN");
        var config = Opt.String("--config", "small", "config of the randomly initialised model (a name in configs/ or a JSON path)", "NAME");
        var sets = Opt.Sets();
        var steps = Opt.Int("--steps", 25, "MaskGIT steps per frame, 1..100", min: 1);
        var lengths = Opt.String("--lengths", "16,100,1000", "rollout lengths to time, comma-separated", "L,L,...");
        var window = Opt.Int("--window", 16, "frames timed at each length (at most the shortest length)", min: 1);
        var json = Opt.Flag("--json", "one JSON object per line: name, fps, ms_per_frame, rollout_length (plus ms_keypress, ms_slide...)");
        var profile = Opt.Flag("--profile", "print the kernel profile (GENIE_PROFILE) of each length's timed frames to stderr");
        var threads = Opt.Threads(Workers.ThreadCount, "kernel threads (all cores unless GENIE_THREADS is set)");
        var cmd = new Command("play",
            "frames/s and ms per frame of interactive play at rollout lengths 16, 100, 1000\n" +
            "Times GenieSession (cached temporal keys/values, MaskGIT, decoding, the sliding window) as the play page and\n" +
            "`genie rollout` use it. At each rollout length L it times the last --window frames of one L-frame rollout\n" +
            "(earlier frames are generated with 1 MaskGIT step to get there sooner; a frame's cost depends on the\n" +
            "rollout's length, not on its content). Each frame = the window slide (which the play page does while the\n" +
            "player looks at the frame) + the step (the latency of a key press).")
        { run, config, sets, steps, lengths, window, json, profile, threads };
        cmd.SetAction(p =>
        {
            string? runDir = p.GetValue(run);
            var setList = p.GetValue(sets)!;
            int stepCount = p.GetValue(steps), windowSize = p.GetValue(window);
            if (runDir is not null && (Opt.Given(p, config) || setList.Length > 0)) throw new UsageException("--run times that model; leave out --config and --set");
            if (stepCount > 100) throw new UsageException($"--steps must be in 1..100, got {stepCount}");
            var lengthList = new List<int>();
            foreach (var part in p.GetValue(lengths)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                lengthList.Add(int.TryParse(part, out int l) && l >= 1 ? l : throw new UsageException($"--lengths: '{part}' is not a positive number"));
            if (lengthList.Count == 0) throw new UsageException("--lengths is empty");
            Workers.ThreadCount = p.GetValue(threads);
            Genie.Models.GenieModel model;
            string label;
            if (runDir is not null)
            {
                model = Genie.Models.GenieModel.Load(runDir);
                label = $"trained {runDir}";
            }
            else
            {
                var cfg = Genie.Models.GenieConfig.Load(p.GetValue(config)!, setList);
                model = new Genie.Models.GenieModel(cfg, new Genie.Core.Rng(0));
                label = $"random-init {cfg.Name}";
            }
            return Genie.Bench.PlayBench.Run(model, label, stepCount, lengthList, Math.Min(windowSize, lengthList.Min()), p.GetValue(json), p.GetValue(profile), Console.Out, Console.Error);
        });
        return cmd;
    }
}
