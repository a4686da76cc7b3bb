using System.Text.Json;
using System.Text.Json.Nodes;
using Genie.Core.IO;
using Genie.Engine;
using Genie.Engine.IO;
using Genie.Nn;

namespace Genie.Models;

/// <summary>
/// Checkpoints and run directories. A run directory holds <c>config.json</c>, <c>metrics.jsonl</c>,
/// <c>samples/</c>, and <c>checkpoints/step_NNNNNN/</c> folders, each with <c>model.safetensors</c> (weights,
/// with kind, format version and config in the metadata), <c>optimizer.safetensors</c> (AdamW moments) and
/// <c>state.json</c> (step, RNG and data-loader state, codebook usage). The file <c>latest</c> names the newest
/// complete checkpoint; a checkpoint folder is written under a temporary name and renamed when complete, and
/// <c>latest</c> is replaced atomically, so an interrupted save never leaves a half-written checkpoint behind.
/// </summary>
public static class Checkpoint
{
    /// <summary>Version of the layout above; a checkpoint of another version is refused.</summary>
    public const string FormatVersion = "1";
    /// <summary>Name of the format in the safetensors metadata.</summary>
    public const string FormatName = "genie-csharp";

    /// <summary>Writes weights with kind, version and config in the metadata.</summary>
    public static void SaveModel(string path, Module model, string kind, GenieConfig config, SafeTensorsDType dtype = SafeTensorsDType.F32)
    {
        SafeTensors.Save(path, model.NamedParameters(), dtype, new Dictionary<string, string>
        {
            ["format"] = FormatName,
            ["format_version"] = FormatVersion,
            ["kind"] = kind,
            ["config"] = config.ToJson(),
        });
    }

    /// <summary>
    /// Reads a model file, checking format, version and kind; returns the config stored in it and the weights.
    /// </summary>
    public static (GenieConfig Config, Dictionary<string, (int[] Shape, float[] Data)> Weights) LoadModel(string path, string expectedKind)
    {
        var (kind, config, weights) = Read(path);
        if (kind != expectedKind)
            throw new InvalidDataException($"{path} holds a '{kind}' checkpoint, but a '{expectedKind}' checkpoint is needed here");
        return (config, weights);
    }

    /// <summary>
    /// The tokenizer of a model file: a "tokenizer" checkpoint, or the tokenizer part of a "genie" checkpoint such as
    /// an export, so that a shipped world's tokenizer can be trained on without its tokenizer run. Returns the prefix
    /// its weights carry in <c>Weights</c> ("" or "tokenizer."), for <see cref="Module.LoadWeights"/>.
    /// </summary>
    public static (GenieConfig Config, Dictionary<string, (int[] Shape, float[] Data)> Weights, string Prefix) LoadTokenizer(string path)
    {
        var (kind, config, weights) = Read(path);
        return kind switch
        {
            "tokenizer" => (config, weights, ""),
            "genie" => (config, weights, "tokenizer."),
            _ => throw new InvalidDataException($"{path} holds a '{kind}' checkpoint, but a 'tokenizer' or 'genie' checkpoint is needed here"),
        };
    }

    /// <summary>A model file's kind, embedded config and weights, after checking its format, version and that every weight is finite.</summary>
    private static (string? Kind, GenieConfig Config, Dictionary<string, (int[] Shape, float[] Data)> Weights) Read(string path)
    {
        var (tensors, meta) = SafeTensors.Load(path);
        if (!meta.TryGetValue("format", out var format) || format != FormatName)
            throw new InvalidDataException($"{path} is not a {FormatName} checkpoint (no '{FormatName}' format tag in its metadata)");
        if (meta.GetValueOrDefault("format_version") != FormatVersion)
            throw new InvalidDataException($"{path} has checkpoint format version {meta.GetValueOrDefault("format_version")}, this program reads version {FormatVersion}");
        var config = GenieConfig.Parse(meta.GetValueOrDefault("config") ?? throw new InvalidDataException($"{path} has no config in its metadata"), path + " (embedded config)");
        // Weights that are not finite would load and play garbage without a word.
        foreach (var (name, t) in tensors)
        {
            int bad = 0;
            foreach (var v in t.Data) if (!float.IsFinite(v)) bad++;
            if (bad > 0)
                throw new InvalidDataException($"{path}: tensor '{name}' holds {bad} non-finite values (NaN or infinity) of {t.Data.Length}; " +
                                               "the checkpoint is damaged or was saved from a run that diverged");
        }
        return (meta.GetValueOrDefault("kind"), config, tensors.ToDictionary(kv => kv.Key, kv => (kv.Value.Shape, kv.Value.Data)));
    }

