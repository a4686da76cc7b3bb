using Genie.Core;

namespace Genie.Worlds.Platformer;

/// <summary>
/// Draws a frame of the platformer: sky, three parallax layers (clouds ×0.1, mountains ×0.25, hills ×0.5 of
/// the camera's motion), the tiles, the enemies and the player, with the camera centred on the player and
/// <see cref="PlatformerSettings.ViewTiles"/> tiles across. Renders at <see cref="PlatformerSettings.Antialias"/>
/// samples per pixel per axis into a scratch buffer, then box-filters down. One renderer per thread.
/// </summary>
public sealed class PlatformerRenderer
{
    private const int Period = 64;              // layer profiles repeat every 64 layer tiles
    private const int ProfileRes = 8;           // profile samples per layer tile
    private const double CloudFactor = 0.1, FarFactor = 0.25, NearFactor = 0.5;
    private const double CloudBase = 5.0, FarBase = 0.5, NearBase = -0.5;

    private readonly int _w, _h, _ss, _sw, _sh;
    private readonly double _scale; // samples per tile
    private readonly double _cameraStep; // camera step in tiles (0: smooth)
    private readonly int _ticksPerStep;   // ticks per recorded frame
    private readonly bool _animatePerFrame;
    private readonly double _parallax;
    private readonly int[] _samples;
    private readonly int[] _colTile, _colU, _rowTile, _rowV, _runStart;
    private readonly int[] _farRidge, _nearRidge, _cloudTop, _cloudBottom, _skyRow;
    private readonly float[] _farProfile = new float[Period * ProfileRes];
    private readonly float[] _nearProfile = new float[Period * ProfileRes];
    private readonly float[] _cloudProfile = new float[Period * ProfileRes];
    private Level? _profilesFor;

    /// <summary>A renderer for frames of <paramref name="settings"/>' size.</summary>
    public PlatformerRenderer(PlatformerSettings settings)
    {
        settings.Validate();
        _w = settings.Width; _h = settings.Height; _ss = settings.Antialias;
        _sw = _w * _ss; _sh = _h * _ss;
        _scale = _sw / settings.ViewTiles;
        _cameraStep = settings.CameraStep * settings.ViewTiles / _w;
        _ticksPerStep = settings.TicksPerStep;
        _animatePerFrame = settings.AnimatePerFrame;
        _parallax = settings.Parallax;
        _samples = new int[_sw * _sh];
        _colTile = new int[_sw]; _colU = new int[_sw]; _runStart = new int[_sw + 1];
        _rowTile = new int[_sh]; _rowV = new int[_sh];
        _farRidge = new int[_sw]; _nearRidge = new int[_sw];
        _cloudTop = new int[_sw]; _cloudBottom = new int[_sw];
        _skyRow = new int[_sh];
    }

