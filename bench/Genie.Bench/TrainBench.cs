using System.Diagnostics;
using System.Text.Json;
using Genie.Core;
using Genie.Data;
using Genie.Engine;
using Genie.Engine.Optim;
using Genie.Models;
using Genie.Models.Training;

namespace Genie.Bench;

/// <summary>
/// `genie bench train`: milliseconds per full training step (forward, backward, gradient clipping, AdamW) of
/// each stage at a config's sizes, on synthetic frames (the loader is not timed). The PyTorch counterpart for
/// comparison is tools/bench/torch_train.py.
/// </summary>
public static class TrainBench
{
    /// <summary>Result of one timed stage.</summary>
    public sealed record Result(string Name, string Config, double MsMedian, double MsMin, int Steps, double FramesPerSecond);

    /// <summary>Times both stages; prints a table or JSON lines.</summary>
    public static int Run(GenieConfig cfg, int steps, int warmup, bool json, TextWriter output)
    {
        var results = new List<Result>
        {
            TimeTokenizer(cfg, steps, warmup),
            TrimThen(() => TimeDynamics(cfg, steps, warmup)),

        };
        foreach (var r in results)
        {
            if (json)
                output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["name"] = r.Name, ["config"] = r.Config, ["ms_median"] = Math.Round(r.MsMedian, 2), ["ms_min"] = Math.Round(r.MsMin, 2),
                    ["steps"] = r.Steps, ["frames_per_s"] = Math.Round(r.FramesPerSecond, 1), ["threads"] = Engine.Parallel.Workers.ThreadCount,
                }));
            else
                output.WriteLine($"{r.Name,-28} config {r.Config,-8} {r.MsMedian,9:0.0} ms/step (min {r.MsMin:0.0})  {r.FramesPerSecond,7:0.0} frames/s  over {r.Steps} steps");
        }
        return 0;
    }

    // The pool keeps the first stage's buffers; hand them back before the second stage sizes its own.
    private static Result TrimThen(Func<Result> next)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Engine.Memory.BufferPool.Trim();
        return next();
    }

    private static ClipBatch Synthetic(GenieConfig cfg, TrainConfig train, ulong seed)
    {
        var rng = new Rng(seed);
        var frames = new byte[train.BatchSize * train.ClipLength * cfg.Height * cfg.Width * 3];
        for (int i = 0; i < frames.Length; i++) frames[i] = (byte)rng.NextInt(256);
        return ClipBatch.FromFrames(frames, null, train.BatchSize, train.ClipLength, cfg.Height, cfg.Width);
    }

    private static Result Time(string name, GenieConfig cfg, TrainConfig train, IReadOnlyList<Tensor> parameters, int steps, int warmup, Func<Tensor> loss)
    {
        var opt = new AdamW(parameters) { Beta1 = train.Beta1, Beta2 = train.Beta2, WeightDecay = train.WeightDecay };   // as the trainers
        var times = new List<double>();
        for (int i = 0; i < warmup + steps; i++)
        {
            var sw = Stopwatch.StartNew();
            using (new TensorScope())
            {
                loss().Backward();
                GradClip.ClipGlobalNorm(parameters, train.GradClip);
                opt.Step(1e-4f);
                opt.ZeroGrad();
            }
            if (i >= warmup) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        double median = times[times.Count / 2];
        return new Result(name, cfg.Name, median, times[0], steps, train.BatchSize * train.ClipLength / (median / 1000));
    }

    /// <summary>Tokenizer stage: encoder, quantiser, decoder, MSE + VQ loss.</summary>
    public static Result TimeTokenizer(GenieConfig cfg, int steps, int warmup)
    {
        var tok = new VideoTokenizer(cfg, new Rng(1));
        var batch = Synthetic(cfg, cfg.TrainTokenizer, 2);
        return Time("train_tokenizer", cfg, cfg.TrainTokenizer, tok.Parameters(), steps, warmup, () => TokenizerTrainer.Losses(tok, batch).Loss);
    }

    /// <summary>Stage 2: frozen tokenizer encode + LAM + dynamics, both trained.</summary>
    public static Result TimeDynamics(GenieConfig cfg, int steps, int warmup)
    {
        var genie = new GenieModel(cfg, new Rng(1));
        var batch = Synthetic(cfg, cfg.TrainDynamics, 3);
        var rng = new Rng(4);
        var trainable = genie.Lam.Parameters().Concat(genie.Dynamics.Parameters()).ToList();
        return Time("train_lam_dynamics", cfg, cfg.TrainDynamics, trainable, steps, warmup, () => DynamicsTrainer.Losses(genie, batch, rng).Loss);
    }
}
