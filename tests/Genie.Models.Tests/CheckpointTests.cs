using Genie.Core;
using Genie.Data;
using Genie.Engine;
using Genie.Engine.IO;
using Genie.Models;
using Genie.Models.Training;

namespace Genie.Models.Tests;

public sealed class CheckpointTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("genie-ckpt").FullName;
    public void Dispose() => Directory.Delete(_root, true);

    private static (ListClipSource Train, List<ClipBatch> Val) Data(GenieConfig cfg)
    {
        var rng = new Rng(11);
        var train = Enumerable.Range(0, 5).Select(_ => TestData.Batch(cfg.TrainTokenizer.BatchSize, cfg.TrainTokenizer.ClipLength, 16, rng)).ToList();
        var val = new List<ClipBatch> { TestData.Batch(2, 4, 16, rng) };
        return (new ListClipSource(train), val);
    }

    /// <summary>A tokenizer run on <see cref="Data"/> (for the dynamics stage) and the validation clips.</summary>
    private (string Run, List<ClipBatch> Val) TrainTokenizer(GenieConfig cfg)
    {
        var (src, val) = Data(cfg);
        var run = Path.Combine(_root, "tok");
        new TokenizerTrainer(cfg, src, val, new RunOptions(run, false)).Run();
        return (run, val);
    }

    private static byte[] Weights(string runDir) =>
        File.ReadAllBytes(Path.Combine(Checkpoint.RequireLatest(runDir), "model.safetensors"));

    // Every parameter's values by name, copied.
    private static Dictionary<string, float[]> Parameters(GenieModel genie) =>
        genie.NamedParameters().ToDictionary(p => p.Name, p => p.Param.ToArray());

    // A tokenizer run to the end in `straight`, and the same run in `broken` interrupted after step `stopAt`.
    private (string Straight, string Broken) StraightAndInterrupted(GenieConfig cfg, int stopAt)
    {
        var (src, val) = Data(cfg);
        var straight = Path.Combine(_root, "straight");
        new TokenizerTrainer(cfg, src, val, new RunOptions(straight, Resume: false)).Run();
        var (src2, val2) = Data(cfg);
        var broken = Path.Combine(_root, "broken");
        using var cancel = new CancellationTokenSource();
        var interrupted = new TokenizerTrainer(cfg, src2, val2, new RunOptions(broken, false, p => { if (p.Step == stopAt) cancel.Cancel(); }));
        Assert.Throws<OperationCanceledException>(() => interrupted.Run(cancel.Token));
        return (straight, broken);
    }

    [Fact]
    public void Tokenizer_ResumedRun_IsBitIdenticalToAnUninterruptedOne()
    {
        var cfg = TestData.Tiny("train_tokenizer.steps=6", "train_tokenizer.checkpoint_every=3", "train_tokenizer.eval_every=3");
        var (straight, broken) = StraightAndInterrupted(cfg, stopAt: 3);
        Assert.EndsWith("step_000003", Checkpoint.RequireLatest(broken));

        var (src3, val3) = Data(cfg);
        var resumed = new TokenizerTrainer(cfg, src3, val3, new RunOptions(broken, Resume: true));
        resumed.Run();
        Assert.Equal(6, resumed.Step);
        Assert.Equal(Weights(straight), Weights(broken));
        Assert.Equal(File.ReadAllBytes(Path.Combine(Checkpoint.RequireLatest(straight), "optimizer.safetensors")),
                     File.ReadAllBytes(Path.Combine(Checkpoint.RequireLatest(broken), "optimizer.safetensors")));
        Assert.True(File.Exists(Path.Combine(broken, "samples", "tokenizer_step_000006.png")));
        Assert.Contains("\"split\":\"val\"", File.ReadAllText(Path.Combine(broken, "metrics.jsonl")));
    }

    [Fact]
    public void StopAt_EndsASliceOfTheSchedule_ThatResumesBitIdentically()
    {
        var cfg = TestData.Tiny("train_tokenizer.steps=6", "train_tokenizer.checkpoint_every=3", "train_tokenizer.eval_every=3");
        var (src, val) = Data(cfg);
        var straight = Path.Combine(_root, "straight");
        new TokenizerTrainer(cfg, src, val, new RunOptions(straight, Resume: false)).Run();
        var sliced = Path.Combine(_root, "sliced");
        var (src2, val2) = Data(cfg);
        var first = new TokenizerTrainer(cfg, src2, val2, new RunOptions(sliced, Resume: false, StopAt: 4));
        first.Run();
        Assert.Equal(4, first.Step);
        Assert.EndsWith("step_000004", Checkpoint.RequireLatest(sliced));   // checkpointed where it stopped, between the periodic ones
        var (src3, val3) = Data(cfg);
        var rest = new TokenizerTrainer(cfg, src3, val3, new RunOptions(sliced, Resume: true));
        rest.Run();
        Assert.Equal(6, rest.Step);
        Assert.Equal(Weights(straight), Weights(sliced));
    }

    [Fact]
    public void Dynamics_ResumedRun_IsBitIdenticalToAnUninterruptedOne()
    {
        var cfg = TestData.Tiny("train_tokenizer.steps=2", "train_dynamics.steps=4", "train_dynamics.checkpoint_every=2", "train_dynamics.eval_every=4");
        var (tokRun, val) = TrainTokenizer(cfg);

        var straight = Path.Combine(_root, "dyn-straight");
        new DynamicsTrainer(cfg, tokRun, Data(cfg).Train, val, new RunOptions(straight, false)).Run();

        var broken = Path.Combine(_root, "dyn-broken");
        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() =>
            new DynamicsTrainer(cfg, tokRun, Data(cfg).Train, val, new RunOptions(broken, false, p => { if (p.Step == 2) cancel.Cancel(); })).Run(cancel.Token));
        new DynamicsTrainer(cfg, tokRun, Data(cfg).Train, val, new RunOptions(broken, true)).Run();
        Assert.Equal(Weights(straight), Weights(broken));
    }

    [Fact]
    public void Dynamics_Init_StartsFromAnotherRunsLamAndDynamics_KeepsItsOwnTokenizer()
    {
        var cfg = TestData.Tiny("train_tokenizer.steps=2", "train_dynamics.steps=3", "train_dynamics.checkpoint_every=3", "train_dynamics.eval_every=3");
        var (src, val) = Data(cfg);
        var tokA = Path.Combine(_root, "tokA");
        new TokenizerTrainer(cfg, src, val, new RunOptions(tokA, false)).Run();
        var tokB = Path.Combine(_root, "tokB");
        var cfgB = TestData.Tiny("train_tokenizer.steps=2", "train_tokenizer.seed=5");
        new TokenizerTrainer(cfgB, Data(cfgB).Train, val, new RunOptions(tokB, false)).Run();
        var runA = Path.Combine(_root, "dynA");
        new DynamicsTrainer(cfg, tokA, Data(cfg).Train, val, new RunOptions(runA, false)).Run();

        // One step at a learning rate too small to move anything: what remains is what --init loaded. Training
        // options (masking, self-forcing) may differ from the init run's.
        var cfgFt = TestData.Tiny("dynamics.masking=prefix", "dynamics.self_forcing=0.5", "train_dynamics.steps=1", "train_dynamics.lr=1e-12", "train_dynamics.min_lr=1e-13", "train_dynamics.warmup=0",
            "train_dynamics.eval_every=1", "train_dynamics.checkpoint_every=1");
        var ft = Path.Combine(_root, "ft");
        new DynamicsTrainer(cfgFt, tokB, Data(cfgFt).Train, val, new RunOptions(ft, false, InitFrom: runA)).Run();
        var a = Parameters(GenieModel.Load(runA));
        var f = Parameters(GenieModel.Load(ft));
        var tokBWeights = Checkpoint.LoadModel(Path.Combine(Checkpoint.RequireLatest(tokB), "model.safetensors"), "tokenizer").Weights;
        foreach (var (name, value) in f)
        {
            if (name.StartsWith("tokenizer.")) Assert.Equal(tokBWeights[name["tokenizer.".Length..]].Data, value);   // the frozen tokenizer is --tokenizer's
            else for (int i = 0; i < value.Length; i++) Assert.True(Math.Abs(value[i] - a[name][i]) < 1e-5, $"{name}[{i}]: {value[i]} vs {a[name][i]}");
        }
        Assert.Equal(Path.GetFullPath(Checkpoint.RequireLatest(runA)), Checkpoint.LoadState(Path.Combine(Checkpoint.RequireLatest(ft), "state.json")).InitFrom);

        // A trained world (a dynamics run, or an export of one) serves as --tokenizer: its tokenizer part is taken.
        var fromWorld = Path.Combine(_root, "fromWorld");
        new DynamicsTrainer(cfgFt, runA, Data(cfgFt).Train, val, new RunOptions(fromWorld, false, InitFrom: runA)).Run();
        var w = Parameters(GenieModel.Load(fromWorld));
        Assert.Contains(w.Keys, name => name.StartsWith("tokenizer.") && !a[name].SequenceEqual(f[name]));   // tokA's differ from tokB's
        foreach (var (name, value) in w.Where(kv => kv.Key.StartsWith("tokenizer."))) Assert.Equal(a[name], value);

        // Only the dynamics from the init run, under a new latent action model with another number of actions.
        var cfgNewLam = TestData.Tiny("lam.num_actions=3", "train_dynamics.steps=1", "train_dynamics.lr=1e-12", "train_dynamics.min_lr=1e-13",
            "train_dynamics.warmup=0", "train_dynamics.eval_every=1", "train_dynamics.checkpoint_every=1");
        var parts = Path.Combine(_root, "parts");
        new DynamicsTrainer(cfgNewLam, tokB, Data(cfgNewLam).Train, val, new RunOptions(parts, false, InitFrom: runA, InitParts: ["dynamics"])).Run();
        var p2 = Parameters(GenieModel.Load(parts));
        foreach (var (name, value) in p2.Where(kv => kv.Key.StartsWith("dynamics.")))
            for (int i = 0; i < value.Length; i++) Assert.True(Math.Abs(value[i] - a[name][i]) < 1e-5, $"{name}[{i}]");
        Assert.Equal(3, p2["lam.vq.codebook"].Length / cfgNewLam.Lam.LatentDim);
        Assert.Throws<InvalidDataException>(() => new DynamicsTrainer(cfgNewLam, tokB, Data(cfgNewLam).Train, val,
            new RunOptions(Path.Combine(_root, "parts2"), false, InitFrom: runA)).Run());   // both parts: the LAM does not fit

        // --init-grow: a deeper dynamics model starts from the shallower one's blocks, the new ones the identity, so it
        // predicts what the init run predicts.
        var cfgGrow = TestData.Tiny("dynamics.depth=3", "train_dynamics.steps=1", "train_dynamics.lr=1e-12", "train_dynamics.min_lr=1e-13",
            "train_dynamics.warmup=0", "train_dynamics.eval_every=1", "train_dynamics.checkpoint_every=1");
        var grownRun = Path.Combine(_root, "grown");
        new DynamicsTrainer(cfgGrow, tokB, Data(cfgGrow).Train, val, new RunOptions(grownRun, false, InitFrom: runA, GrowDepth: true)).Run();
        var (shallow, deep) = (GenieModel.Load(runA), GenieModel.Load(grownRun));
        Assert.Equal(3, deep.Dynamics.Body.NamedParameters().Where(p => p.Name.StartsWith("blocks.")).Select(p => p.Name.Split('.')[1]).Distinct().Count());
        var rng = new Rng(9);
        int frames = 3, tokens = shallow.Dynamics.Tokens;
        var ids = Enumerable.Range(0, frames * tokens).Select(_ => rng.NextInt(shallow.Dynamics.CodebookSize)).ToArray();
        var actions = Enumerable.Range(0, (frames - 1) * cfg.Lam.LatentDim).Select(_ => rng.NextNormal()).ToArray();
        using (new TensorScope())
        using (Engine.Autograd.Tape.NoGrad())
        {
            var before = shallow.Dynamics.Logits(ids, Tensor.From(actions, frames - 1, cfg.Lam.LatentDim), 1, frames).ToArray();
            var after = deep.Dynamics.Logits(ids, Tensor.From(actions, frames - 1, cfg.Lam.LatentDim), 1, frames).ToArray();
            for (int i = 0; i < before.Length; i++) Assert.True(Math.Abs(before[i] - after[i]) < 1e-4, $"logit {i}: {before[i]} vs {after[i]}");
        }
        Assert.Throws<ArgumentException>(() => new DynamicsTrainer(cfgGrow, tokB, Data(cfgGrow).Train, val,
            new RunOptions(Path.Combine(_root, "grown2"), false, InitFrom: runA, InitParts: ["lam"], GrowDepth: true)).Run());   // growing needs the dynamics part
        Assert.Throws<InvalidDataException>(() => new DynamicsTrainer(cfgGrow, tokB, Data(cfgGrow).Train, val,
            new RunOptions(Path.Combine(_root, "grown3"), false, InitFrom: runA)).Run());   // without --init-grow a deeper model is another architecture

        // Another architecture is refused before the run folder is made.
        var other = TestData.Tiny("dynamics.depth=1");
        var bad = Path.Combine(_root, "bad");
        Assert.Throws<InvalidDataException>(() => new DynamicsTrainer(other, tokB, Data(other).Train, val, new RunOptions(bad, false, InitFrom: runA)).Run());
        Assert.False(Directory.Exists(bad));
    }

    [Fact]
    public void LamWarmup_TrainsOnlyTheLatentActionModel_AndResumesAcrossItsEndBitIdentically()
    {
        var cfg = TestData.Tiny("train_tokenizer.steps=2", "train_dynamics.steps=4", "train_dynamics.lam_warmup=2",
            "train_dynamics.checkpoint_every=1", "train_dynamics.eval_every=4");
        var (tokRun, val) = TrainTokenizer(cfg);
        var straight = Path.Combine(_root, "warm");
        using var cancel = new CancellationTokenSource();
        var trainer = new DynamicsTrainer(cfg, tokRun, Data(cfg).Train, val, new RunOptions(straight, false, p => { if (p.Step == 2) cancel.Cancel(); }));
        var initial = Parameters(trainer.Genie);
        Assert.Throws<OperationCanceledException>(() => trainer.Run(cancel.Token));
        // After the warm-up (tiny has no weight decay) the dynamics is as initialised and the LAM has moved.
        var warm = Parameters(GenieModel.Load(straight));
        Assert.All(warm.Where(kv => kv.Key.StartsWith("dynamics.")), kv => Assert.Equal(initial[kv.Key], kv.Value));
        Assert.Contains(warm.Where(kv => kv.Key.StartsWith("lam.")), kv => !kv.Value.SequenceEqual(initial[kv.Key]));
        new DynamicsTrainer(cfg, tokRun, Data(cfg).Train, val, new RunOptions(straight, true)).Run();
        var trained = Parameters(GenieModel.Load(straight));
        Assert.Contains(trained.Where(kv => kv.Key.StartsWith("dynamics.")), kv => !kv.Value.SequenceEqual(initial[kv.Key]));

        var uninterrupted = Path.Combine(_root, "warm-straight");
        new DynamicsTrainer(cfg, tokRun, Data(cfg).Train, val, new RunOptions(uninterrupted, false)).Run();
        Assert.Equal(Weights(uninterrupted), Weights(straight));
        Assert.Throws<InvalidDataException>(() => TestData.Tiny("train_dynamics.steps=4", "train_dynamics.lam_warmup=4"));
    }

    [Fact]
    public void LamFrozen_TrainsOnlyTheDynamicsModel_EvenWithWeightDecay()
    {
        var cfg = TestData.Tiny("train_tokenizer.steps=2", "train_dynamics.steps=3", "train_dynamics.lam_frozen=true",
            "train_dynamics.weight_decay=0.1", "train_dynamics.eval_every=3");
        var (tokRun, val) = TrainTokenizer(cfg);
        var run = Path.Combine(_root, "frozen");
        var trainer = new DynamicsTrainer(cfg, tokRun, Data(cfg).Train, val, new RunOptions(run, false));
        var initial = Parameters(trainer.Genie);
        trainer.Run();
        var trained = Parameters(GenieModel.Load(run));
        Assert.All(trained.Where(kv => kv.Key.StartsWith("lam.")), kv => Assert.Equal(initial[kv.Key], kv.Value));
        Assert.Contains(trained.Where(kv => kv.Key.StartsWith("dynamics.")), kv => !kv.Value.SequenceEqual(initial[kv.Key]));
        Assert.Throws<InvalidDataException>(() => TestData.Tiny("train_dynamics.steps=4", "train_dynamics.lam_frozen=true", "train_dynamics.lam_warmup=2"));
    }

    [Fact]
    public void Resume_RemovesStaleCheckpointTemps_AndLogsEachStepOnce()
    {
        // Validation every 2 steps, checkpoints every 3: killed at step 4, the log holds step 4's validation,
        // which the resumed run replays. The resumed log must list each (step, split) once, as the straight run's does.
        var cfg = TestData.Tiny("train_tokenizer.steps=6", "train_tokenizer.checkpoint_every=3", "train_tokenizer.eval_every=2");
        var (straight, broken) = StraightAndInterrupted(cfg, stopAt: 4);
        // What a kill -9 during a checkpoint write leaves (the PID is one no process has).
        var stale = Path.Combine(broken, "checkpoints", ".step_000006.2147483000.tmp");
        Directory.CreateDirectory(stale);
        File.WriteAllText(Path.Combine(stale, "model.safetensors"), "half");
        File.AppendAllText(Path.Combine(broken, "metrics.jsonl"), "{\"step\":4,\"spl");   // and a torn last line

        var (src3, val3) = Data(cfg);
        new TokenizerTrainer(cfg, src3, val3, new RunOptions(broken, Resume: true)).Run();
        Assert.False(Directory.Exists(stale));
        static List<string> Keys(string run) => File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l =>
        {
            var o = System.Text.Json.Nodes.JsonNode.Parse(l)!;
            return $"{o["step"]}/{o["split"]}";
        }).ToList();
        Assert.Equal(Keys(straight), Keys(broken));
        Assert.Contains("4/val", Keys(broken));
    }

    [Fact]
    public void ADivergingRun_StopsWithAClearError_BeforeTheBadStepReachesACheckpoint()
    {
        var cfg = TestData.Tiny("train_tokenizer.steps=6", "train_tokenizer.checkpoint_every=2", "train_tokenizer.eval_every=0");
        var (src, val) = Data(cfg);
        var run = Path.Combine(_root, "diverged");
        int step = 0;
        TokenizerTrainer? trainer = null;
        // After step 3 (a checkpoint at step 2 exists), one weight becomes NaN, as a diverging run's would.
        trainer = new TokenizerTrainer(cfg, src, val, new RunOptions(run, false, p =>
        {
            step = p.Step;
            if (p.Step == 3) trainer!.Tokenizer.NamedParameters().First().Param.Span[0] = float.NaN;
        }));
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
        Assert.Equal(4, e.Step);
        Assert.Contains("step_000002", e.Message);
        Assert.Contains("train_tokenizer.lr", e.Message);
        Assert.EndsWith("step_000002", Checkpoint.RequireLatest(run));
        Checkpoint.LoadModel(Path.Combine(Checkpoint.RequireLatest(run), "model.safetensors"), "tokenizer");   // finite: loads
    }

    [Fact]
    public void StartingOverAnExistingRun_IsRefused()
    {
        var cfg = TestData.Tiny("train_tokenizer.steps=1");
        var (src, val) = Data(cfg);
        var run = Path.Combine(_root, "run");
        new TokenizerTrainer(cfg, src, val, new RunOptions(run, false)).Run();
        var e = Assert.Throws<IOException>(() => new TokenizerTrainer(cfg, src, val, new RunOptions(run, false)).Run());
        Assert.Contains("--resume", e.Message);
    }

    [Fact]
    public void UnknownConfigKey_InTheFileOrAnOverride_IsAClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => TestData.Tiny("tokenizer.dimm=64"));
        Assert.Contains("tokenizer.dimm", e.Message);
        var e2 = Assert.Throws<ArgumentException>(() => TestData.Tiny("nosuchsection.x=1"));
        Assert.Contains("nosuchsection", e2.Message);
        var path = Path.Combine(_root, "bad.json");
        File.WriteAllText(path, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "../../../../../configs/tiny.json")).Replace("\"heads\": 2,", "\"heads\": 2, \"hedas\": 3,"));
        var e3 = Assert.Throws<InvalidDataException>(() => GenieConfig.Load(path));
        Assert.Contains("hedas", e3.Message);
        var e4 = Assert.Throws<FileNotFoundException>(() => GenieConfig.Load("no-such-config"));
        Assert.Contains("no-such-config", e4.Message);
        // A value that parses but breaks the geometry.
        var e5 = Assert.Throws<InvalidDataException>(() => TestData.Tiny("tokenizer.patch=5"));
        Assert.Contains("tokenizer.patch", e5.Message);
    }

    [Fact]
    public void CheckpointOfAnotherArchitecture_OrKind_OrACorruptFile_IsAClearError()
    {
        var cfg = TestData.Tiny();
        var path = Path.Combine(_root, "tok.safetensors");
        Checkpoint.SaveModel(path, new VideoTokenizer(cfg, new Rng(1)), "tokenizer", cfg);

        var (_, weights) = Checkpoint.LoadModel(path, "tokenizer");
        var wider = new VideoTokenizer(TestData.Tiny("tokenizer.dim=48"), new Rng(1));
        var e = Assert.Throws<InvalidDataException>(() => wider.LoadWeights(weights));
        Assert.Contains("shape", e.Message);
        var deeper = new VideoTokenizer(TestData.Tiny("tokenizer.encoder_depth=2"), new Rng(1));
        var e2 = Assert.Throws<InvalidDataException>(() => deeper.LoadWeights(weights));
        Assert.Contains("encoder.blocks.1", e2.Message);

        var e3 = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModel(path, "genie"));
        Assert.Contains("'tokenizer'", e3.Message);

        SafeTensors.SaveArrays(path, [("x", [1], [1f])]);
        var e4 = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModel(path, "tokenizer"));
        Assert.Contains("not a genie-csharp checkpoint", e4.Message);

        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 2)]);
        Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModel(path, "tokenizer"));

        // Weights that are not finite (a diverged run's) are refused, naming the tensor.
        var broken = new VideoTokenizer(cfg, new Rng(1));
        var (name, param) = broken.NamedParameters().First();
        param.Span[3] = float.NaN;
        Checkpoint.SaveModel(path, broken, "tokenizer", cfg);
        var e5 = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModel(path, "tokenizer"));
        Assert.Contains("non-finite", e5.Message);
        Assert.Contains(name, e5.Message);
    }
}
