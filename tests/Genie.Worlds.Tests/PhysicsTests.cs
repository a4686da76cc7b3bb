using Genie.Core;
using Genie.Worlds.Platformer;

namespace Genie.Worlds.Tests;

public class PhysicsTests
{
    private static readonly string[] Flat =
    [
        "##########################",
        "#                        #",
        "#                        #",
        "#                        #",
        "#                        #",
        "#                        #",
        "#                        #",
        "#                        #",
        "#                        #",
        "#P                      $#",
        "##########################",
    ];

    private static PlayerState Spawned(Level level) => Physics.Spawn(level);

    [Fact]
    public void Jump_FromRest_RisesExactlyTheDiscreteApex()
    {
        var level = Level.FromText(Flat);
        var p = Spawned(level);
        double feet0 = p.Bottom, apex = feet0;
        int apexTick = 0;
        Physics.Step(level, ref p, PlatformerActions.Jump);
        Assert.Equal(Physics.JumpSpeed, p.Vy, 12);
        for (int t = 1; t < 40; t++)
        {
            if (p.Bottom > apex) { apex = p.Bottom; apexTick = t; }
            Physics.Step(level, ref p, PlatformerActions.Noop);
        }
        // 1.5 + 1.3 + … + 0.1 = 6.4 tiles, reached after 8 ticks.
        Assert.Equal(6.4, apex - feet0, 9);
        Assert.Equal(Physics.JumpApex, apex - feet0, 9);
        Assert.Equal(8, apexTick);
        // Back on the floor, standing.
        Assert.Equal(feet0, p.Bottom, 9);
        Assert.True(Physics.IsSupported(level, p));
    }

    [Fact]
    public void Jump_InTheAir_DoesNothing()
    {
        var level = Level.FromText(Flat);
        var p = Spawned(level);
        Physics.Step(level, ref p, PlatformerActions.Jump);
        double vy = p.Vy;
        Physics.Step(level, ref p, PlatformerActions.Jump); // no double jump
        Assert.Equal(vy - Physics.Gravity, p.Vy, 12);
    }

    [Fact]
    public void Running_ApproachesMaxSpeed_WithGroundMixing()
    {
        var level = Level.FromText(Flat);
        var p = Spawned(level);
        double vx = 0;
        for (int t = 0; t < 12; t++)
        {
            Physics.Step(level, ref p, PlatformerActions.Right);
            vx = 0.8 * vx + 0.2 * 0.5; // vx = (1−m)·vx + m·0.5·ax with m = 0.2 on the ground
            Assert.Equal(vx, p.Vx, 12);
            Assert.True(p.Vx <= Physics.MaxSpeed);
        }
    }

    [Fact]
    public void AirControl_IsWeakerThanGroundControl()
    {
        var level = Level.FromText(Flat);
        var p = Spawned(level);
        Physics.Step(level, ref p, PlatformerActions.Jump);           // take off with vx = 0
        Physics.Step(level, ref p, PlatformerActions.Right);          // in the air: m = 0.2·0.15
        Assert.Equal(0.2 * 0.15 * 0.5, p.Vx, 12);
    }

    [Fact]
    public void Walls_AreNeverPenetrated_UnderRandomActions()
    {
        // Generated hard levels (steps, pits, crates) plus a box with a low ceiling, driven by random actions
        // with hazards ignored: after every tick the hit box overlaps no wall tile.
        var levels = Enumerable.Range(0, 12).Select(s => LevelGenerator.Generate(s, Difficulty.Hard)).ToList();
        levels.Add(Level.FromText(
        [
            "##########",
            "#   #    #",
            "#        #",
            "# P  ## $#",
            "##########",
        ]));
        var rng = new Rng(7);
        foreach (var level in levels)
        {
            var p = Physics.Spawn(level);
            int action = 0;
            for (int t = 0; t < 1500; t++)
            {
                if (t % 4 == 0) action = rng.NextInt(PlatformerActions.Count);
                Physics.Step(level, ref p, action);
                AssertNoWallOverlap(level, p);
            }
        }
    }

