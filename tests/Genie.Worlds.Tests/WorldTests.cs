using System.Security.Cryptography;
using Genie.Worlds.Agents;
using Genie.Worlds.Platformer;

namespace Genie.Worlds.Tests;

public class WorldTests
{
    private static string Hash(byte[] b) => Convert.ToHexString(SHA256.HashData(b));

    [Fact]
    public void SameSeedAndActions_GiveIdenticalFramesAndStates()
    {
        var settings = new PlatformerSettings { Difficulty = Difficulty.Hard };
        var (f1, a1, r1) = Episodes.Record(new PlatformerWorld(settings), new RandomStickyAgent(5), 17);
        var (f2, a2, r2) = Episodes.Record(new PlatformerWorld(settings), new RandomStickyAgent(5), 17);
        Assert.Equal(Hash(f1), Hash(f2));
        Assert.Equal(a1, a2);
        Assert.Equal(r1, r2);
        var (f3, _, _) = Episodes.Record(new PlatformerWorld(settings), new RandomStickyAgent(5), 18);
        Assert.NotEqual(Hash(f1), Hash(f3));
    }

    [Fact]
    public void Record_AlignsActionsWithFrames()
    {
        var world = new PlatformerWorld(new PlatformerSettings { Difficulty = Difficulty.Easy, MaxSteps = 50 });
        var (frames, actions, result) = Episodes.Record(world, new RandomStickyAgent(1), 2);
        int frameBytes = 64 * 64 * 3;
        Assert.Equal(result.Steps + 1, actions.Length);
        Assert.Equal(actions.Length * frameBytes, frames.Length);
        Assert.Equal(-1, actions[^1]);
        Assert.All(actions[..^1], a => Assert.InRange(a, 0, PlatformerActions.Count - 1));

        // Replaying the actions from a reset reproduces frame t+1 after action t.
        world.Reset(2);
        var frame = new byte[frameBytes];
        for (int t = 0; t < actions.Length - 1; t++)
        {
            world.Render(frame);
            Assert.True(frames.AsSpan(t * frameBytes, frameBytes).SequenceEqual(frame), $"frame {t}");
            world.Step(actions[t]);
        }
    }

    [Fact]
    public void Step_AfterTheEnd_Throws_AndTimeLimitEndsEpisodes()
    {
        var world = new PlatformerWorld(new PlatformerSettings { MaxSteps = 3 });
        world.Reset(0);
        world.Step(0); world.Step(0);
        var r = world.Step(0);
        Assert.True(r.Done);
        Assert.Equal(EndReason.TimeLimit, r.Reason);
        Assert.Throws<InvalidOperationException>(() => world.Step(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => { world.Reset(0); world.Step(PlatformerActions.Count); });
    }

    [Fact]
    public void Render_ShowsThePlayerAtTheCentre()
    {
        var world = new PlatformerWorld(new PlatformerSettings { Difficulty = Difficulty.Easy, Antialias = 1 });
        world.Reset(0);
        var img = world.Render();
        int player = Art.PlayerColor(0);
        int hits = 0;
        for (int y = 16; y < 48; y++)
            for (int x = 24; x < 40; x++)
            {
                var (r, g, b) = img.GetPixel(x, y);
                if ((r << 16 | g << 8 | b) == player) hits++;
            }
        Assert.True(hits >= 4, $"only {hits} player-coloured pixels near the centre");
    }

    [Fact]
    public void Render_IsDifferentAcrossThemes_AndNotFlat()
    {
        var a = new PlatformerWorld(new PlatformerSettings { Difficulty = Difficulty.Hard });
        var hashes = new HashSet<string>();
        for (int seed = 0; seed < 6; seed++)
        {
            a.Reset(seed);
            var img = a.Render();
            Assert.True(img.Data.Distinct().Count() > 20);
            hashes.Add(Hash(img.Data));
        }
        Assert.Equal(6, hashes.Count);
    }

    [Fact]
    public void Parallax_BackgroundLayersScrollSlowerThanTheTiles()
    {
        // An empty level; move the player 2 tiles right on the floor and measure how far each layer's ridge line
        // moved on screen: mountains ×0.25, hills ×0.5 of the tiles' shift.
        var rows = new List<string> { new string('#', 60) };
        for (int i = 0; i < 10; i++) rows.Add("#" + new string(' ', 58) + "#");
        rows.Add("#P" + new string(' ', 56) + "$#");
        rows.Add(new string('#', 60));
        var level = Level.FromText(rows);
        var settings = new PlatformerSettings { Width = 256, Height = 256, Antialias = 1 };
        var world = new PlatformerWorld(settings);
        world.Reset(level);
        var s0 = world.Snapshot();
        var p = s0.Player;
        p.X = 20.5;
        world.Restore(s0 with { Player = p });
        var before = world.Render();
        p.X = 22.5;
        world.Restore(s0 with { Player = p });
        var after = world.Render();

        double pxPerTile = 256 / settings.ViewTiles;
        var bg = Art.Background(level.BackgroundTheme);
        Assert.InRange(Shift(Ridge(before, bg.Far), Ridge(after, bg.Far)), 0.25 * 2 * pxPerTile - 1.5, 0.25 * 2 * pxPerTile + 1.5);
        Assert.InRange(Shift(Ridge(before, bg.Rim), Ridge(after, bg.Rim)), 0.5 * 2 * pxPerTile - 1.5, 0.5 * 2 * pxPerTile + 1.5);
    }

    /// <summary>For each column, the first row (from the top) with the given colour, or −1.</summary>
    private static int[] Ridge(Genie.Media.Image img, int color) =>
        Enumerable.Range(0, img.Width).Select(x =>
            Enumerable.Range(0, img.Height).FirstOrDefault(y => { var (r, g, b) = img.GetPixel(x, y); return (r << 16 | g << 8 | b) == color; }, -1)).ToArray();

    /// <summary>The leftward shift (pixels) that best aligns <paramref name="b"/> with <paramref name="a"/>.</summary>
    private static int Shift(int[] a, int[] b)
    {
        int best = 0; double bestErr = double.MaxValue;
        for (int s = 0; s < 80; s++)
        {
            double err = 0; int n = 0;
            for (int x = 0; x + s < a.Length; x++)
                if (a[x + s] >= 0 && b[x] >= 0) { err += Math.Abs(a[x + s] - b[x]); n++; }
            if (n > 60 && err / n < bestErr) { bestErr = err / n; best = s; }
        }
        return best;
    }
}

public class CameraStepTests
{
    // Pixels that differ between renders with the player at x and at x + 0.2 tiles (the same camera cell when stepped).
    private static int Differing(PlatformerSettings settings)
    {
        var level = LevelGenerator.Generate(7, Difficulty.Easy);
        var renderer = new PlatformerRenderer(settings);
        var a = new byte[64 * 64 * 3];
        var b = new byte[64 * 64 * 3];
        var player = new PlayerState { X = 10.1, Y = 4.6, FacingRight = true, WasSupported = true };
        renderer.Render(level, player, 0, a);
        player.X += 0.2;
        renderer.Render(level, player, 0, b);
        int differing = 0;
        for (int i = 0; i < a.Length; i += 3)
            if (a[i] != b[i] || a[i + 1] != b[i + 1] || a[i + 2] != b[i + 2]) differing++;
        return differing;
    }

