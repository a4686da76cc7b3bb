using System.Diagnostics;
using System.Text.Json;
using Genie.Core;
using Genie.Core.IO;
using Genie.Data;
using Genie.Engine;
using Genie.Engine.IO;
using Genie.Engine.Optim;
using Genie.Nn;

namespace Genie.Models.Training;

/// <summary>Progress of a training run, reported after every step.</summary>
/// <param name="Step">Steps completed.</param>
/// <param name="Total">Steps in the run.</param>
/// <param name="Loss">This step's loss.</param>
/// <param name="FramesPerSecond">Training throughput, smoothed.</param>
/// <param name="Remaining">Estimated time left.</param>
/// <param name="Message">Latest evaluation or checkpoint line, if any.</param>
public readonly record struct TrainProgress(int Step, int Total, double Loss, double FramesPerSecond, TimeSpan Remaining, string? Message);

/// <summary>Where a run's files go and how it was started.</summary>
/// <param name="RunDir">The run folder.</param>
/// <param name="Resume">Continue from the run's latest checkpoint instead of starting fresh.</param>
/// <param name="Progress">Called after every step (may be null).</param>
/// <param name="InitFrom">A new run only: start from the model weights of this run's latest checkpoint (same stage;
/// every weight of this run's model there with its shape) instead of seeded ones; the optimiser, schedule, data order and step count start fresh, as
/// for fine-tuning a trained world on other video.</param>
/// <param name="InitParts">Dynamics stage with <paramref name="InitFrom"/>: which models start from it ("lam",
/// "dynamics"; null: both); the others start from seeded weights (e.g. a new latent action model with another number
/// of actions under a trained dynamics model).</param>
/// <param name="StopAt">Stop after this step (validated and checkpointed there) though the schedule runs to the
/// configured steps: a slice of a run, to continue later with <paramref name="Resume"/> exactly as if never stopped.</param>
/// <param name="GrowDepth">Dynamics stage with <paramref name="InitFrom"/>: the init run's dynamics model may have fewer
/// blocks than this config's <c>dynamics.depth</c>; its blocks are spread over the deeper stack and the new ones start as
/// the identity (<see cref="Genie.Nn.STTransformer.GrownWeights"/>).</param>
public sealed record RunOptions(string RunDir, bool Resume, Action<TrainProgress>? Progress = null, string? InitFrom = null,
    IReadOnlyList<string>? InitParts = null, int? StopAt = null, bool GrowDepth = false);

/// <summary>
/// The training loop shared by both stages: seeded start or exact resume, warm-up + cosine learning rate,
/// AdamW, global gradient clipping, metrics as JSON lines, periodic validation, sample grids and atomic
/// checkpoints. A stage supplies the model, one training step and its evaluation.
/// </summary>
public abstract class Trainer
{
    private readonly Stopwatch _clock = new();
    private StreamWriter? _metrics;

    /// <summary>Full configuration.</summary>
    protected GenieConfig Config { get; }
    /// <summary>This stage's training settings.</summary>
    protected TrainConfig Train { get; }
    /// <summary>The run folder and start mode.</summary>
    protected RunOptions Options { get; }
    /// <summary>The training clip stream.</summary>
    protected IClipSource Source { get; }
    /// <summary>The run's random generator (masking, reseeding); saved in checkpoints.</summary>
    protected Rng Rng { get; private set; }
    /// <summary>Steps completed.</summary>
    public int Step { get; private set; }
    /// <summary>The dataset's folder, recorded in checkpoints so `--resume` can find it.</summary>
    public string? DataPath { get; set; }

    /// <summary>Stage name: "tokenizer" or "dynamics" (also the checkpoint kind).</summary>
    protected abstract string Stage { get; }
    /// <summary>The module whose weights the checkpoint holds.</summary>
    protected abstract Module Model { get; }
    /// <summary>Parameters being optimised (a subset of the model's when part is frozen).</summary>
    protected abstract IReadOnlyList<Tensor> TrainableParameters { get; }
    /// <summary>Quantisers whose usage is tracked and saved, by name.</summary>
    protected abstract IReadOnlyDictionary<string, VectorQuantizer> Quantizers { get; }

