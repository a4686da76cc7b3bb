using System.Text.Json;
using System.Text.Json.Nodes;
using Genie.Core;
using Genie.Engine;
using Genie.Engine.Optim;
using Genie.Models;
using Genie.Models.Agents;
using Genie.Worlds.Agents;
using Genie.Worlds.Platformer;

namespace Genie.Cli.Agents;

/// <summary>An expert's episodes: frames (T, H, W, 3) and true actions (T; the last −1), and the levels they played.</summary>
public sealed record ExpertEpisodes(List<byte[]> Frames, List<int[]> Actions, List<int> Levels)
{
    /// <summary>Transitions (frame t → t+1) over all episodes.</summary>
    public int Transitions => Actions.Sum(a => a.Length - 1);
}

/// <summary>One score: a policy's share of held-out levels solved.</summary>
/// <param name="Policy">latent, oracle or random.</param>
/// <param name="Labels">Labelled transitions behind the latent→real map (null for oracle and random, which use none).</param>
/// <param name="Difficulty">easy or hard.</param>
/// <param name="Seed">The repetition's seed.</param>
/// <param name="SolvedShare">Share of the held-out levels solved within the step limit.</param>
/// <param name="MappingAgreement">For the latent policy: how often the latent→real map recovers the expert's true action
/// on the expert data's transitions (<see cref="LatentActionDictionary.Agreement"/>); null for the others.</param>
public sealed record BcScore(string Policy, int? Labels, string Difficulty, int Seed, double SolvedShare, double? MappingAgreement = null);

/// <summary>
/// Behaviour cloning from latent actions (paper §6, figure 15): label an expert's video with the frozen latent action
/// model, train a policy from the last k frames to the latent action, map latent to real actions with a dictionary
/// from N labelled transitions, and score it in the real platformer against an oracle trained on every true action
/// and a uniformly random policy, on levels no training episode played.
/// </summary>
public static class BehaviourCloning
{
    /// <summary>Share of the expert's actions replaced by uniformly random ones (the paper's data has 10 %).</summary>
    public const double Epsilon = 0.1;

    /// <summary>The expert data's seed for repetition <paramref name="seed"/>: episode i plays level Episodes.Seeds(this, i).</summary>
    public static ulong ExpertDataSeed(int seed) => 1_000_000UL + (ulong)seed;

    /// <summary>Plays <paramref name="episodes"/> expert episodes (10 % random actions) as <c>genie data make --agent expert --seed S</c> seeds them.</summary>
    public static ExpertEpisodes MakeExpertData(PlatformerSettings settings, ulong dataSeed, int episodes, Action<int>? progress = null)
    {
        var frames = new byte[episodes][];
        var actions = new int[episodes][];
        var levels = new int[episodes];
        int done = 0;
        Parallel.For(0, episodes, () => new PlatformerWorld(settings), (i, _, world) =>
        {
            var (level, agentSeed) = Episodes.Seeds(dataSeed, (int)i);
            var (f, a, _) = Episodes.Record(world, new EpsilonAgent(new ExpertAgent(), Epsilon, agentSeed), level);
            frames[i] = f; actions[i] = a; levels[i] = level;
            progress?.Invoke(Interlocked.Increment(ref done));
            return world;
        }, _ => { });
        return new ExpertEpisodes(frames.ToList(), actions.ToList(), levels.ToList());
    }

    /// <summary>
    /// The latent action of every transition of every episode, by the frozen LAM, on clips of up to T_max frames that
    /// overlap by one frame (so each transition is labelled once).
    /// </summary>
    public static List<int[]> LabelWithLam(LatentActionModel lam, GenieConfig config, ExpertEpisodes data, Action<int>? progress = null)
    {
        int frameBytes = config.Height * config.Width * 3, maxT = config.MaxFrames, p = config.Lam.Patch;
        var labels = new List<int[]>();
        for (int e = 0; e < data.Frames.Count; e++)
        {
            int t = data.Frames[e].Length / frameBytes;
            var ids = new int[Math.Max(t - 1, 0)];
            for (int start = 0; start < t - 1; start += maxT - 1)
            {
                int len = Math.Min(maxT, t - start);
                using var scope = new TensorScope();
                var x = Patches.Tensor(data.Frames[e].AsSpan(start * frameBytes, len * frameBytes), 1, len, config.Height, config.Width, p);
                lam.InferActions(x).CopyTo(ids, start);
            }
            labels.Add(ids);
            progress?.Invoke(e + 1);
        }
        return labels;
    }

    /// <summary>
    /// Trains a policy from the last k frames to <paramref name="targets"/> (per episode, one per transition) for
    /// <paramref name="steps"/> AdamW steps of <paramref name="batch"/> random transitions.
    /// </summary>
    public static PolicyNetwork TrainPolicy(PolicyConfig config, ExpertEpisodes data, List<int[]> targets, int steps, int batch, float lr, ulong seed,
        Action<int, double>? progress = null)
    {
        var rng = new Rng(seed);
        var policy = new PolicyNetwork(config, rng.Fork(1));
        var opt = new AdamW(policy.Parameters()) { WeightDecay = 0.01f };
        int frameBytes = config.Height * config.Width * 3, k = config.Frames;
        var index = new List<(int E, int T)>();
        for (int e = 0; e < targets.Count; e++)
            for (int t = 0; t < targets[e].Length; t++) index.Add((e, t));
        if (index.Count == 0) throw new InvalidDataException("the expert data has no transitions to learn from");
        var frames = new byte[batch * k * frameBytes];
        var y = new int[batch];
        for (int s = 0; s < steps; s++)
        {
            for (int b = 0; b < batch; b++)
            {
                var (e, t) = index[rng.NextInt(index.Count)];
                PolicyNetwork.Window(data.Frames[e], t, k, frameBytes, frames.AsSpan(b * k * frameBytes, k * frameBytes));
                y[b] = targets[e][t];
            }
            double loss = policy.TrainStep(opt, frames, y, lr);
            progress?.Invoke(s + 1, loss);
        }
        return policy;
    }