    /// <summary>Draws <paramref name="level"/> with the player at <paramref name="player"/> at tick <paramref name="tick"/> into <paramref name="rgb"/> (H×W×3).</summary>
    public void Render(Level level, in PlayerState player, int tick, Span<byte> rgb)
    {
        if (rgb.Length != _w * _h * 3) throw new ArgumentException($"a {_w}×{_h} frame needs {_w * _h * 3} bytes, got {rgb.Length}");
        if (!ReferenceEquals(_profilesFor, level)) BuildProfiles(level);
        double camX = player.X, camY = player.Y;
        if (_cameraStep > 0) { camX = Math.Round(camX / _cameraStep) * _cameraStep; camY = Math.Round(camY / _cameraStep) * _cameraStep; }

        // --- per-column and per-row lookups: which tile and which texel each sample falls in
        for (int sx = 0; sx < _sw; sx++)
        {
            double wx = camX + (sx + 0.5 - _sw * 0.5) / _scale;
            int tx = (int)Math.Floor(wx);
            _colTile[sx] = tx;
            _colU[sx] = Math.Min(Art.T - 1, (int)((wx - tx) * Art.T));
        }
        for (int sy = 0; sy < _sh; sy++)
        {
            double wy = camY - (sy + 0.5 - _sh * 0.5) / _scale;
            int ty = (int)Math.Floor(wy);
            _rowTile[sy] = ty;
            _rowV[sy] = Math.Min(Art.T - 1, (int)((ty + 1 - wy) * Art.T));
        }
        PrepareBackground(level, camX, camY);

        // --- tiles over the background
        var tiles = level.Tiles;
        int lw = level.Width, lh = level.Height;
        int g = level.GroundTheme;
        int[] groundTop = Art.GroundTop[g], groundMid = Art.GroundMid[g];
        // Animation phases: from the tick (CoinRun), or one phase per recorded frame (AnimatePerFrame).
        int frame = tick / _ticksPerStep;
        int lavaPhase = _animatePerFrame ? frame & 3 : (tick / 4) & 3, sawPhase = _animatePerFrame ? frame & 1 : tick & 1;
        int coinPhase = _animatePerFrame ? frame & 7 : (tick / 2) & 7, walkPhase = _animatePerFrame ? frame & 1 : (tick / 5) & 1;
        int[] lavaTop = Art.LavaTop[lavaPhase], lavaMid = Art.LavaMid[lavaPhase];
        int[] saw = Art.Saw[sawPhase], coin = Art.Coin[coinPhase], crate = Art.Crate;
        // Columns come in runs that share a tile column (about ViewTiles runs per row): pick each run's texture
        // once, then the inner loop is one texel load per sample.
        int runs = 0;
        for (int sx = 0; sx < _sw; sx++)
            if (sx == 0 || _colTile[sx] != _colTile[sx - 1]) _runStart[runs++] = sx;
        _runStart[runs] = _sw;
        for (int sy = 0; sy < _sh; sy++)
        {
            int ty = _rowTile[sy], vOff = _rowV[sy] * Art.T;
            bool rowIn = (uint)ty < (uint)lh;
            int o = sy * _sw;
            for (int r = 0; r < runs; r++)
            {
                int s0 = _runStart[r], s1 = _runStart[r + 1], tx = _colTile[s0];
                Tile t = rowIn && (uint)tx < (uint)lw ? tiles[ty * lw + tx] : Tile.Wall;
                if (t == Tile.Empty)
                {
                    for (int sx = s0; sx < s1; sx++) _samples[o + sx] = Background(sx, sy);
                    continue;
                }
                int[] tex = t switch
                {
                    Tile.Wall => Above(tiles, lw, lh, tx, ty) == Tile.Wall ? groundMid : groundTop,
                    Tile.Lava => Above(tiles, lw, lh, tx, ty) == Tile.Lava ? lavaMid : lavaTop,
                    Tile.Saw => saw,
                    Tile.Coin => coin,
                    _ => crate,
                };
                for (int sx = s0; sx < s1; sx++)
                {
                    int c = tex[vOff + _colU[sx]];
                    _samples[o + sx] = c != 0 ? c : Background(sx, sy);
                }
            }
        }

        // --- enemies, then the player on top
        var eArt = Art.Enemy[level.EnemyTheme];
        foreach (var e in level.Enemies)
        {
            double ex = e.XAt(tick);
            if (Math.Abs(ex - camX) > _sw / _scale) continue;
            DrawSprite(eArt[walkPhase], Art.EnemyW, Art.EnemyH, ex - 0.5, e.Y + 0.875, 1.0, 0.875, !e.FacesRightAt(tick), camX, camY);
        }
        int pose = !player.WasSupported ? 3 : Math.Abs(player.Vx) > 0.01 ? 1 + walkPhase : 0;
        // The sprite is drawn a little larger than the hit box (as CoinRun's is), so the player reads at 64×64.
        DrawSprite(Art.Player[level.PlayerTheme][pose], Art.PlayerW, Art.PlayerH, player.X - 0.625, player.Bottom + 1.875, 1.25, 1.875,
            !player.FacingRight, camX, camY);

        Downsample(rgb);
    }

    private static Tile Above(Tile[] tiles, int lw, int lh, int tx, int ty) =>
        (uint)tx < (uint)lw && (uint)(ty + 1) < (uint)lh ? tiles[(ty + 1) * lw + tx] : Tile.Wall;

    private int Background(int sx, int sy)
    {
        if (sy >= _nearRidge[sx]) return sy < _nearRidge[sx] + _ss ? _rimColor : _nearColor;
        if (sy >= _farRidge[sx]) return _farColor;
        if (sy >= _cloudTop[sx] && sy < _cloudBottom[sx]) return _cloudColor;
        return _skyRow[sy];
    }

    private int _farColor, _nearColor, _rimColor, _cloudColor;

    private void PrepareBackground(Level level, double camX, double camY)
    {
        var bg = Art.Background(level.BackgroundTheme);
        _farColor = Opaque(bg.Far);
        _nearColor = Opaque(bg.Near);
        _rimColor = Opaque(bg.Rim);
        _cloudColor = Opaque(Art.Mix(bg.Cloud, bg.SkyBottom, 0.15));
        for (int sy = 0; sy < _sh; sy++) _skyRow[sy] = Opaque(Art.Mix(bg.SkyTop, bg.SkyBottom, (double)sy / (_sh - 1)));
        double half = _sw * 0.5;
        for (int sx = 0; sx < _sw; sx++)
        {
            double dx = (sx + 0.5 - half) / _scale;
            double far = FarFactor * _parallax, near = NearFactor * _parallax, cloud = CloudFactor * _parallax;
            _farRidge[sx] = ScreenY(FarBase + Sample(_farProfile, camX * far + dx), camY * far);
            _nearRidge[sx] = ScreenY(NearBase + Sample(_nearProfile, camX * near + dx), camY * near);
            double thick = Sample(_cloudProfile, camX * cloud + dx);
            if (thick > 0)
            {
                _cloudTop[sx] = ScreenY(CloudBase + thick, camY * cloud);
                _cloudBottom[sx] = ScreenY(CloudBase - 0.4 * thick, camY * cloud);
            }
            else { _cloudTop[sx] = int.MaxValue; _cloudBottom[sx] = int.MinValue; }
        }
    }

