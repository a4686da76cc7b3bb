namespace Genie.Worlds.Platformer;

/// <summary>What fills one cell of the level grid.</summary>
public enum Tile : byte
{
    /// <summary>Air.</summary>
    Empty = 0,
    /// <summary>Solid ground (also the border walls).</summary>
    Wall = 1,
    /// <summary>A crate: you can stand on it and jump up through it; "down" drops through.</summary>
    Crate = 2,
    /// <summary>Lava: deadly to touch.</summary>
    Lava = 3,
    /// <summary>A half-buried saw blade: deadly to touch.</summary>
    Saw = 4,
    /// <summary>The coin: touching it ends the episode with success.</summary>
    Coin = 5,
}

/// <summary>The kind of hazard that fills this level's pits (one per level, as in CoinRun).</summary>
public enum PitHazard
{
    /// <summary>Lava filling each pit to a random height.</summary>
    Lava,
    /// <summary>A row of saw blades on each pit's floor.</summary>
    Saws,
    /// <summary>Enemies walking each pit's floor, one per two columns.</summary>
    Enemies,
}

/// <summary>
/// A walking enemy: it patrols between <see cref="MinX"/> and <see cref="MaxX"/> (its centre) at
/// <see cref="Speed"/> tiles per tick, standing on the surface at height <see cref="Y"/>. Its motion does not
/// depend on the player, so its position is a closed-form function of the tick (<see cref="XAt"/>), which
/// keeps the world cheap to copy and lets a planner look ahead exactly.
/// </summary>
public readonly record struct Enemy(double StartX, double Y, double MinX, double MaxX, int Direction, double Speed)
{
    /// <summary>Half-width of an enemy's hit box (tiles).</summary>
    public const double HalfWidth = 0.4;
    /// <summary>Height of an enemy's hit box above its feet (tiles).</summary>
    public const double Height = 0.7;

    /// <summary>Centre x at tick <paramref name="tick"/> of the episode.</summary>
    public double XAt(int tick)
    {
        double span = MaxX - MinX;
        if (span <= 0) return MinX;
        double u = (StartX - MinX + Direction * Speed * tick) % (2 * span);
        if (u < 0) u += 2 * span;
        return u <= span ? MinX + u : MinX + 2 * span - u;
    }

    /// <summary>True if the enemy walks right at tick <paramref name="tick"/>.</summary>
    public bool FacesRightAt(int tick)
    {
        double span = MaxX - MinX;
        if (span <= 0) return Direction > 0;
        double u = (StartX - MinX + Direction * Speed * tick) % (2 * span);
        if (u < 0) u += 2 * span;
        return (u < span) == (Direction > 0);
    }
}

/// <summary>
/// One generated level: a grid of tiles (x to the right, y up, cell (x, y) covers [x, x+1) × [y, y+1)),
/// walking enemies, the coin, and the visual themes. Immutable once generated; cells outside the grid read
/// as <see cref="Tile.Wall"/>.
/// </summary>
public sealed class Level
{
    private readonly Tile[] _tiles;

    /// <summary>The grid, row-major from the bottom row (for the renderer's inner loop).</summary>
    internal Tile[] Tiles => _tiles;