    /// <summary>Forward and backward on one batch (inside a tensor scope); returns the loss and named metrics.</summary>
    protected abstract (double Loss, Dictionary<string, double> Metrics) TrainStep(ClipBatch batch);
    /// <summary>After the optimiser step, still inside the step's tensor scope: codebook bookkeeping etc.
    /// <see cref="Step"/> already counts this step. Returns extra metrics.</summary>
    protected abstract Dictionary<string, double> AfterStep();
    /// <summary>Validation metrics.</summary>
    protected abstract Dictionary<string, double> Evaluate();
    /// <summary>Writes sample images for the current step into <paramref name="dir"/>.</summary>
    protected abstract void WriteSamples(string dir);
    /// <summary>Extra state to save (e.g. the tokenizer run path).</summary>
    protected virtual TrainingState DecorateState(TrainingState state) => state;

    private AdamW? _optimizer;

    /// <summary>Sets up a stage.</summary>
    protected Trainer(GenieConfig config, TrainConfig train, IClipSource source, RunOptions options)
    {
        Config = config;
        Train = train;
        Source = source;
        Options = options;
        Rng = new Rng(train.Seed ^ 0x5EED_0F_7124);
    }

    /// <summary>Runs to the configured number of steps (or continues a run), then evaluates and checkpoints.</summary>
    public Dictionary<string, double> Run(CancellationToken cancel = default)
    {
        _optimizer = new AdamW(TrainableParameters) { Beta1 = Train.Beta1, Beta2 = Train.Beta2, WeightDecay = Train.WeightDecay };
        PrepareRunDir();
        var schedule = new WarmupCosine(Train.Lr, Train.Warmup, Train.Steps, Train.MinLr);
        _metrics = new StreamWriter(Path.Combine(Options.RunDir, "metrics.jsonl"), append: true) { AutoFlush = true };
        try
        {
            string? message = null;
            double fps = 0;
            _clock.Restart();
            int startStep = Step;
            var last = new Dictionary<string, double>();
            int end = Math.Min(Options.StopAt ?? Train.Steps, Train.Steps);
            while (Step < end)
            {
                cancel.ThrowIfCancellationRequested();
                var t0 = _clock.Elapsed;
                double loss;
                Dictionary<string, double> m;
                float lr = schedule.At(Step);
                using (new TensorScope())
                {
                    var batch = Source.Next();
                    (loss, m) = TrainStep(batch);
                    float norm = GradClip.ClipGlobalNorm(TrainableParameters, Train.GradClip);
                    // Stop before a non-finite loss or gradient reaches the weights, so every checkpoint stays good.
                    if (!double.IsFinite(loss) || !float.IsFinite(norm))
                        throw new TrainingDivergedException(Step + 1, !double.IsFinite(loss) ? $"loss became {loss}" : $"the gradient norm became {norm}",
                            Checkpoint.Latest(Options.RunDir) is { } good ? Path.GetFileName(good) : null, Stage == "tokenizer" ? "train_tokenizer" : "train_dynamics");
                    _optimizer.Step(lr);
                    _optimizer.ZeroGrad();
                    m["grad_norm"] = norm;
                    Step++;
                    foreach (var (k, v) in AfterStep()) m[k] = v;
                    double instant = Train.BatchSize * Train.ClipLength / Math.Max(1e-9, (_clock.Elapsed - t0).TotalSeconds);
                    fps = fps == 0 ? instant : 0.8 * fps + 0.2 * instant;
                }
                m["loss"] = loss;
                m["lr"] = lr;
                m["frames_per_s"] = fps;
                if (Step % 10 == 0 || Step == 1) Log("train", m);
                bool final = Step == end;
                if ((Train.EvalEvery > 0 && Step % Train.EvalEvery == 0) || final)
                {
                    last = EvaluateAndLog();
                    message = $"step {Step}: " + string.Join(", ", last.Select(kv => $"{kv.Key} {kv.Value:0.###}"));
                }
                if ((Train.CheckpointEvery > 0 && Step % Train.CheckpointEvery == 0) || final) SaveCheckpoint();
                var perStep = _clock.Elapsed.TotalSeconds / Math.Max(1, Step - startStep);
                Options.Progress?.Invoke(new TrainProgress(Step, Train.Steps, loss, fps, TimeSpan.FromSeconds(perStep * (Train.Steps - Step)), message));
            }
            if (last.Count == 0) last = EvaluateAndLog();
            return last;
        }
        finally
        {
            _metrics.Dispose();
            _metrics = null;
        }
    }