    /// <summary>Sample row of a layer point at height <paramref name="ly"/> seen from a camera at layer height <paramref name="camLy"/>.</summary>
    private int ScreenY(double ly, double camLy) => (int)Math.Floor(_sh * 0.5 - (ly - camLy) * _scale);

    private static double Sample(float[] profile, double lx)
    {
        double p = lx * ProfileRes;
        double fl = Math.Floor(p);
        int n = profile.Length;
        int i = (int)(((long)fl % n + n) % n);
        double f = p - fl;
        return profile[i] + (profile[(i + 1) % n] - profile[i]) * f;
    }

    /// <summary>Per-level layer shapes: mountains (peaked), hills (rolling) and clouds, each a periodic 1-D profile.</summary>
    private void BuildProfiles(Level level)
    {
        var rng = new Rng(0xBAC0_0000UL ^ (ulong)(uint)level.Seed);
        int n = _farProfile.Length;
        double TwoPi(int k) => 2 * Math.PI * k / n;
        var (f1, f2, f3) = (rng.NextDouble() * 6.3, rng.NextDouble() * 6.3, rng.NextDouble() * 6.3);
        var (h1, h2) = (rng.NextDouble() * 6.3, rng.NextDouble() * 6.3);
        var (c1, c2) = (rng.NextDouble() * 6.3, rng.NextDouble() * 6.3);
        for (int i = 0; i < n; i++)
        {
            // Integer frequencies keep every profile periodic.
            double a = TwoPi(i);
            double peaks = 1 - Math.Abs(Math.Sin(a * 5 + f1)); // sharp tops
            _farProfile[i] = (float)(0.8 + 3.2 * peaks * (0.6 + 0.4 * Math.Sin(a * 3 + f2)) + 0.5 * Math.Sin(a * 11 + f3));
            _nearProfile[i] = (float)(1.4 + 0.9 * Math.Sin(a * 7 + h1) + 0.5 * Math.Sin(a * 13 + h2));
            double cl = Math.Sin(a * 6 + c1) + 0.6 * Math.Sin(a * 17 + c2);
            _cloudProfile[i] = (float)Math.Max(0, (cl - 0.7) * 0.9);
        }
        _profilesFor = level;
    }

    /// <summary>Draws a sprite whose top-left corner is at world (<paramref name="left"/>, <paramref name="top"/>), size in tiles.</summary>
    private void DrawSprite(int[] art, int aw, int ah, double left, double top, double width, double height, bool mirror, double camX, double camY)
    {
        double sx0 = (left - camX) * _scale + _sw * 0.5, sy0 = (camY - top) * _scale + _sh * 0.5;
        int x0 = Math.Max(0, (int)Math.Floor(sx0)), x1 = Math.Min(_sw, (int)Math.Ceiling(sx0 + width * _scale));
        int y0 = Math.Max(0, (int)Math.Floor(sy0)), y1 = Math.Min(_sh, (int)Math.Ceiling(sy0 + height * _scale));
        double ux = aw / (width * _scale), vy = ah / (height * _scale);
        for (int sy = y0; sy < y1; sy++)
        {
            int v = (int)Math.Floor((sy + 0.5 - sy0) * vy);
            if ((uint)v >= (uint)ah) continue;
            for (int sx = x0; sx < x1; sx++)
            {
                int u = (int)Math.Floor((sx + 0.5 - sx0) * ux);
                if ((uint)u >= (uint)aw) continue;
                int c = art[v * aw + (mirror ? aw - 1 - u : u)];
                if (c != 0) _samples[sy * _sw + sx] = c;
            }
        }
    }

    private void Downsample(Span<byte> rgb)
    {
        int ss = _ss;
        if (ss == 1)
        {
            for (int i = 0; i < _samples.Length; i++)
            {
                int c = _samples[i];
                rgb[3 * i] = (byte)(c >> 16); rgb[3 * i + 1] = (byte)(c >> 8); rgb[3 * i + 2] = (byte)c;
            }
            return;
        }
        int n = ss * ss, half = n / 2;
        for (int y = 0; y < _h; y++)
            for (int x = 0; x < _w; x++)
            {
                int r = 0, g = 0, b = 0;
                for (int dy = 0; dy < ss; dy++)
                {
                    int o = (y * ss + dy) * _sw + x * ss;
                    for (int dx = 0; dx < ss; dx++)
                    {
                        int c = _samples[o + dx];
                        r += (c >> 16) & 0xFF; g += (c >> 8) & 0xFF; b += c & 0xFF;
                    }
                }
                int p = (y * _w + x) * 3;
                rgb[p] = (byte)((r + half) / n); rgb[p + 1] = (byte)((g + half) / n); rgb[p + 2] = (byte)((b + half) / n);
            }
    }

    private static int Opaque(int rgb) => unchecked((int)0xFF000000) | rgb;
}
