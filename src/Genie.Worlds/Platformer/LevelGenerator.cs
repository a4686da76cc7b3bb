using Genie.Core;

namespace Genie.Worlds.Platformer;

/// <summary>
/// Builds a level from a seed, following the structure of Procgen CoinRun's generator (its facts, not its code):
/// a 64×64 grid walled at the border; the player starts at the left on the floor; sections start 5 tiles in,
/// each a block of ground that steps up or down from the last by at most <see cref="Physics.MaxStepUp"/>;
/// a wide section may instead be a pit (at most <see cref="Physics.MaxPitWidth"/> wide, a floating block in
/// it when wider than 4) filled with the level's one hazard type; ledges get saws, enemies (hard) and crate
/// piles; the coin sits at the right end, with wall beyond it.
/// </summary>
public static class LevelGenerator
{
    /// <summary>Grid size (CoinRun's).</summary>
    public const int GridSize = 64;
    /// <summary>Where the first section begins.</summary>
    public const int FirstSectionX = 5;

    /// <summary>Generates the level of <paramref name="seed"/> for <paramref name="difficulty"/>.</summary>
    public static Level Generate(int seed, Difficulty difficulty)
    {
        // Mix the difficulty into the stream so easy and hard levels of one seed are unrelated draws.
        var rng = new Rng(((ulong)(uint)seed << 1) | (difficulty == Difficulty.Hard ? 1UL : 0UL));
        var level = new Level(GridSize, GridSize, seed, difficulty);
        bool hard = difficulty == Difficulty.Hard;

        // --- themes: one fixed look in easy mode, random in hard mode
        level.GroundTheme = hard ? rng.NextInt(Art.GroundThemeCount) : 0;
        level.BackgroundTheme = hard ? rng.NextInt(Art.BackgroundThemeCount) : 0;
        level.PlayerTheme = hard ? rng.NextInt(Art.PlayerThemeCount) : 0;
        level.EnemyTheme = rng.NextInt(Art.EnemyThemeCount);

        // --- border: floor, side walls, ceiling
        int w = level.Width, h = level.Height;
        level.Fill(0, 0, w, 1, Tile.Wall);
        level.Fill(0, 0, 1, h, Tile.Wall);
        level.Fill(w - 1, 0, 1, h, Tile.Wall);
        level.Fill(0, h - 1, w, 1, Tile.Wall);

        int complexity = rng.NextInt(3) + 1;
        level.Complexity = complexity;
        int sections = rng.NextInt(complexity) + complexity;
        level.PitHazard = (PitHazard)(hard ? rng.NextInt(3) : rng.NextInt(2)); // easy: no walking enemies
        int x = FirstSectionX, y = 1;

        for (int s = 0; s < sections && x + 15 < w; s++)
        {
            int dy = Math.Min(rng.NextInt(4) + 1 + complexity / 3, Physics.MaxStepUp);
            if (y >= 20 || (y >= 5 && rng.NextInt(2) == 1)) dy = -dy;
            int dx = rng.NextInt(2 * complexity) + 3 + complexity / 3;
            y = Math.Max(1, y + dy);

            bool pit = dx > 7 && y > 3 && rng.NextInt(20) >= complexity;
            level.Sections.Add((x, dx, y, pit));
            if (pit)
            {
                int x1 = rng.NextInt(3) + 1, x2 = rng.NextInt(3) + 1;
                int pitWidth = dx - x1 - x2;
                if (pitWidth > Physics.MaxPitWidth) { pitWidth = Physics.MaxPitWidth; x2 = dx - x1 - pitWidth; }
                Ground(level, x, x1, y);
                Ground(level, x + dx - x2, x2, y);
                int px = x + x1;
                int hazardHeight = rng.NextInt(y - 3) + 1;
                switch (level.PitHazard)
                {
                    case PitHazard.Lava:
                        level.Fill(px, 1, pitWidth, hazardHeight, Tile.Lava);
                        break;
                    case PitHazard.Saws:
                        level.Fill(px, 1, pitWidth, 1, Tile.Saw);
                        break;
                    case PitHazard.Enemies:
                        // One enemy per two columns, all walking the pit floor at different phases.
                        for (int e = 0; e < pitWidth; e += 2)
                            level.Enemies.Add(new Enemy(px + e + 0.5, 1, px + Enemy.HalfWidth, px + pitWidth - Enemy.HalfWidth,
                                rng.NextInt(2) * 2 - 1, 0.15));
                        break;
                }
                if (pitWidth > 4)
                {
                    int x3, w1;
                    if (pitWidth == 5) { x3 = 1 + rng.NextInt(2); w1 = 1 + rng.NextInt(2); }
                    else if (pitWidth == 6) { x3 = 2 + rng.NextInt(2); w1 = 1 + rng.NextInt(2); }
                    else { x3 = 2 + rng.NextInt(2); w1 = pitWidth - x3 - (2 + rng.NextInt(2)); }
                    level.Fill(px + x3, y - 1, w1, 1, Tile.Wall);
                }
            }
            else
            {
                Ground(level, x, dx, y);
                int sawX = -1, enemyX = -1;
                if (rng.NextInt(10) < 2 * complexity && dx > 3)
                {
                    sawX = x + rng.NextInt(dx - 2) + 1;
                    level[sawX, y] = Tile.Saw;
                }
                if (hard && rng.NextInt(10) < complexity && dx > 3)
                {
                    enemyX = x + rng.NextInt(dx - 2) + 1;
                    level.Enemies.Add(new Enemy(enemyX + 0.5, y, x + Enemy.HalfWidth, x + dx - Enemy.HalfWidth, rng.NextInt(2) * 2 - 1, 0.15));
                }
                for (int i = 0; i < 2; i++)
                {
                    int crateX = x + rng.NextInt(dx - 2) + 1;
                    if (rng.NextInt(2) == 1 && crateX != sawX && crateX != enemyX)
                    {
                        int pile = rng.NextInt(3) + 1;
                        for (int j = 0; j < pile; j++)
                            if (level[crateX, y + j] == Tile.Empty) level[crateX, y + j] = Tile.Crate;
                    }
                }
            }
            x += dx;
        }

        // --- the coin on a last column of ground, wall to the right of it
        Ground(level, x, 1, y);
        level[x, y] = Tile.Coin;
        level.Coin = (x, y);
        level.Fill(x + 1, 0, w - x - 1, h, Tile.Wall);
        level.Start = (1 + Physics.HalfWidth + 0.1, 1.0);
        return level;
    }

    private static void Ground(Level level, int x, int width, int top) => level.Fill(x, 0, width, top, Tile.Wall);
}