    private Dictionary<string, double> EvaluateAndLog()
    {
        Dictionary<string, double> e;
        using (new TensorScope())
        using (Engine.Autograd.Tape.NoGrad()) e = Evaluate();
        Log("val", e);
        var samples = Path.Combine(Options.RunDir, "samples");
        Directory.CreateDirectory(samples);
        using (new TensorScope())
        using (Engine.Autograd.Tape.NoGrad()) WriteSamples(samples);
        return e;
    }

    private void Log(string split, Dictionary<string, double> values)
    {
        var line = new Dictionary<string, object> { ["step"] = Step, ["split"] = split };
        foreach (var (k, v) in values) line[k] = double.IsFinite(v) ? Math.Round(v, 6) : v.ToString();
        _metrics?.WriteLine(JsonSerializer.Serialize(line));
    }

    // ------------------------------------------------------------------ run folder and checkpoints

    private void PrepareRunDir()
    {
        var dir = Options.RunDir;
        if (Directory.Exists(dir)) Checkpoint.RemoveStaleTemps(dir);
        if (Options.Resume)
        {
            var ckpt = Checkpoint.RequireLatest(dir);
            LoadCheckpoint(ckpt);
            TruncateMetrics(Path.Combine(dir, "metrics.jsonl"), Step);
            return;
        }
        if (Directory.Exists(dir) && Checkpoint.Latest(dir) is not null)
            throw new IOException($"{dir} already holds a training run; continue it with --resume {dir}, or choose another --out");
        if (Options.InitFrom is { } init) LoadInitialWeights(init);   // before anything is written: a bad --init leaves no folder
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(Path.Combine(dir, "config.json"), Config.ToJson());
        File.Delete(Path.Combine(dir, "metrics.jsonl"));
    }

    // --init: the weights of another run of this stage, with the same model sections; nothing else of it.
    private void LoadInitialWeights(string run)
    {
        var ckpt = Checkpoint.RequireLatest(run);
        var (_, weights) = Checkpoint.LoadModel(Path.Combine(ckpt, "model.safetensors"), Stage);
        // Settings that do not change the weights (masking, loss weights, self-forcing, sampling) may differ from the
        // init run's; every weight must be there with its shape, else loading names the first that is not.
        try { LoadInitWeights(weights); }
        catch (InvalidDataException e) { throw new InvalidDataException($"--init {run}: its weights do not fit this run's model config: {e.Message}"); }
        // Trained codes count as used at step 0: a fresh quantiser re-seeds never-used codes at once, which would
        // throw away trained codes that the first batch happens not to pick.
        foreach (var q in Quantizers.Values) Array.Fill(q.LastUsed, 0L);
        _initFrom = Path.GetFullPath(ckpt);
    }

    /// <summary>Takes the trainable models' weights from an <c>--init</c> checkpoint of this stage (all of them by default).</summary>
    protected virtual void LoadInitWeights(IReadOnlyDictionary<string, (int[] Shape, float[] Data)> weights) => LoadExactly(Model, weights, "");

    /// <summary>
    /// Loads the weights under <paramref name="prefix"/> into <paramref name="module"/>, refusing a checkpoint that
    /// lacks one of its weights, has one of another shape, or has more under the prefix (a deeper model, say).
    /// </summary>
    protected static void LoadExactly(Module module, IReadOnlyDictionary<string, (int[] Shape, float[] Data)> weights, string prefix)
    {
        var names = module.NamedParameters(prefix).Select(p => p.Name).ToHashSet();
        if (weights.Keys.FirstOrDefault(k => k.StartsWith(prefix, StringComparison.Ordinal) && !names.Contains(k)) is { } extra)
            throw new InvalidDataException($"the checkpoint has weight '{extra}', which this model does not (another architecture?)");
        module.LoadWeights(weights, prefix);
    }

