namespace Genie.Models.Training;

/// <summary>Pictures of training progress: rows of frames (real, reconstructed or predicted) as one PNG.</summary>
public static class SampleGrid
{
    /// <summary>
    /// Lays out <paramref name="rows"/>, each <paramref name="columns"/> frames of (H, W, 3), into one RGB image
    /// with a 2-pixel gap, and writes it as PNG.
    /// </summary>
    public static void Write(string path, IReadOnlyList<byte[]> rows, int columns, int height, int width)
    {
        var (rgb, w, h) = Compose(rows, columns, height, width);
        Media.Png.Save(new Media.Image(w, h, rgb), path);
    }

    /// <summary>The grid as RGB bytes with its width and height.</summary>
    public static (byte[] Rgb, int Width, int Height) Compose(IReadOnlyList<byte[]> rows, int columns, int height, int width)
    {
        const int gap = 2;
        int gw = columns * (width + gap) + gap, gh = rows.Count * (height + gap) + gap;
        var img = new byte[gw * gh * 3];
        Array.Fill(img, (byte)40);
        for (int r = 0; r < rows.Count; r++)
        for (int c = 0; c < columns; c++)
        {
            int frame = c * height * width * 3;
            if (frame + height * width * 3 > rows[r].Length) continue;
            for (int y = 0; y < height; y++)
                Array.Copy(rows[r], frame + y * width * 3, img, ((gap + r * (height + gap) + y) * gw + gap + c * (width + gap)) * 3, width * 3);
        }
        return (img, gw, gh);
    }
}
