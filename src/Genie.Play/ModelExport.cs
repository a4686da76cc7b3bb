using System.Text.Json;
using System.Text.Json.Nodes;
using Genie.Core.IO;
using Genie.Engine.IO;
using Genie.Media;
using Genie.Models;

namespace Genie.Play;

/// <summary>What <see cref="ModelExport.Write"/> wrote.</summary>
/// <param name="Parameters">Scalar parameters of the model.</param>
/// <param name="Bytes">Size of the folder.</param>
/// <param name="Prompts">Prompt frames written.</param>
/// <param name="Dataset">The dataset the prompts came from, if any.</param>
public sealed record ExportResult(long Parameters, long Bytes, int Prompts, string? Dataset);

/// <summary>
/// A slim, play-only copy of a training run: the newest weights (BF16 by default), config.json, the
/// <c>latest</c> pointer, actions.json if the run has one, a few prompt frames from its dataset, and export.json
/// saying where it came from. No optimizer state, metrics or samples: the repository ships <c>models/small</c> this way.
/// </summary>
public static class ModelExport
{
    /// <summary>Every top-level entry an export holds; a README.md beside them (a model card) is kept on re-export.</summary>
    public static readonly string[] Entries = ["export.json", "config.json", "latest", "checkpoints", "actions.json", "prompts", "README.md"];

    /// <summary>
    /// Throws unless <paramref name="outDir"/> is missing, empty, or an export (export.json, nothing an export does not
    /// hold) that contains neither the source <paramref name="run"/> nor <paramref name="dataDir"/>: what
    /// <c>--overwrite</c> may replace.
    /// </summary>
    public static void CheckReplaceable(string outDir, string run, string? dataDir) =>
        OutputFolder.CheckReplaceable(outDir, "model export", "export.json", Entries, [run, dataDir]);

