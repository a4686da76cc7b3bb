using Genie.Core;
using Genie.Data;
using Genie.Media;
using Genie.Worlds.Agents;
using Genie.Worlds.Platformer;

namespace Genie.Play;

/// <summary>Turns any picture into a prompt frame of the model's size.</summary>
public static class PromptImage
{
    /// <summary>
    /// Decodes an uploaded image (PNG, JPEG, WebP, GIF or BMP; its size checked from the header first) and fits it to
    /// <paramref name="width"/>×<paramref name="height"/>. Throws <see cref="InvalidDataException"/> with a message for the user.
    /// </summary>
    public static byte[] FromBytes(ReadOnlySpan<byte> bytes, int width, int height, FitMode fit, long maxPixels = ImageFile.DefaultMaxPixels)
    {
        if (bytes.Length == 0) throw new InvalidDataException($"the upload is empty (0 bytes); choose a {ImageFile.Readable} image");
        return Fit(ImageFile.Decode(bytes, maxPixels), width, height, fit).Data;
    }

    /// <summary>Reads an image file (any that <see cref="ImageFile"/> decodes) and fits it.</summary>
    public static byte[] FromFile(string path, int width, int height, FitMode fit)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no image {path}");
        try { return FromBytes(File.ReadAllBytes(path), width, height, fit); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    /// <summary>
    /// Resizes to exactly <paramref name="width"/>×<paramref name="height"/>: <see cref="FitMode.Crop"/> scales to
    /// cover the frame and cuts the centre out (the default: no bars, like the training frames),
    /// <see cref="FitMode.Letterbox"/> scales to fit inside and pads with black, <see cref="FitMode.Stretch"/> distorts.
    /// Shrinking averages areas (no aliasing); enlarging interpolates bilinearly.
    /// </summary>
    public static Image Fit(Image src, int width, int height, FitMode fit)
    {
        if (src.Width == width && src.Height == height) return src;
        switch (fit)
        {
            case FitMode.Stretch:
                return Scale(src, width, height);
            case FitMode.Crop:
            {
                // The largest centred rectangle of the target's aspect ratio.
                double target = (double)width / height;
                int cw = src.Width, ch = src.Height;
                if ((double)cw / ch > target) cw = Math.Max(1, (int)Math.Round(ch * target));
                else ch = Math.Max(1, (int)Math.Round(cw / target));
                var cropped = cw == src.Width && ch == src.Height ? src : src.Crop((src.Width - cw) / 2, (src.Height - ch) / 2, cw, ch);
                return Scale(cropped, width, height);
            }
            default:
            {
                double s = Math.Min((double)width / src.Width, (double)height / src.Height);
                int w = Math.Clamp((int)Math.Round(src.Width * s), 1, width), h = Math.Clamp((int)Math.Round(src.Height * s), 1, height);
                var dst = new Image(width, height);
                dst.Blit(Scale(src, w, h), (width - w) / 2, (height - h) / 2);
                return dst;
            }
        }
    }

    private static Image Scale(Image src, int w, int h) =>
        w <= src.Width && h <= src.Height ? Resize.Area(src, w, h) : Resize.Bilinear(src, w, h);
}

/// <summary>
/// Sample prompt frames for the page: from a dataset when one is given (or the run names one that exists here),
/// else the PNGs a slim model folder ships in <c>prompts/</c>, else frames rendered from the platformer world
/// itself (the world the shipped model was trained on). All at the model's frame size.
/// </summary>
public sealed class SampleFrames
{
    private readonly List<byte[]> _frames;

    /// <summary>Where the samples come from, in words.</summary>
    public string Source { get; }
    /// <summary>Number of samples.</summary>
    public int Count => _frames.Count;
    /// <summary>Frame size.</summary>
    public int Width { get; }
    /// <summary>Frame size.</summary>
    public int Height { get; }

    private SampleFrames(List<byte[]> frames, string source, int width, int height)
    {
        _frames = frames; Source = source; Width = width; Height = height;
    }