    /// <summary>Grid width in tiles.</summary>
    public int Width { get; }
    /// <summary>Grid height in tiles.</summary>
    public int Height { get; }
    /// <summary>The seed the level was generated from.</summary>
    public int Seed { get; }
    /// <summary>The difficulty it was generated for.</summary>
    public Difficulty Difficulty { get; }
    /// <summary>CoinRun's per-level difficulty draw, 1..3 (more sections, wider gaps, more obstacles).</summary>
    public int Complexity { get; internal set; }
    /// <summary>What fills the pits.</summary>
    public PitHazard PitHazard { get; internal set; }
    /// <summary>Walking enemies.</summary>
    public List<Enemy> Enemies { get; } = new();
    /// <summary>The coin's cell.</summary>
    public (int X, int Y) Coin { get; internal set; }
    /// <summary>Where the player's feet start (centre x, feet y).</summary>
    public (double X, double Y) Start { get; internal set; } = (1.5, 1.0);
    /// <summary>Ground palette index (see <see cref="Art"/>).</summary>
    public int GroundTheme { get; internal set; }
    /// <summary>Background palette index.</summary>
    public int BackgroundTheme { get; internal set; }
    /// <summary>Player colour index.</summary>
    public int PlayerTheme { get; internal set; }
    /// <summary>Enemy colour index.</summary>
    public int EnemyTheme { get; internal set; }
    /// <summary>The x where each section begins (the first at 5), and the ground height of each (for tests and docs).</summary>
    public List<(int X, int Width, int GroundY, bool Pit)> Sections { get; } = new();

    internal Level(int width, int height, int seed, Difficulty difficulty)
    {
        Width = width; Height = height; Seed = seed; Difficulty = difficulty;
        _tiles = new Tile[width * height];
    }

    /// <summary>The tile at (x, y); outside the grid, a wall.</summary>
    public Tile this[int x, int y]
    {
        get => (uint)x < (uint)Width && (uint)y < (uint)Height ? _tiles[y * Width + x] : Tile.Wall;
        internal set => _tiles[y * Width + x] = value;
    }

    /// <summary>The tile under a point.</summary>
    public Tile At(double x, double y) => this[(int)Math.Floor(x), (int)Math.Floor(y)];

    /// <summary>
    /// A level from a text map, top row first: <c>#</c> ground, <c>=</c> crate, <c>~</c> lava, <c>^</c> saw,
    /// <c>$</c> the coin (exactly one), <c>P</c> the player's start (standing in that cell), <c>e</c> an enemy
    /// patrolling the run of floor it stands on; anything else is air. The bottom text row is row 0; outside
    /// the map is wall. For tests and hand-made levels.
    /// </summary>
    public static Level FromText(IReadOnlyList<string> rows, Difficulty difficulty = Difficulty.Easy, int seed = 0)
    {
        int h = rows.Count, w = rows.Max(r => r.Length);
        var level = new Level(w, h, seed, difficulty);
        bool coin = false;
        for (int j = 0; j < h; j++)
        {
            string row = rows[h - 1 - j];
            for (int i = 0; i < row.Length; i++)
            {
                switch (row[i])
                {
                    case '#': level[i, j] = Tile.Wall; break;
                    case '=': level[i, j] = Tile.Crate; break;
                    case '~': level[i, j] = Tile.Lava; break;
                    case '^': level[i, j] = Tile.Saw; break;
                    case '$': level[i, j] = Tile.Coin; level.Coin = (i, j); coin = true; break;
                    case 'P': level.Start = (i + 0.5, j); break;
                }
            }
        }
        for (int j = 0; j < h; j++)
        {
            string row = rows[h - 1 - j];
            for (int i = 0; i < row.Length; i++)
            {
                if (row[i] != 'e') continue;
                int lo = i, hi = i;
                while (level[lo - 1, j] == Tile.Empty && level[lo - 1, j - 1] == Tile.Wall) lo--;
                while (level[hi + 1, j] == Tile.Empty && level[hi + 1, j - 1] == Tile.Wall) hi++;
                level.Enemies.Add(new Enemy(i + 0.5, j, lo + Enemy.HalfWidth, hi + 1 - Enemy.HalfWidth, 1, 0.15));
            }
        }
        if (!coin) throw new ArgumentException("a level map needs a coin ($)");
        return level;
    }

    internal void Fill(int x, int y, int w, int h, Tile t)
    {
        for (int j = y; j < y + h; j++)
            for (int i = x; i < x + w; i++)
                if ((uint)i < (uint)Width && (uint)j < (uint)Height) _tiles[j * Width + i] = t;
    }
}