    private static void AssertNoWallOverlap(Level level, in PlayerState p)
    {
        const double tol = 1e-6;
        double l = p.X - Physics.HalfWidth + tol, r = p.X + Physics.HalfWidth - tol, b = p.Bottom + tol, top = p.Y + Physics.HalfHeight - tol;
        for (int y = (int)Math.Floor(b); y <= (int)Math.Floor(top); y++)
            for (int x = (int)Math.Floor(l); x <= (int)Math.Floor(r); x++)
                Assert.False(level[x, y] == Tile.Wall, $"player at ({p.X:F4}, {p.Y:F4}) overlaps wall ({x}, {y}) in level {level.Seed}");
    }

    [Fact]
    public void RunningIntoAWall_StopsFlushAgainstIt()
    {
        var level = Level.FromText(
        [
            "##########",
            "#        #",
            "#P   #  $#",
            "##########",
        ]);
        var p = Physics.Spawn(level);
        for (int t = 0; t < 40; t++) Physics.Step(level, ref p, PlatformerActions.Right);
        Assert.Equal(5 - Physics.HalfWidth, p.X, 9); // right edge touches the wall at x = 5
        Assert.Equal(0, p.Vx);
    }

    [Fact]
    public void Ceiling_StopsAJump()
    {
        var level = Level.FromText(
        [
            "#####",
            "#   #",
            "#   #",
            "#P $#",
            "#####",
        ]);
        var p = Physics.Spawn(level);
        double maxTop = 0;
        Physics.Step(level, ref p, PlatformerActions.Jump);
        for (int t = 0; t < 20; t++) { maxTop = Math.Max(maxTop, p.Y + Physics.HalfHeight); Physics.Step(level, ref p, PlatformerActions.Noop); }
        Assert.Equal(4.0, maxTop, 9); // the head stops at the ceiling row's underside
    }

    [Fact]
    public void Crates_HoldFromAbove_LetThroughFromBelow_DropWithDown()
    {
        var level = Level.FromText(
        [
            "#####",
            "#   #",
            "#   #",
            "#   #",
            "# = #",
            "#   #",
            "#P $#",
            "#####",
        ]);
        var p = Physics.Spawn(level);
        // Walk under the crate and jump: it passes up through the crate and lands on top of it.
        while (p.X < 2.5) Physics.Step(level, ref p, PlatformerActions.Right);
        for (int t = 0; t < 10; t++) Physics.Step(level, ref p, PlatformerActions.Left); // stop roughly under it
        var q = p;
        q.X = 2.5; q.Vx = 0;
        Physics.Step(level, ref q, PlatformerActions.Jump);
        for (int t = 0; t < 30; t++) Physics.Step(level, ref q, PlatformerActions.Noop);
        Assert.Equal(4.0, q.Bottom, 9); // standing on the crate (row 3, top at 4)
        Assert.True(Physics.IsSupported(level, q));
        // Down drops through it back to the floor.
        for (int t = 0; t < 20; t++) Physics.Step(level, ref q, t == 0 ? PlatformerActions.Down : PlatformerActions.Noop);
        Assert.Equal(1.0, q.Bottom, 9);
    }

    [Fact]
    public void Contact_DetectsCoinLavaSawAndEnemy()
    {
        var level = Level.FromText(
        [
            "##########",
            "#        #",
            "#P ^ e  $#",
            "######~###",
        ]);
        var p = Physics.Spawn(level);
        Assert.Equal(EndReason.None, Physics.Contact(level, p, 0));
        p.X = 3.5; Assert.Equal(EndReason.Saw, Physics.Contact(level, p, 0));
        p.X = 5.5; Assert.Equal(EndReason.Enemy, Physics.Contact(level, p, 0));
        p.X = 8.5; Assert.Equal(EndReason.Coin, Physics.Contact(level, p, 0));
        p.X = 6.5; p.Y = 0.8 + Physics.HalfHeight; Assert.Equal(EndReason.None, Physics.Contact(level, p, 0)); // above the waves
        p.Y = 0.5 + Physics.HalfHeight; Assert.Equal(EndReason.Lava, Physics.Contact(level, p, 0));
    }

    [Fact]
    public void Enemy_PatrolsBetweenItsBounds()
    {
        var e = new Enemy(3.5, 1, 2.4, 6.6, 1, 0.15);
        var xs = Enumerable.Range(0, 200).Select(e.XAt).ToList();
        Assert.All(xs, x => Assert.InRange(x, 2.4 - 1e-9, 6.6 + 1e-9));
        Assert.Equal(3.5 + 0.15 * 10, xs[10], 9);
        Assert.True(xs.Max() > 6.5 && xs.Min() < 2.5); // it reaches both ends
    }
}
