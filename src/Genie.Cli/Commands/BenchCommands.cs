namespace Genie.Cli.Commands;

/// <summary>`genie bench ...`: throughput measurements (the code lives in bench/Genie.Bench).</summary>
public static class BenchCommands
{
    /// <summary>Adds this area's commands to <paramref name="commands"/>.</summary>
    public static void Register(List<Command> commands)
    {
        commands.Add(new Command("bench kernels", "FMA peak, GEMM and attention GFLOP/s on this machine",
            "usage: genie bench kernels [--json] [--quick] [--threads N]\n" +
            "  Measures this machine's fp32 FMA peak with a register-only loop on all cores, then GEMM\n" +
            "  (NN, NT, TN at M=N=K in 64..2048) and fused attention (spatial and temporal shapes).\n" +
            "  --json     one JSON object per line: name, gflops, peak_gflops, fraction_of_peak\n" +
            "  --quick    fewer sizes and repetitions (a smoke test)\n" +
            "  --threads  kernel threads (default: all cores)",
            argv =>
            {
                var a = new Args(argv, "json", "quick");
                bool json = a.Flag("json"), quick = a.Flag("quick");
                int threads = a.Int("threads", Genie.Engine.Parallel.Workers.ThreadCount);
                a.RejectUnknown();
                Genie.Engine.Parallel.Workers.ThreadCount = threads;
                return Genie.Bench.KernelBench.Run(json, quick);
            }));

        commands.Add(new Command("bench train", "milliseconds per training step of each stage",
            "usage: genie bench train [--config small] [--set key=value ...] [--steps 10] [--warmup 2] [--json] [--threads N]\n" +
            "  Times full training steps (forward, backward, clipping, AdamW) of the tokenizer and of the latent\n" +
            "  action model + dynamics at the config's sizes, on synthetic frames.\n" +
            "  --json  one JSON object per line: name, config, ms_median (plus ms_min, steps, frames_per_s, threads)",
            argv =>
            {
                var a = new Args(argv, "json");
                var config = Genie.Models.GenieConfig.Load(a.Get("config", "small")!, a.All("set"));
                int steps = a.Int("steps", 10), warmup = a.Int("warmup", 2);
                bool json = a.Flag("json");
                int threads = a.Int("threads", Genie.Engine.Parallel.Workers.ThreadCount);
                a.RejectUnknown();
                Genie.Engine.Parallel.Workers.ThreadCount = threads;
                return Genie.Bench.TrainBench.Run(config, steps, warmup, json, Console.Out);
            }));

        commands.Add(new Command("bench play", "frames/s and ms per frame of interactive play at rollout lengths 16, 100, 1000",
            "usage: genie bench play [--run RUN] [--config small] [--steps 25] [--lengths 16,100,1000] [--window 16] [--json]\n" +
            "                        [--profile] [--threads N]\n" +
            "  Times GenieSession (cached temporal keys/values, MaskGIT, decoding, the sliding window) as the play page and\n" +
            "  `genie rollout` use it. At each rollout length L it times the last --window frames of one L-frame rollout\n" +
            "  (earlier frames are generated with 1 MaskGIT step to get there sooner; a frame's cost depends on the\n" +
            "  rollout's length, not on its content). Each frame = the window slide (which the play page does while the\n" +
            "  player looks at the frame) + the step (the latency of a key press).\n" +
            "  --run      time a trained model (default: a randomly initialised model of --config; speed does not depend\n" +
            "             on training)\n" +
            "  --json     one JSON object per line: name, fps, ms_per_frame, rollout_length (plus ms_keypress, ms_slide...)\n" +
            "  --profile  print the kernel profile (GENIE_PROFILE) of each length's timed frames to stderr",
            argv =>
            {
                var a = new Args(argv, "json", "profile");
                string? run = a.Get("run");
                string? configName = a.Get("config");
                var sets = a.All("set");
                int steps = a.Int("steps", 25);
                string lengthsText = a.Get("lengths", "16,100,1000")!;
                int window = a.Int("window", 16);
                bool json = a.Flag("json"), profile = a.Flag("profile");
                int threads = a.Int("threads", Genie.Engine.Parallel.Workers.ThreadCount);
                a.RejectUnknown();
                if (run is not null && (configName is not null || sets.Count > 0)) throw new UsageException("--run times that model; leave out --config and --set");
                if (steps < 1 || steps > 100) throw new UsageException($"--steps must be in 1..100, got {steps}");
                if (window < 1) throw new UsageException($"--window must be positive, got {window}");
                var lengths = new List<int>();
                foreach (var part in lengthsText.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                    lengths.Add(int.TryParse(part, out int l) && l >= 1 ? l : throw new UsageException($"--lengths: '{part}' is not a positive number"));
                if (lengths.Count == 0) throw new UsageException("--lengths is empty");
                Genie.Engine.Parallel.Workers.ThreadCount = threads;
                Genie.Models.GenieModel model;
                string label;
                if (run is not null)
                {
                    model = Genie.Models.GenieModel.Load(run);
                    label = $"trained {run}";
                }
                else
                {
                    var config = Genie.Models.GenieConfig.Load(configName ?? "small", sets);
                    model = new Genie.Models.GenieModel(config, new Genie.Core.Rng(0));
                    label = $"random-init {config.Name}";
                }
                return Genie.Bench.PlayBench.Run(model, label, steps, lengths, Math.Min(window, lengths.Min()), json, profile, Console.Out, Console.Error);
            }));
    }
}