    /// <summary>The first <paramref name="labels"/> transitions of a seeded shuffle (so smaller label sets are inside larger ones): (latent, real) pairs → the dictionary.</summary>
    public static LatentActionDictionary Dictionary(List<int[]> latents, ExpertEpisodes data, int labels, int numLatents, ulong seed)
    {
        var pairs = new List<(int Latent, int Real)>();
        for (int e = 0; e < latents.Count; e++)
            for (int t = 0; t < latents[e].Length; t++) pairs.Add((latents[e][t], data.Actions[e][t]));
        if (labels > pairs.Count) throw new InvalidDataException($"{labels} labels asked for, but the expert data has only {pairs.Count} transitions; make more episodes");
        var rng = new Rng(seed);
        for (int i = pairs.Count - 1; i > 0; i--) { int j = rng.NextInt(i + 1); (pairs[i], pairs[j]) = (pairs[j], pairs[i]); }
        var chosen = pairs.Take(labels).ToList();
        return LatentActionDictionary.FromPairs(chosen.Select(c => c.Latent).ToList(), chosen.Select(c => c.Real).ToList(), numLatents, PlatformerActions.Count);
    }

    /// <summary>
    /// A frames-only agent asking <paramref name="policy"/> for each step (missing early frames repeat the first): its
    /// action drawn at <paramref name="temperature"/> with <paramref name="rng"/>, or the most likely one at 0.
    /// </summary>
    public static IAgent PolicyAgent(PolicyNetwork policy, Func<int, int> toAction, string name, float temperature = 0f, Rng? rng = null)
    {
        int k = policy.Config.Frames, frameBytes = policy.Config.Height * policy.Config.Width * 3;
        var window = new byte[k * frameBytes];
        return new FramePolicyAgent(frames =>
        {
            for (int i = 0; i < k; i++)
                frames[Math.Max(0, frames.Count - k + i)].CopyTo(window.AsSpan(i * frameBytes, frameBytes));
            return toAction(policy.Act(window, 1, temperature, rng)[0]);
        }, k, name);
    }

    /// <summary>A score as one JSON line.</summary>
    public static string JsonLine(BcScore s) => new JsonObject
    {
        ["policy"] = s.Policy, ["labels"] = s.Labels, ["difficulty"] = s.Difficulty, ["seed"] = s.Seed, ["solved_share"] = Math.Round(s.SolvedShare, 4),
        ["mapping_agreement"] = s.MappingAgreement is { } m ? Math.Round(m, 4) : null,
    }.ToJsonString();

    /// <summary>
    /// The world settings of a run's data: its dataset's manifest if the run records one that exists, else the
    /// <c>data_make</c> options an export records, else the defaults at the model's frame size.
    /// </summary>
    public static (PlatformerSettings Settings, string? Difficulty, JsonObject? Manifest) RunWorld(string run, GenieConfig config)
    {
        var settings = new PlatformerSettings { Width = config.Width, Height = config.Height };
        var state = Path.Combine(Checkpoint.RequireLatest(run), "state.json");
        string? dataDir = File.Exists(state) ? Checkpoint.LoadState(state).Data : null;
        var exportFile = Path.Combine(run, "export.json");
        var export = File.Exists(exportFile) ? JsonNode.Parse(File.ReadAllText(exportFile)) : null;
        dataDir ??= export?["dataset"]?.GetValue<string>();
        var manifestFile = dataDir is null ? null : Path.Combine(dataDir, "manifest.json");
        if (manifestFile is not null && File.Exists(manifestFile))
        {
            var manifest = JsonNode.Parse(File.ReadAllText(manifestFile))!.AsObject();
            if (manifest["details"]?["settings"] is JsonObject s)
            {
                settings = s.Deserialize<PlatformerSettings>(Commands.DataCommands.SettingsJson) ?? settings;
                return (settings, settings.Difficulty.ToString().ToLowerInvariant(), manifest);
            }
        }
        if (export?["data_make"]?.GetValue<string>() is { } make)
        {
            var words = make.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string? Value(string name) { int i = Array.IndexOf(words, name); return i >= 0 && i + 1 < words.Length ? words[i + 1] : null; }
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            settings = settings with
            {
                TicksPerStep = Value("--ticks-per-frame") is { } tk ? int.Parse(tk, inv) : settings.TicksPerStep,
                ViewTiles = Value("--view-tiles") is { } vt ? double.Parse(vt, inv) : settings.ViewTiles,
                CameraStep = Value("--camera-step") is { } cs ? int.Parse(cs, inv) : settings.CameraStep,
                Parallax = Value("--parallax") is { } px ? double.Parse(px, inv) : settings.Parallax,
                AnimatePerFrame = words.Contains("--animate-per-frame"),
            };
            return (settings, Value("--difficulty") ?? export?["difficulty"]?.GetValue<string>(), null);
        }
        return (settings, null, null);
    }
}