    /// <summary>The newest complete checkpoint folder of a run, or null if it has none.</summary>
    public static string? Latest(string runDir)
    {
        var pointer = Path.Combine(runDir, "latest");
        if (!File.Exists(pointer)) return null;
        var dir = Path.Combine(runDir, File.ReadAllText(pointer).Trim());
        if (!Directory.Exists(dir)) throw new InvalidDataException($"{pointer} names {dir}, which does not exist (was the run folder edited by hand?)");
        return dir;
    }

    /// <summary>The newest checkpoint folder of a run; an error naming the run if there is none.</summary>
    public static string RequireLatest(string runDir)
    {
        if (!Directory.Exists(runDir)) throw new DirectoryNotFoundException($"no run folder {runDir}");
        return Latest(runDir) ?? throw new InvalidDataException($"{runDir} has no checkpoint yet (no 'latest' file)");
    }

    /// <summary>
    /// Removes the temporary folders (<c>checkpoints/.step_N.PID.tmp</c>) that a run killed while writing a checkpoint
    /// leaves behind, unless the process that made one is still running. Returns how many were removed.
    /// </summary>
    public static int RemoveStaleTemps(string runDir) =>
        OutputFolder.RemoveStaleTemps(Path.Combine(runDir, "checkpoints"), ".step_*.tmp");

    /// <summary>
    /// Writes a checkpoint folder atomically: <paramref name="write"/> fills a temporary folder, which is then
    /// renamed to <c>checkpoints/step_NNNNNN</c>; <c>latest</c> is updated last. Keeps the newest
    /// <paramref name="keep"/> checkpoints.
    /// </summary>
    public static string Write(string runDir, int step, Action<string> write, int keep = 2)
    {
        var root = Path.Combine(runDir, "checkpoints");
        Directory.CreateDirectory(root);
        var name = $"step_{step:D6}";
        var final = Path.Combine(root, name);
        var tmp = Path.Combine(root, $".{name}.{Environment.ProcessId}.tmp");
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        try
        {
            write(tmp);
            if (Directory.Exists(final)) Directory.Delete(final, true);
            Directory.Move(tmp, final);
        }
        catch
        {
            try { Directory.Delete(tmp, true); } catch { /* the previous checkpoint is intact either way */ }
            throw;
        }
        AtomicFile.WriteAllText(Path.Combine(runDir, "latest"), Path.Combine("checkpoints", name));
        var old = Directory.GetDirectories(root, "step_*").Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal).ToList();
        for (int i = 0; i < old.Count - keep; i++) Directory.Delete(Path.Combine(root, old[i]!), true);
        return final;
    }

    /// <summary>Serialises training state (step, RNG, loader position, codebook usage...).</summary>
    public static void SaveState(string path, TrainingState state) =>
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(state, GenieConfig.Json));

    /// <summary>Reads training state.</summary>
    public static TrainingState LoadState(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(path), GenieConfig.Json)
                   ?? throw new InvalidDataException($"{path} is empty");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path} is not a valid training state: {e.Message}", e); }
    }
}

/// <summary>Everything besides weights and optimiser moments that a resumed run needs to continue exactly.</summary>
public sealed record TrainingState
{
    /// <summary>Which stage: "tokenizer" or "dynamics".</summary>
    public string Stage { get; init; } = "";
    /// <summary>Optimiser steps completed.</summary>
    public int Step { get; init; }
    /// <summary>State of the run's random generator (masking, reseeding).</summary>
    public ulong[] Rng { get; init; } = [];
    /// <summary>Opaque state of the training clip loader.</summary>
    public string DataState { get; init; } = "";
    /// <summary>Last-used step per code, per quantiser name.</summary>
    public Dictionary<string, long[]> CodebookLastUsed { get; init; } = new();
    /// <summary>Path of the frozen tokenizer run (dynamics stage).</summary>
    public string? TokenizerRun { get; init; }
    /// <summary>Path of the training data.</summary>
    public string? Data { get; init; }
    /// <summary>The checkpoint whose weights the run started from (<c>--init</c>), or null for seeded weights.</summary>
    public string? InitFrom { get; init; }
}