    private string? _initFrom;

    /// <summary>
    /// On resume: drops the lines of <paramref name="path"/> logged after <paramref name="step"/> (the steps the run
    /// will now replay, which would otherwise appear twice) and a torn last line; rewritten atomically.
    /// </summary>
    public static void TruncateMetrics(string path, int step)
    {
        if (!File.Exists(path)) return;
        var lines = File.ReadAllLines(path);
        var kept = lines.Where(line =>
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
                return doc.RootElement.TryGetProperty("step", out var s) && s.TryGetInt32(out int at) && at <= step;
            }
            catch (JsonException) { return false; }
        }).ToList();
        if (kept.Count == lines.Length) return;
        AtomicFile.WriteAllText(path, kept.Count == 0 ? "" : string.Join("\n", kept) + "\n");
    }

    private void SaveCheckpoint()
    {
        var state = DecorateState(new TrainingState
        {
            Stage = Stage,
            Step = Step,
            Rng = Rng.State,
            DataState = Source.GetState(),
            Data = DataPath,
            InitFrom = _initFrom,
            CodebookLastUsed = Quantizers.ToDictionary(q => q.Key, q => (long[])q.Value.LastUsed.Clone()),
        });
        Checkpoint.Write(Options.RunDir, Step, dir =>
        {
            Checkpoint.SaveModel(Path.Combine(dir, "model.safetensors"), Model, Stage, Config);
            SafeTensors.Save(Path.Combine(dir, "optimizer.safetensors"), _optimizer!.StateTensors(), SafeTensorsDType.F32,
                new Dictionary<string, string> { ["step_count"] = _optimizer.StepCount.ToString() });
            Checkpoint.SaveState(Path.Combine(dir, "state.json"), state);
        });
    }

    private void LoadCheckpoint(string dir)
    {
        var (config, weights) = Checkpoint.LoadModel(Path.Combine(dir, "model.safetensors"), Stage);
        // The model sections must match; the training sections may change (e.g. more steps).
        if (config with { TrainTokenizer = Config.TrainTokenizer, TrainDynamics = Config.TrainDynamics, Name = Config.Name } != Config)
            throw new InvalidDataException($"{dir} was trained with a different model config than the one given now; resume with the run's own config.json");
        Model.LoadWeights(weights);
        var (opt, meta) = SafeTensors.Load(Path.Combine(dir, "optimizer.safetensors"));
        using (new TensorScope())
        {
            var tensors = opt.ToDictionary(kv => kv.Key, kv => Tensor.From(kv.Value.Data, kv.Value.Shape));
            _optimizer!.LoadState(tensors, int.Parse(meta["step_count"]));
        }
        var state = Checkpoint.LoadState(Path.Combine(dir, "state.json"));
        if (state.Stage != Stage) throw new InvalidDataException($"{dir} is a '{state.Stage}' checkpoint, not '{Stage}'");
        Step = state.Step;
        _initFrom = state.InitFrom;
        Rng = new Rng(state.Rng);
        Source.Restore(state.DataState);
        foreach (var (name, q) in Quantizers)
            if (state.CodebookLastUsed.TryGetValue(name, out var used) && used.Length == q.LastUsed.Length)
                Array.Copy(used, q.LastUsed, used.Length);
        OnResumed(state);
    }

    /// <summary>Called after a checkpoint's state was restored.</summary>
    protected virtual void OnResumed(TrainingState state) { }
}

/// <summary>
/// Training stopped because the loss or the gradient stopped being finite; nothing of that step reached the weights
/// or a checkpoint.
/// </summary>
public sealed class TrainingDivergedException(int step, string what, string? lastCheckpoint, string section)
    : Exception($"{what} at step {step}; the run stopped there" +
                (lastCheckpoint is null ? " (no checkpoint yet)" : $" and its last checkpoint, {lastCheckpoint}, is kept") +
                $". Lower {section}.lr or check the data")
{
    /// <summary>The step whose loss or gradient was not finite.</summary>
    public int Step { get; } = step;
}
