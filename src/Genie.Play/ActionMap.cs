using System.Text.Json;
using System.Text.Json.Serialization;
using Genie.Worlds.Platformer;

namespace Genie.Play;

/// <summary>
/// The one place that says which key presses which action. Latent actions have no meaning until someone watches
/// what each does and names it; a run folder may carry that labelling as <c>actions.json</c>:
/// <code>
/// { "names": ["still", "right", "left", "jump", ...],          // one per latent action, shown on the buttons
///   "keys":  { "ArrowRight": 1, "ArrowLeft": 2, "ArrowUp": 3 } } // KeyboardEvent.key → latent action
/// </code>
/// Without it, the digit keys 0..A−1 press latent actions 0..A−1 and the arrow keys use <see cref="DefaultLatentKeys"/>.
/// The real platformer world's keys are fixed (<see cref="WorldKeys"/>).
/// </summary>
public sealed record ActionMap
{
    /// <summary>Arrow keys → latent actions before anyone has labelled the model (a guess; edit here or ship actions.json).</summary>
    public static readonly IReadOnlyDictionary<string, int> DefaultLatentKeys = new Dictionary<string, int>
    {
        ["ArrowLeft"] = 1, ["ArrowRight"] = 2, ["ArrowUp"] = 3, ["ArrowDown"] = 4, [" "] = 0,
    };

    /// <summary>Keys of the real world: arrows move, up or space jumps, down ducks; digits press actions by number.</summary>
    public static readonly IReadOnlyDictionary<string, int> WorldKeys = new Dictionary<string, int>
    {
        ["ArrowLeft"] = PlatformerActions.Left, ["ArrowRight"] = PlatformerActions.Right,
        ["ArrowUp"] = PlatformerActions.Jump, [" "] = PlatformerActions.Jump, ["ArrowDown"] = PlatformerActions.Down,
    };

    /// <summary>Button labels, one per action.</summary>
    public required IReadOnlyList<string> Names { get; init; }
    /// <summary>KeyboardEvent.key → action (digits included).</summary>
    public required IReadOnlyDictionary<string, int> Keys { get; init; }
    /// <summary>Where the labels came from ("actions.json", "unlabelled", "platformer").</summary>
    public required string Source { get; init; }

    /// <summary>Latent actions of a model with <paramref name="count"/> actions, labelled from <paramref name="runDir"/>/actions.json if present.</summary>
    public static ActionMap ForLatent(int count, string? runDir)
    {
        var names = Enumerable.Range(0, count).Select(i => $"{i}").ToList();
        var keys = Digits(count);
        foreach (var (k, a) in DefaultLatentKeys) if (a < count) keys[k] = a;
        string source = "unlabelled";
        var path = runDir is null ? null : Path.Combine(runDir, "actions.json");
        if (path is not null && File.Exists(path))
        {
            ActionLabels labels;
            try { labels = JsonSerializer.Deserialize<ActionLabels>(File.ReadAllText(path), LabelJson) ?? new(); }
            catch (JsonException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
            if (labels.Names is { } n)
            {
                if (n.Count != count) throw new InvalidDataException($"{path} names {n.Count} actions, the model has {count}");
                names = n.Select((s, i) => $"{i} {s}").ToList();
            }
            if (labels.Keys is { } k)
            {
                // The file's keys replace the default arrow guesses (a key the file leaves out presses nothing),
                // so no arrow ends up on a latent action that the labels name differently.
                keys = Digits(count);
                foreach (var (key, a) in k)
                {
                    if ((uint)a >= (uint)count) throw new InvalidDataException($"{path}: key '{key}' maps to action {a}, outside [0, {count})");
                    keys[key] = a;
                }
            }
            source = "actions.json";
        }
        return new ActionMap { Names = names, Keys = keys, Source = source };
    }

    /// <summary>The real platformer's actions.</summary>
    public static ActionMap ForWorld()
    {
        var keys = Digits(PlatformerActions.Count);
        foreach (var (k, a) in WorldKeys) keys[k] = a;
        return new ActionMap { Names = PlatformerActions.Names, Keys = keys, Source = "platformer" };
    }

    /// <summary>
    /// actions.json for a model from what its latent actions do when held (<c>genie eval</c>'s controllability): each
    /// latent is named after the view's mean motion per frame over the held frames ("right", "up-left", "still", …;
    /// under half a pixel per frame counts as none), and each arrow key presses the latent that, held, moves the view
    /// most purely that way (over the frames after the first: its motion that way less its motion across, so "up" goes
    /// to a latent that rises on the spot rather than to one that mostly runs right while it climbs), if that is at
    /// least half a pixel per frame; else the latent that moves the view furthest that way over all the frames, if one
    /// moves it at least half a pixel per frame (space jumps like ArrowUp).
    /// </summary>
    public static string LabelsFromMotion(Genie.Models.Evaluation.Controllability control)
    {
        int steps = control.Steps;
        var mean = control.Actions.Select(m => (Right: (m.FirstRight + m.LaterRight * (steps - 1)) / steps, Up: (m.FirstUp + m.LaterUp * (steps - 1)) / steps)).ToList();
        static string Way(double v, string plus, string minus) => v > 0.5 ? plus : v < -0.5 ? minus : "";
        var names = mean.Select(m => string.Join('-', new[] { Way(m.Up, "up", "down"), Way(m.Right, "right", "left") }.Where(w => w != "")) is { Length: > 0 } n ? n : "still").ToList();
        var keys = new Dictionary<string, int>();
        var held = control.Actions.Select(m => (Right: m.LaterRight, Up: m.LaterUp)).ToList();
        void Key(string key, Func<(double Right, double Up), double> along, Func<(double Right, double Up), double> across)
        {
            double Purity(int i) => along(held[i]) - Math.Abs(across(held[i]));
            int purest = Enumerable.Range(0, held.Count).MaxBy(Purity);
            int furthest = Enumerable.Range(0, mean.Count).MaxBy(i => along(mean[i]));
            if (Purity(purest) >= 0.5) keys[key] = purest;
            else if (along(mean[furthest]) >= 0.5) keys[key] = furthest;
        }
        Key("ArrowRight", m => m.Right, m => m.Up);
        Key("ArrowLeft", m => -m.Right, m => m.Up);
        Key("ArrowUp", m => m.Up, m => m.Right);
        Key("ArrowDown", m => -m.Up, m => m.Right);
        if (keys.TryGetValue("ArrowUp", out int up)) keys[" "] = up;
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["names"] = new System.Text.Json.Nodes.JsonArray(names.Select(x => (System.Text.Json.Nodes.JsonNode?)x).ToArray()),
            ["keys"] = new System.Text.Json.Nodes.JsonObject(keys.Select(kv => KeyValuePair.Create(kv.Key, (System.Text.Json.Nodes.JsonNode?)kv.Value))),
        };
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private static Dictionary<string, int> Digits(int count) =>
        Enumerable.Range(0, Math.Min(count, 10)).ToDictionary(i => i.ToString(), i => i);

    private sealed record ActionLabels
    {
        public List<string>? Names { get; init; }
        public Dictionary<string, int>? Keys { get; init; }
    }

    private static readonly JsonSerializerOptions LabelJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };
}