    [Fact]
    public void SteppedCamera_MovesOnlyTheSprite_WithinOneStep()
    {
        var smooth = new PlatformerSettings { Difficulty = Difficulty.Easy };
        var stepped = smooth with { ViewTiles = 16, CameraStep = 4, Parallax = 0 };
        // The player sprite is about 4x4 pixels here: moving it 0.8 pixels changes at most a few columns around it.
        Assert.InRange(Differing(stepped), 1, 40);
        Assert.True(Differing(smooth) > 400, $"a smoothly following camera scrolls everything ({Differing(smooth)} pixels)");
        Assert.Throws<ArgumentException>(() => (smooth with { CameraStep = -1 }).Validate());
        Assert.Throws<ArgumentException>(() => (smooth with { Parallax = 2 }).Validate());
    }

    [Fact]
    public void AnimatePerFrame_AdvancesTheWalkCycleOncePerRecordedFrame()
    {
        // A running player at the level's start, drawn at ticks 0..11 with 3 ticks per frame: frame-driven, the
        // picture holds within a frame and the pose alternates from frame to frame.
        static List<byte[]> Draw(bool perFrame)
        {
            var settings = new PlatformerSettings { Difficulty = Difficulty.Easy, TicksPerStep = 3, AnimatePerFrame = perFrame };
            var renderer = new PlatformerRenderer(settings);
            var level = LevelGenerator.Generate(3, Difficulty.Easy);
            var player = new PlayerState { X = 2.5, Y = 1.6, Vx = 0.3, FacingRight = true, WasSupported = true };
            return Enumerable.Range(0, 12).Select(tick => { var rgb = new byte[64 * 64 * 3]; renderer.Render(level, player, tick, rgb); return rgb; }).ToList();
        }
        var perFrame = Draw(true);
        for (int f = 0; f < 4; f++)
        {
            Assert.Equal(perFrame[3 * f], perFrame[3 * f + 1]);
            Assert.Equal(perFrame[3 * f], perFrame[3 * f + 2]);
            if (f > 0) Assert.NotEqual(perFrame[3 * f - 3], perFrame[3 * f]);          // a new pose every frame
            if (f > 1) Assert.Equal(perFrame[3 * f - 6], perFrame[3 * f]);             // two poses, alternating
        }
        // Tick-driven, the picture changes between ticks inside a frame (what a frame shows depends on the tick).
        var perTick = Draw(false);
        Assert.Contains(Enumerable.Range(0, 11), t => (t + 1) % 3 != 0 && !perTick[t].SequenceEqual(perTick[t + 1]));
    }
}
