// How well could ANY labelling of the platformer's video recover the agent's true actions?
// Replays the data agent in the world, records what the video can show about each transition (the player's
// motion, its motion one frame earlier, which way the sprite faces), and fits a Bayes classifier from those
// features to the true action on the same transitions (in-sample, so optimistic). The NMI of its predictions
// with the truth is a ceiling for the latent action model's NMI on such data (ARCHITECTURE.md §8).
//
//   dotnet run -c Release tools/action-bound/action_bound.cs -- [--ticks-per-frame 3] [--hold 2-8]
//       [--difficulty easy] [--episodes 300] [--seed 2] [--confusion]
#:project ../../src/Genie.Worlds/Genie.Worlds.csproj
#:project ../../src/Genie.Models/Genie.Models.csproj
#:property PublishAot=false
using Genie.Models.Evaluation;
using Genie.Worlds.Agents;
using Genie.Worlds.Platformer;

int tpf = 3, minHold = 2, maxHold = 8, episodes = 300;
ulong seed = 2;
var difficulty = Difficulty.Easy;
bool confusion = false;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--ticks-per-frame": tpf = int.Parse(Next()); break;
        case "--hold": var h = Next().Split('-'); minHold = int.Parse(h[0]); maxHold = int.Parse(h[^1]); break;
        case "--difficulty": difficulty = Enum.Parse<Difficulty>(Next(), ignoreCase: true); break;
        case "--episodes": episodes = int.Parse(Next()); break;
        case "--seed": seed = ulong.Parse(Next()); break;
        case "--confusion": confusion = true; break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

var world = new PlatformerWorld(new PlatformerSettings { Difficulty = difficulty, TicksPerStep = tpf });
var truth = new List<int>();
var features = new Dictionary<string, List<string>> { ["motion"] = [], ["motion+facing"] = [], ["motion+previous motion"] = [], ["exact motion+previous motion"] = [] };
int airborne = 0, still = 0;
for (int ep = 0; ep < episodes; ep++)
{
    var (level, agentSeed) = Episodes.Seeds(seed, ep);   // the same episodes as `genie data make --seed`
    var agent = new RandomStickyAgent(agentSeed, minHold, maxHold);
    world.Reset(level);
    agent.Reset();
    double x = world.Player.X, y = world.Player.Y, pdx = 0, pdy = 0;
    bool facing = world.Player.FacingRight;
    while (true)
    {
        int a = agent.Act(world);
        var r = world.Step(a);
        var p = world.Player;
        double dx = p.X - x, dy = p.Y - y;
        // Motion binned at 0.05 tiles (about a quarter of a pixel at 64x64, 13 tiles across).
        string m = $"{Math.Round(dx / 0.05)},{Math.Round(dy / 0.05)}";
        string prev = $"{Math.Round(pdx / 0.05)},{Math.Round(pdy / 0.05)}";
        truth.Add(a);
        features["motion"].Add(m);
        features["motion+facing"].Add($"{m} {(facing ? 'R' : 'L')}{(p.FacingRight ? 'R' : 'L')}");
        features["motion+previous motion"].Add($"{m} {prev}");
        features["exact motion+previous motion"].Add($"{dx:R},{dy:R} {pdx:R},{pdy:R}");
        if (!p.WasSupported) airborne++;
        if (dx == 0 && dy == 0) still++;
        x = p.X; y = p.Y; pdx = dx; pdy = dy; facing = p.FacingRight;
        if (r.Done) break;
    }
}

var labels = truth.ToArray();
Console.WriteLine($"random agent, hold {minHold}-{maxHold} frames, {tpf} ticks per frame, {difficulty.ToString().ToLowerInvariant()} levels, " +
                  $"{episodes} episodes: {labels.Length} transitions, {100.0 * airborne / labels.Length:F0}% in the air, {100.0 * still / labels.Length:F0}% without motion");
foreach (var (name, f) in features)
{
    var counts = new Dictionary<string, int[]>();
    for (int i = 0; i < f.Count; i++)
    {
        if (!counts.TryGetValue(f[i], out var c)) counts[f[i]] = c = new int[PlatformerActions.Count];
        c[labels[i]]++;
    }
    var predicted = f.Select(k => Array.IndexOf(counts[k], counts[k].Max())).ToArray();
    Console.WriteLine($"  Bayes NMI from {name,-30} {Metrics.NormalizedMutualInformation(predicted, labels):F3}");
    if (confusion && name == "motion+facing")
    {
        Console.WriteLine($"    true \\ predicted {string.Join("", PlatformerActions.Names.Select(n => n.PadLeft(11)))}");
        for (int t = 0; t < PlatformerActions.Count; t++)
        {
            var row = new int[PlatformerActions.Count];
            for (int i = 0; i < labels.Length; i++) if (labels[i] == t) row[predicted[i]]++;
            Console.WriteLine($"    {PlatformerActions.Names[t],17} {string.Join("", row.Select(v => v.ToString().PadLeft(11)))}");
        }
    }
}
return 0;
