namespace Genie.Media;

/// <summary>Resampling of RGB24 images: bilinear, area (box) averaging, and nearest neighbour.</summary>
/// <remarks>
/// Pixel centres are aligned (a pixel covers [x, x+1) and its centre is x+½ in both images), so a resize
/// does not shift the picture. Use <see cref="Area"/> to shrink (every source pixel contributes, no
/// aliasing), <see cref="Bilinear"/> to enlarge smoothly or change size slightly, <see cref="Nearest"/>
/// to enlarge pixel art crisply (e.g. a 64×64 frame shown at 4×).
/// <para>
/// Hand-written rather than SkiaSharp's: Skia has no area (box) filter. Its antialiased shrink picks one mipmap level
/// for both axes, the less-shrunk one's, so an uneven shrink (a 30×10 picture stretched to 3×3) blends colours from
/// a third of the picture away into each pixel. These loops work on decoded, size-checked images; they parse nothing.
/// </para>
/// </remarks>
public static class Resize
{
    /// <summary>Bilinear interpolation between the four nearest source pixels (edges clamp).</summary>
    public static Image Bilinear(Image src, int width, int height)
    {
        var dst = new Image(width, height);
        var values = new float[dst.Data.Length];
        Bilinear(src, width, height, values);
        for (int i = 0; i < values.Length; i++) dst.Data[i] = (byte)(values[i] + 0.5f);
        return dst;
    }

    /// <summary>
    /// <see cref="Bilinear(Image, int, int)"/> before rounding: the interpolated values 0..255 as floats, RGB
    /// interleaved (height × width × 3) into <paramref name="dst"/> (for feature extractors that want them unrounded).
    /// </summary>
    public static void Bilinear(Image src, int width, int height, Span<float> dst)
    {
        if (dst.Length != width * height * 3) throw new ArgumentException($"{dst.Length} floats are not {width}x{height}x3");
        var (x0s, x1s, wxs) = Taps(src.Width, width);
        var (y0s, y1s, wys) = Taps(src.Height, height);
        byte[] s = src.Data;
        int sw = src.Width;
        for (int y = 0; y < height; y++)
        {
            int r0 = y0s[y] * sw, r1 = y1s[y] * sw;
            float wy = wys[y];
            for (int x = 0; x < width; x++)
            {
                int a = (r0 + x0s[x]) * 3, b = (r0 + x1s[x]) * 3, c = (r1 + x0s[x]) * 3, e = (r1 + x1s[x]) * 3;
                float wx = wxs[x];
                int o = (y * width + x) * 3;
                for (int ch = 0; ch < 3; ch++)
                {
                    float top = s[a + ch] + (s[b + ch] - s[a + ch]) * wx;
                    float bot = s[c + ch] + (s[e + ch] - s[c + ch]) * wx;
                    dst[o + ch] = top + (bot - top) * wy;
                }
            }
        }
    }

    /// <summary>
    /// Area averaging: each destination pixel is the mean of the source area it covers, partial pixels
    /// weighted by the covered fraction. Exact for integer factors (a 2× shrink averages 2×2 blocks).
    /// Enlarging with it degenerates to nearest neighbour with blended seams.
    /// </summary>
    public static Image Area(Image src, int width, int height)
    {
        var dst = new Image(width, height);
        var xw = BoxWeights(src.Width, width);
        var yw = BoxWeights(src.Height, height);
        // Horizontal pass into floats (src.Height × width × 3), then vertical.
        var tmp = new float[src.Height * width * 3];
        for (int y = 0; y < src.Height; y++)
            for (int x = 0; x < width; x++)
            {
                float r = 0, g = 0, b = 0;
                foreach (var (i, w) in xw[x])
                {
                    int o = (y * src.Width + i) * 3;
                    r += src.Data[o] * w; g += src.Data[o + 1] * w; b += src.Data[o + 2] * w;
                }
                int t = (y * width + x) * 3;
                tmp[t] = r; tmp[t + 1] = g; tmp[t + 2] = b;
            }
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                float r = 0, g = 0, b = 0;
                foreach (var (j, w) in yw[y])
                {
                    int t = (j * width + x) * 3;
                    r += tmp[t] * w; g += tmp[t + 1] * w; b += tmp[t + 2] * w;
                }
                int o = (y * width + x) * 3;
                dst.Data[o] = ToByte(r); dst.Data[o + 1] = ToByte(g); dst.Data[o + 2] = ToByte(b);
            }
        return dst;
    }

    /// <summary>Nearest neighbour (each destination pixel copies the source pixel under its centre).</summary>
    public static Image Nearest(Image src, int width, int height)
    {
        var dst = new Image(width, height);
        for (int y = 0; y < height; y++)
        {
            int sy = Math.Min(src.Height - 1, (int)((y + 0.5) * src.Height / height));
            for (int x = 0; x < width; x++)
            {
                int sx = Math.Min(src.Width - 1, (int)((x + 0.5) * src.Width / width));
                Array.Copy(src.Data, (sy * src.Width + sx) * 3, dst.Data, (y * width + x) * 3, 3);
            }
        }
        return dst;
    }

    /// <summary>Enlarges by an integer factor with nearest neighbour (crisp pixels).</summary>
    public static Image Scale(Image src, int factor)
    {
        if (factor < 1) throw new ArgumentOutOfRangeException(nameof(factor), "the factor must be at least 1");
        return factor == 1 ? src.Clone() : Nearest(src, src.Width * factor, src.Height * factor);
    }

    private static byte ToByte(float v) => v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)(v + 0.5f);

    private static (int[] Lo, int[] Hi, float[] W) Taps(int srcSize, int dstSize)
    {
        if (dstSize <= 0) throw new ArgumentOutOfRangeException(nameof(dstSize), $"a resize needs a positive size, got {dstSize}");
        var lo = new int[dstSize]; var hi = new int[dstSize]; var w = new float[dstSize];
        double scale = (double)srcSize / dstSize;
        for (int i = 0; i < dstSize; i++)
        {
            double s = (i + 0.5) * scale - 0.5;
            if (s < 0) s = 0;
            int i0 = Math.Min((int)s, srcSize - 1);
            lo[i] = i0;
            hi[i] = Math.Min(i0 + 1, srcSize - 1);
            w[i] = (float)(s - i0);
        }
        return (lo, hi, w);
    }

    private static (int Index, float Weight)[][] BoxWeights(int srcSize, int dstSize)
    {
        if (dstSize <= 0) throw new ArgumentOutOfRangeException(nameof(dstSize), $"a resize needs a positive size, got {dstSize}");
        var result = new (int, float)[dstSize][];
        double scale = (double)srcSize / dstSize;
        for (int i = 0; i < dstSize; i++)
        {
            double a = i * scale, b = (i + 1) * scale;
            var taps = new List<(int, float)>();
            for (int j = (int)Math.Floor(a); j < Math.Min(srcSize, (int)Math.Ceiling(b)); j++)
            {
                double cover = Math.Min(b, j + 1) - Math.Max(a, j);
                if (cover > 1e-9) taps.Add((j, (float)(cover / scale)));
            }
            result[i] = taps.ToArray();
        }
        return result;
    }
}
