namespace Genie.Media;

/// <summary>
/// An RGB image, 8 bits per channel, stored row-major as height × width × 3 bytes (HWC, the layout of a
/// dataset frame and of a `.npy` `(H, W, 3)` array). Pixel (x, y) starts at byte <c>(y·Width + x)·3</c>.
/// </summary>
public sealed class Image
{
    /// <summary>Width in pixels.</summary>
    public int Width { get; }
    /// <summary>Height in pixels.</summary>
    public int Height { get; }
    /// <summary>The pixels, <c>Height·Width·3</c> bytes, row-major HWC.</summary>
    public byte[] Data { get; }

    /// <summary>A black image.</summary>
    public Image(int width, int height)
    {
        CheckSize(width, height);
        Width = width;
        Height = height;
        Data = new byte[checked(width * height * 3)];
    }

    /// <summary>An image over existing pixels (not copied); <paramref name="rgb"/> must hold exactly <c>width·height·3</c> bytes.</summary>
    public Image(int width, int height, byte[] rgb)
    {
        CheckSize(width, height);
        if (rgb.Length != (long)width * height * 3)
            throw new ArgumentException($"an RGB image of {width}×{height} needs {(long)width * height * 3} bytes, got {rgb.Length}");
        Width = width;
        Height = height;
        Data = rgb;
    }

    /// <summary>An image holding a copy of <paramref name="rgb"/> (HWC bytes).</summary>
    public static Image FromRgb(int width, int height, ReadOnlySpan<byte> rgb)
    {
        var img = new Image(width, height);
        if (rgb.Length != img.Data.Length)
            throw new ArgumentException($"an RGB image of {width}×{height} needs {img.Data.Length} bytes, got {rgb.Length}");
        rgb.CopyTo(img.Data);
        return img;
    }

    /// <summary>
    /// An image from floats in HWC order, as models produce them: each value is clamped to [0, 1] and
    /// rounded to <c>x·255</c> (the inverse of the data convention <c>x/255</c>).
    /// </summary>
    public static Image FromFloats(int width, int height, ReadOnlySpan<float> hwc)
    {
        var img = new Image(width, height);
        if (hwc.Length != img.Data.Length)
            throw new ArgumentException($"an RGB image of {width}×{height} needs {img.Data.Length} floats, got {hwc.Length}");
        for (int i = 0; i < hwc.Length; i++)
        {
            float v = hwc[i];
            img.Data[i] = v >= 1f ? (byte)255 : v > 0f ? (byte)(v * 255f + 0.5f) : (byte)0; // NaN → 0
        }
        return img;
    }

    /// <summary>The pixels as floats in [0, 1] (<c>x/255</c>), HWC.</summary>
    public void ToFloats(Span<float> hwc)
    {
        if (hwc.Length != Data.Length) throw new ArgumentException($"expected {Data.Length} floats, got {hwc.Length}");
        for (int i = 0; i < Data.Length; i++) hwc[i] = Data[i] * (1f / 255f);
    }

    /// <summary>Reads pixel (x, y).</summary>
    public (byte R, byte G, byte B) GetPixel(int x, int y)
    {
        int o = Index(x, y);
        return (Data[o], Data[o + 1], Data[o + 2]);
    }

    /// <summary>Writes pixel (x, y).</summary>
    public void SetPixel(int x, int y, byte r, byte g, byte b)
    {
        int o = Index(x, y);
        Data[o] = r; Data[o + 1] = g; Data[o + 2] = b;
    }

    /// <summary>Fills the whole image with one colour.</summary>
    public void Fill(byte r, byte g, byte b) => FillRect(0, 0, Width, Height, r, g, b);

    /// <summary>Fills a rectangle, clipped to the image.</summary>
    public void FillRect(int x, int y, int w, int h, byte r, byte g, byte b)
    {
        int x0 = Math.Max(0, x), y0 = Math.Max(0, y), x1 = Math.Min(Width, x + w), y1 = Math.Min(Height, y + h);
        for (int yy = y0; yy < y1; yy++)
            for (int xx = x0; xx < x1; xx++)
            {
                int o = (yy * Width + xx) * 3;
                Data[o] = r; Data[o + 1] = g; Data[o + 2] = b;
            }
    }

    /// <summary>Copies <paramref name="src"/> into this image with its top-left corner at (x, y), clipped.</summary>
    public void Blit(Image src, int x, int y)
    {
        int x0 = Math.Max(0, x), x1 = Math.Min(Width, x + src.Width);
        if (x1 <= x0) return;
        for (int sy = 0; sy < src.Height; sy++)
        {
            int dy = y + sy;
            if (dy < 0 || dy >= Height) continue;
            Array.Copy(src.Data, (sy * src.Width + (x0 - x)) * 3, Data, (dy * Width + x0) * 3, (x1 - x0) * 3);
        }
    }

    /// <summary>A copy of the rectangle (x, y, w, h), which must lie inside the image.</summary>
    public Image Crop(int x, int y, int w, int h)
    {
        if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > Width || y + h > Height)
            throw new ArgumentOutOfRangeException(nameof(x), $"crop ({x}, {y}, {w}×{h}) is outside a {Width}×{Height} image");
        var dst = new Image(w, h);
        for (int yy = 0; yy < h; yy++)
            Array.Copy(Data, ((y + yy) * Width + x) * 3, dst.Data, yy * w * 3, w * 3);
        return dst;
    }

    /// <summary>A deep copy.</summary>
    public Image Clone() => new(Width, Height, (byte[])Data.Clone());

    /// <summary>
    /// Lays images out in a grid (row-major, <paramref name="columns"/> per row) with <paramref name="padding"/>
    /// pixels of <paramref name="background"/> between and around them; cells take the largest image's size.
    /// </summary>
    public static Image Grid(IReadOnlyList<Image> images, int columns, int padding = 2, (byte R, byte G, byte B) background = default)
    {
        if (images.Count == 0) throw new ArgumentException("a grid needs at least one image");
        if (columns <= 0) throw new ArgumentOutOfRangeException(nameof(columns), "columns must be positive");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), "padding must not be negative");
        int cw = images.Max(i => i.Width), ch = images.Max(i => i.Height);
        int cols = Math.Min(columns, images.Count), rows = (images.Count + columns - 1) / columns;
        var grid = new Image(cols * cw + (cols + 1) * padding, rows * ch + (rows + 1) * padding);
        grid.Fill(background.R, background.G, background.B);
        for (int i = 0; i < images.Count; i++)
            grid.Blit(images[i], padding + (i % columns) * (cw + padding), padding + (i / columns) * (ch + padding));
        return grid;
    }

    private int Index(int x, int y)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height)
            throw new ArgumentOutOfRangeException(nameof(x), $"pixel ({x}, {y}) is outside a {Width}×{Height} image");
        return (y * Width + x) * 3;
    }

    private static void CheckSize(int width, int height)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"an image needs a positive size, got {width}×{height}");
    }
}
