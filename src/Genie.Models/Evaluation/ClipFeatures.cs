namespace Genie.Models.Evaluation;

/// <summary>
/// The project's own clip features for a Fréchet video distance, used because the standard ones (I3D trained on
/// Kinetics-400) cannot be had here. Every FVD computed with them is reported with <see cref="Name"/> beside it, so it
/// is never read as the standard FVD; numbers from the two are not comparable.
/// <para>
/// A clip of T frames (uint8, H×W×3) gives <see cref="Dimension"/> = 67 numbers, fixed (no learned weights):
/// </para>
/// <list type="number">
/// <item>appearance (48): each frame averaged over a 4×4 grid of cells (cell r covers rows ⌊r·H/4⌋..⌊(r+1)·H/4⌋ − 1, the
/// same for columns), red, green and blue in [0, 1], then averaged over the frames;</item>
/// <item>change (16): per cell, the mean absolute difference of luminance (BT.601, [0, 1]) between consecutive frames,
/// averaged over the transitions;</item>
/// <item>motion (3): the view's mean shift per transition to the right and up, in pixels
/// (<see cref="Metrics.ViewShift"/>, radius min(12, min(H, W) − 1)), and the share of transitions that move.</item>
/// </list>
/// </summary>
public static class ClipFeatures
{
    /// <summary>The extractor's name, reported as <c>fvd_features</c> beside every FVD made with it.</summary>
    public const string Name = "genie-pixel-motion-v1 (the project's own: 4x4 colour means, frame change, view motion; not I3D)";
    /// <summary>Features per clip.</summary>
    public const int Dimension = 48 + 16 + 3;
    private const int Grid = 4;

    /// <summary>The features of one clip (<paramref name="frames"/> frames of H×W×3 bytes, at least 2).</summary>
    public static float[] Extract(ReadOnlySpan<byte> clip, int frames, int height, int width)
    {
        int frameBytes = height * width * 3;
        if (frames < 2) throw new ArgumentException("clip features need at least 2 frames");
        if (height < Grid || width < Grid) throw new ArgumentException($"clip features need frames of at least {Grid}x{Grid} pixels");
        if (clip.Length != frames * frameBytes) throw new ArgumentException($"{clip.Length} bytes are not {frames} frames of {width}x{height}x3");
        var f = new double[Dimension];
        var previous = new double[height * width];
        var luma = new double[height * width];
        int radius = Math.Min(12, Math.Min(height, width) - 1), moving = 0;
        for (int t = 0; t < frames; t++)
        {
            var frame = clip.Slice(t * frameBytes, frameBytes);
            for (int p = 0; p < height * width; p++) luma[p] = (0.299 * frame[3 * p] + 0.587 * frame[3 * p + 1] + 0.114 * frame[3 * p + 2]) / 255.0;
            for (int r = 0; r < Grid; r++)
                for (int c = 0; c < Grid; c++)
                {
                    int y0 = r * height / Grid, y1 = (r + 1) * height / Grid, x0 = c * width / Grid, x1 = (c + 1) * width / Grid;
                    double red = 0, green = 0, blue = 0, change = 0;
                    for (int y = y0; y < y1; y++)
                        for (int x = x0; x < x1; x++)
                        {
                            int p = y * width + x;
                            red += frame[3 * p]; green += frame[3 * p + 1]; blue += frame[3 * p + 2];
                            if (t > 0) change += Math.Abs(luma[p] - previous[p]);
                        }
                    double pixels = (y1 - y0) * (x1 - x0);
                    int cell = r * Grid + c;
                    f[3 * cell] += red / 255 / pixels / frames;
                    f[3 * cell + 1] += green / 255 / pixels / frames;
                    f[3 * cell + 2] += blue / 255 / pixels / frames;
                    if (t > 0) f[48 + cell] += change / pixels / (frames - 1);
                }
            if (t > 0)
            {
                var (dx, dy) = Metrics.ViewShift(clip.Slice((t - 1) * frameBytes, frameBytes), frame, height, width, radius);
                f[64] += (double)dx / (frames - 1);
                f[65] -= (double)dy / (frames - 1);
                if (dx != 0 || dy != 0) moving++;
            }
            (previous, luma) = (luma, previous);
        }
        f[66] = (double)moving / (frames - 1);
        return f.Select(v => (float)v).ToArray();
    }

    /// <summary>
    /// Fréchet distance between Gaussians fitted to two sets of feature rows (<see cref="Statistics.FitGaussian"/>,
    /// <see cref="Statistics.FrechetDistance"/>): the FVD formula. Each set needs at least two rows.
    /// </summary>
    public static double FrechetDistance(IReadOnlyList<float[]> real, IReadOnlyList<float[]> generated)
    {
        var (m1, c1) = Statistics.FitGaussian(real);
        var (m2, c2) = Statistics.FitGaussian(generated);
        return Statistics.FrechetDistance(m1, c1, m2, c2);
    }
}