    /// <summary>Writes the copy of <paramref name="run"/> to <paramref name="outDir"/> (built beside it and renamed when complete).</summary>
    /// <remarks><paramref name="playOverrides"/>: <c>key=value</c> changes of the play settings (<see cref="GenieConfig.PlayKeys"/>) written into the copy's config.</remarks>
    public static ExportResult Write(string run, string outDir, SafeTensorsDType dtype, int prompts, string? dataDir, bool overwrite, string command,
        IEnumerable<string>? playOverrides = null)
    {
        if (Path.GetFullPath(run).TrimEnd('/') == Path.GetFullPath(outDir).TrimEnd('/')) throw new ArgumentException("the export must go to another folder than the run");
        var latest = Checkpoint.RequireLatest(run);
        var model = GenieModel.Load(run);
        var config = model.Config.WithPlayOverrides(playOverrides ?? []);
        string? stateData = null;
        if (File.Exists(Path.Combine(latest, "state.json"))) stateData = Checkpoint.LoadState(Path.Combine(latest, "state.json")).Data;
        dataDir ??= stateData is not null && File.Exists(Path.Combine(stateData, "manifest.json")) ? stateData : null;

        if (Directory.Exists(outDir) && !overwrite) throw new IOException($"{outDir} exists; add --overwrite to replace it");
        CheckReplaceable(outDir, run, dataDir);
        var tmp = outDir.TrimEnd('/') + $".{Environment.ProcessId}.tmp";
        OutputFolder.RemoveStaleTemps(Path.GetDirectoryName(Path.GetFullPath(tmp))!, Path.GetFileName(outDir.TrimEnd('/')) + ".*.tmp");
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        int written = 0;
        try
        {
            string step = Path.GetFileName(latest);
            var ckpt = Path.Combine(tmp, "checkpoints", step);
            Directory.CreateDirectory(ckpt);
            Checkpoint.SaveModel(Path.Combine(ckpt, "model.safetensors"), model, "genie", config, dtype);
            File.WriteAllText(Path.Combine(tmp, "config.json"), config.ToJson() + "\n");
            File.WriteAllText(Path.Combine(tmp, "latest"), Path.Combine("checkpoints", step));
            if (File.Exists(Path.Combine(run, "actions.json"))) File.Copy(Path.Combine(run, "actions.json"), Path.Combine(tmp, "actions.json"));
            if (prompts > 0 && dataDir is not null)
            {
                var samples = SampleFrames.FromDataset(dataDir, model.Config.Width, model.Config.Height, prompts);
                Directory.CreateDirectory(Path.Combine(tmp, "prompts"));
                for (int i = 0; i < samples.Count; i++)
                    Png.Save(new Image(samples.Width, samples.Height, samples.Get(i)), Path.Combine(tmp, "prompts", $"{i:D2}.png"));
                written = samples.Count;
            }
            var info = new JsonObject
            {
                ["source_run"] = Path.GetFullPath(run),
                ["checkpoint"] = step,
                ["dtype"] = dtype.ToString().ToLowerInvariant(),
                ["parameters"] = model.ParameterCount(),
                ["config"] = model.Config.Name,
                ["dataset"] = dataDir is null ? null : Path.GetFullPath(dataDir),
                ["difficulty"] = dataDir is null ? null : DatasetDifficulty(dataDir),
                ["data_make"] = dataDir is null ? null : DataMakeOptions(dataDir),
                ["prompts"] = written,
                ["command"] = command,
            };
            File.WriteAllText(Path.Combine(tmp, "export.json"), info.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            // A hand-written model card in the folder being replaced is carried over; the old export steps aside
            // and is deleted only once the new one is in place.
            if (File.Exists(Path.Combine(outDir, "README.md"))) File.Copy(Path.Combine(outDir, "README.md"), Path.Combine(tmp, "README.md"));
            string? aside = null;
            if (Directory.Exists(outDir))
            {
                aside = tmp + ".old";
                Directory.Move(outDir, aside);
            }
            try { Directory.Move(tmp, outDir); }
            catch
            {
                if (aside is not null) Directory.Move(aside, outDir);
                throw;
            }
            if (aside is not null) Directory.Delete(aside, true);
        }
        catch
        {
            try { if (Directory.Exists(tmp)) Directory.Delete(tmp, true); } catch (IOException) { }
            throw;
        }
        // The copy must load exactly as the player will load it.
        GenieModel.Load(outDir);
        long bytes = Directory.GetFiles(outDir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        return new ExportResult(model.ParameterCount(), bytes, written, dataDir);
    }

    /// <summary>
    /// The <c>genie data make</c> options a world's dataset was made with, without those that pick the episodes or
    /// where they go (<c>--episodes</c>, <c>--seed</c>, <c>--out</c>, <c>--val-fraction</c>, <c>--threads</c>,
    /// <c>--overwrite</c>): fresh data of the same kind is <c>genie data make {options} --episodes N --seed S --out DIR</c>.
    /// Null for data that no <c>data make</c> command recorded (ingested video).
    /// </summary>
    public static string? DataMakeOptions(string dataDir)
    {
        try
        {
            var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dataDir, "manifest.json")));
            return manifest?["details"]?["command"] is JsonValue v && v.TryGetValue(out string? command) ? DataMakeOptionsOf(command) : null;
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidOperationException) { return null; }
    }

    /// <summary>See <see cref="DataMakeOptions"/>: the options of a recorded <c>genie data make …</c> command line.</summary>
    public static string? DataMakeOptionsOf(string command)
    {
        const string prefix = "genie data make";
        if (!command.StartsWith(prefix, StringComparison.Ordinal)) return null;
        string[] withValue = ["--episodes", "--seed", "--out", "--val-fraction", "--threads"];
        var words = command[prefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var kept = new List<string>();
        for (int i = 0; i < words.Length; i++)
        {
            if (words[i] == "--overwrite") continue;
            if (withValue.Contains(words[i])) { i++; continue; }
            kept.Add(words[i]);
        }
        return string.Join(' ', kept);
    }

    /// <summary>The platformer difficulty a dataset was made with ("easy", "hard"), or null for other data.</summary>
    public static string? DatasetDifficulty(string dataDir)
    {
        try
        {
            var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dataDir, "manifest.json")));
            return manifest?["details"]?["settings"]?["difficulty"]?.GetValue<string>();
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidOperationException) { return null; }
    }

    /// <summary>
    /// The difficulty of the data a run (or an exported copy) was trained on: export.json's record, else the manifest
    /// of the dataset its last checkpoint names, if that is still on this machine.
    /// </summary>
    public static string? RunDifficulty(string runDir)
    {
        try
        {
            var export = Path.Combine(runDir, "export.json");
            if (File.Exists(export) && JsonNode.Parse(File.ReadAllText(export))?["difficulty"] is JsonValue v && v.TryGetValue(out string? d)) return d;
            if (Checkpoint.Latest(runDir) is { } latest && File.Exists(Path.Combine(latest, "state.json")))
            {
                var data = Checkpoint.LoadState(Path.Combine(latest, "state.json")).Data;
                if (data is not null && File.Exists(Path.Combine(data, "manifest.json"))) return DatasetDifficulty(data);
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException or InvalidOperationException) { }
        return null;
    }
}
