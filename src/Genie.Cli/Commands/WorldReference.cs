using System.Text.Json;
using System.Text.Json.Nodes;
using Genie.Data;
using Genie.Models.Evaluation;
using Genie.Worlds.Platformer;

namespace Genie.Cli.Commands;

/// <summary>
/// What the world itself scores on the controllability measure: from the same prompt frames as the model's, each of
/// the world's own buttons held for the same number of frames in the world that made the data, measured with the same
/// <see cref="Metrics.ViewShift"/>. A model that imitated the world perfectly, with latents that were its buttons,
/// would score this, so it is the yardstick for <c>control_still_share</c>: a held "right" stands still in the real
/// game too once the player reaches a wall.
/// </summary>
public static class WorldReference
{
    /// <summary>
    /// Rebuilds the world from the dataset's manifest (platformer settings and each episode's <c>level_seed</c>),
    /// replays the episode's recorded actions up to each prompt (checking that the replayed frame is the prompt, pixel
    /// for pixel), then holds every action for <paramref name="frames"/> frames. Returns null, with the reason, for data
    /// the world cannot replay (video, another world, an episode that does not replay exactly). Each rollout (the button
    /// and its frames, the prompt first) is added to <paramref name="rollouts"/> when one is given.
    /// </summary>
    public static (Controllability? Control, string? Reason) Controllability(Dataset dataset, IReadOnlyList<(int Episode, int Start)> prompts,
        int frames, int radius = 12, List<(int Button, IReadOnlyList<byte[]> Frames)>? rollouts = null)
    {
        var details = dataset.Manifest.Details;
        if (details?["world"]?.GetValue<string>() != "platformer" || details["settings"] is not JsonObject json)
            return (null, "the data was not made by `genie data make --world platformer`");
        var settings = json.Deserialize<PlatformerSettings>(DataCommands.SettingsJson)!;
        var world = new PlatformerWorld(settings);
        int h = settings.Height, w = settings.Width, frameBytes = h * w * 3;
        var starts = new List<WorldSnapshot>();
        foreach (var (episode, start) in prompts)
        {
            var info = dataset.Manifest.Episodes[episode];
            if (info.Info?["level_seed"] is not JsonValue seed || dataset.Actions(episode) is not { } actions)
                return (null, $"episode {episode} has no level seed or actions");
            world.Reset(seed.GetValue<int>());
            for (int i = 0; i < start; i++) world.Step(actions[i]);
            var real = new byte[frameBytes];
            dataset.CopyFrames(episode, start, 1, real);
            var replayed = new byte[frameBytes];
            world.Render(replayed);
            if (!replayed.AsSpan().SequenceEqual(real))
                return (null, $"episode {episode} does not replay to its frame {start} (data made by another version of the world?)");
            starts.Add(world.Snapshot());
        }
        var control = GenieEvaluation.HeldActions(PlatformerActions.Count, starts.Count, frames, (a, p) =>
        {
            world.Restore(starts[p]);
            var rollout = new List<byte[]> { world.Render().Data };
            // An episode that ends (the coin, a pit, an enemy) ends the rollout: frames after it do not exist in the data either.
            for (int i = 0; i < frames && !world.Done; i++)
            {
                world.Step(a);
                rollout.Add(world.Render().Data);
            }
            rollouts?.Add((a, rollout));
            return rollout;
        }, (x, y) => Metrics.ViewShift(x, y, h, w, radius));
        return (control, null);
    }
}