    /// <summary>Sample <paramref name="index"/> (H, W, 3); a copy.</summary>
    public byte[] Get(int index)
    {
        if ((uint)index >= (uint)_frames.Count) throw new ArgumentOutOfRangeException(nameof(index), $"sample {index} does not exist (0..{_frames.Count - 1})");
        return (byte[])_frames[index].Clone();
    }

    /// <summary>Picks the sample source as described on the class.</summary>
    public static SampleFrames Open(string? dataDir, string? runDir, int width, int height, Difficulty difficulty, int count = 12)
    {
        if (dataDir is not null) return FromDataset(dataDir, width, height, count);
        if (runDir is not null)
        {
            var prompts = Path.Combine(runDir, "prompts");
            if (Directory.Exists(prompts))
            {
                var files = Directory.GetFiles(prompts, "*.png").Order(StringComparer.Ordinal).Take(count).ToList();
                if (files.Count > 0)
                    return new SampleFrames(files.Select(f => PromptImage.FromFile(f, width, height, FitMode.Crop)).ToList(), $"prompts/ of {Path.GetFileName(Path.GetFullPath(runDir).TrimEnd('/'))}", width, height);
            }
            var recorded = RecordedDataset(runDir);
            if (recorded is not null && File.Exists(Path.Combine(recorded, "manifest.json")))
            {
                try { return FromDataset(recorded, width, height, count); }
                catch (Exception e) when (e is IOException or InvalidDataException) { /* fall back to the world */ }
            }
        }
        return FromWorld(width, height, difficulty, count);
    }

    /// <summary>Frames of a dataset's validation episodes (all episodes if it has none), seeded.</summary>
    public static SampleFrames FromDataset(string dataDir, int width, int height, int count = 12)
    {
        using var ds = Dataset.Open(dataDir);
        var episodes = ds.Validation.Count > 0 ? ds.Validation : Enumerable.Range(0, ds.Episodes.Count).ToList();
        if (episodes.Count == 0) throw new InvalidDataException($"{dataDir} has no episodes");
        var rng = new Rng(12345);
        var frames = new List<byte[]>();
        for (int i = 0; i < count; i++)
        {
            int e = episodes[i % episodes.Count];
            int t = rng.NextInt(Math.Max(1, ds.Episodes[e].Length));
            var img = new Image(ds.Width, ds.Height, ds.ReadFrame(e, t));
            frames.Add(PromptImage.Fit(img, width, height, FitMode.Crop).Data);
        }
        // Named by its folder, not its full path: the page (and /api/info) shows it to whoever connects.
        return new SampleFrames(frames, $"dataset {Path.GetFileName(Path.GetFullPath(ds.Directory).TrimEnd('/'))}", width, height);
    }

    /// <summary>Frames of the platformer world: level i, a few ticks into a random agent's play.</summary>
    public static SampleFrames FromWorld(int width, int height, Difficulty difficulty, int count = 12)
    {
        var world = new PlatformerWorld(new PlatformerSettings { Width = width, Height = height, Difficulty = difficulty });
        var frames = new List<byte[]>();
        for (int i = 0; i < count; i++)
        {
            world.Reset(1000 + i);
            var agent = new RandomStickyAgent((ulong)i + 1);
            int ticks = 3 + (i * 7) % 25;
            for (int t = 0; t < ticks && !world.Done; t++) world.Step(agent.Act(world));
            if (world.Done) world.Reset(1000 + i);
            frames.Add(world.Render().Data);
        }
        return new SampleFrames(frames, $"platformer world ({difficulty.ToString().ToLowerInvariant()} levels)", width, height);
    }

    private static string? RecordedDataset(string runDir)
    {
        try
        {
            var latest = Genie.Models.Checkpoint.Latest(runDir);
            var state = latest is null ? null : Path.Combine(latest, "state.json");
            return state is not null && File.Exists(state) ? Genie.Models.Checkpoint.LoadState(state).Data : null;
        }
        catch (Exception e) when (e is IOException or InvalidDataException) { return null; }
    }
}
