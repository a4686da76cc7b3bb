using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Genie.Data;

/// <summary>How a video's frame is made to fit the dataset's frame size.</summary>
public enum FitMode
{
    /// <summary>Scale to cover the frame, then crop the centre (no bars, loses the edges).</summary>
    Crop,
    /// <summary>Scale to fit inside the frame, pad with black bars (keeps everything).</summary>
    Letterbox,
    /// <summary>Scale each axis independently (distorts).</summary>
    Stretch,
}

/// <summary>Options of <see cref="VideoIngest.Run"/>.</summary>
public sealed record IngestOptions
{
    /// <summary>Output frame rate; ffmpeg resamples (drops or repeats frames).</summary>
    public double Fps { get; init; } = 10;
    /// <summary>Output width.</summary>
    public int Width { get; init; } = 64;
    /// <summary>Output height.</summary>
    public int Height { get; init; } = 64;
    /// <summary>Crop, letterbox or stretch.</summary>
    public FitMode Fit { get; init; } = FitMode.Crop;
    /// <summary>Longest episode; longer runs are cut into several.</summary>
    public int MaxFrames { get; init; } = 1000;
    /// <summary>Shortest episode kept; shorter pieces (between scene changes) are dropped.</summary>
    public int MinFrames { get; init; } = 16;
    /// <summary>
    /// Scene-change threshold in (0, 1]: a cut where the colour histograms of consecutive frames differ by more
    /// than this (half the L1 distance of 4×4×4-bin histograms: 0 same colours, 1 disjoint). 0 disables cuts.
    /// </summary>
    public double SceneThreshold { get; init; } = 0.5;
    /// <summary>Share of episodes held out for validation.</summary>
    public double ValidationFraction { get; init; } = 0.05;
    /// <summary>Seeds the train/validation split.</summary>
    public ulong Seed { get; init; }
    /// <summary>Replace an existing output directory.</summary>
    public bool Overwrite { get; init; }
    /// <summary>The ffmpeg program.</summary>
    public string Ffmpeg { get; init; } = "ffmpeg";
}

/// <summary>What an ingest did.</summary>
public sealed record IngestReport(int Files, int FilesSkipped, int Episodes, long Frames, int PiecesDropped, DatasetManifest? Manifest);

/// <summary>ffmpeg is not installed (or not where we were told).</summary>
public sealed class FfmpegNotFoundException(string message) : Exception(message);

/// <summary>
/// Turns users' videos into a dataset of the project's format (frames only, no actions): ffmpeg decodes each
/// file, resamples it to the frame rate and resizes it; episodes are cut at scene changes and at a maximum
/// length. A file ffmpeg cannot decode is reported and skipped (its episodes are removed); the dataset appears
/// atomically at the end (see <see cref="DatasetWriter"/>).
/// </summary>
public static class VideoIngest
{
    /// <summary>File name endings treated as video when a directory is given.</summary>
    public static readonly string[] VideoExtensions =
        [".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".flv", ".wmv", ".mpg", ".mpeg", ".ts", ".gif", ".ogv", ".3gp"];

    /// <summary>
    /// Expands files and directories (searched recursively for <see cref="VideoExtensions"/>, sorted) into a list
    /// of files. A path that does not exist is an error; so is a directory without videos.
    /// </summary>
    public static List<string> ExpandInputs(IEnumerable<string> inputs)
    {
        var files = new List<string>();
        foreach (var input in inputs)
        {
            if (File.Exists(input)) files.Add(input);
            else if (Directory.Exists(input))
            {
                var found = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
                    .Where(f => VideoExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    .Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0) throw new FileNotFoundException($"{input}: no video files in this directory (looked for {string.Join(" ", VideoExtensions)})");
                files.AddRange(found);
            }
            else throw new FileNotFoundException($"{input}: no such file or directory");
        }
        if (files.Count == 0) throw new ArgumentException("no input videos given");
        return files;
    }

    /// <summary>Throws <see cref="FfmpegNotFoundException"/> with install advice unless ffmpeg runs.</summary>
    public static string CheckFfmpeg(string ffmpeg = "ffmpeg")
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(ffmpeg, "-hide_banner -version")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            }) ?? throw new Win32Exception();
            string first = p.StandardOutput.ReadLine() ?? "";
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new FfmpegNotFoundException($"'{ffmpeg} -version' failed (exit code {p.ExitCode})");
            return first;
        }
        catch (Win32Exception)
        {
            throw new FfmpegNotFoundException(
                $"ffmpeg was not found (tried '{ffmpeg}'). Video ingestion decodes with ffmpeg: install it " +
                "(Debian/Ubuntu: sudo apt-get install ffmpeg; macOS: brew install ffmpeg) or pass --ffmpeg PATH.");
        }
    }

    /// <summary>The ffmpeg filter chain for the options: resample, resize to fit, square pixels, RGB.</summary>
    public static string FilterChain(IngestOptions o)
    {
        string fps = o.Fps.ToString("0.######", CultureInfo.InvariantCulture);
        string size = $"{o.Width}:{o.Height}";
        string fit = o.Fit switch
        {
            FitMode.Crop => $"scale={size}:force_original_aspect_ratio=increase:flags=area,crop={size}",
            FitMode.Letterbox => $"scale={size}:force_original_aspect_ratio=decrease:flags=area,pad={size}:(ow-iw)/2:(oh-ih)/2:color=black",
            _ => $"scale={size}:flags=area",
        };
        return $"fps={fps},{fit},setsar=1,format=rgb24";
    }

    /// <summary>
    /// Ingests <paramref name="files"/> into a new dataset at <paramref name="outDir"/>. <paramref name="log"/>
    /// receives one line per skipped file; <paramref name="progress"/> gets (file index, frames so far).
    /// Throws if nothing at all could be ingested (no dataset is written then).
    /// </summary>
    public static IngestReport Run(IReadOnlyList<string> files, string outDir, IngestOptions o, Action<string>? log = null,
        Action<int, long>? progress = null, CancellationToken cancel = default)
    {
        Validate(o);
        CheckFfmpeg(o.Ffmpeg);
        var details = new JsonObject
        {
            ["inputs"] = new JsonArray(files.Select(f => (JsonNode)Path.GetFullPath(f)).ToArray()),
            ["fit"] = o.Fit.ToString().ToLowerInvariant(),
            ["max_frames"] = o.MaxFrames,
            ["min_frames"] = o.MinFrames,
            ["scene_threshold"] = o.SceneThreshold,
            ["ffmpeg_filter"] = FilterChain(o),
        };
        using var writer = new DatasetWriter(outDir, new DatasetDescription
        {
            Source = "video", Height = o.Height, Width = o.Width, Fps = o.Fps, Seed = o.Seed, Details = details,
            ValidationFraction = o.ValidationFraction,
        }, o.Overwrite, files);

        int next = 0, skipped = 0, dropped = 0;
        long frames = 0;
        for (int f = 0; f < files.Count; f++)
        {
            cancel.ThrowIfCancellationRequested();
            int first = next;
            long before = frames;
            var (error, droppedHere) = IngestFile(files[f], o, writer, ref next, ref frames, n => progress?.Invoke(f, n), cancel);
            if (error != null)
            {
                for (int i = first; i < next; i++) writer.RemoveEpisode(i);
                next = first; frames = before;
                skipped++;
                log?.Invoke($"skipped {files[f]}: {error}");
                continue;
            }
            dropped += droppedHere;
        }
        if (next == 0)
            throw new InvalidDataException(skipped == files.Count
                ? "no episodes: every input failed to decode"
                : $"no episodes: every piece of video was shorter than --min-frames {o.MinFrames}");
        var manifest = writer.Commit();
        return new IngestReport(files.Count, skipped, next, frames, dropped, manifest);
    }

    private static void Validate(IngestOptions o)
    {
        if (!(o.Fps > 0 && o.Fps <= 240)) throw new ArgumentException($"fps must be in (0, 240], got {o.Fps}");
        if (o.Width < 8 || o.Height < 8 || o.Width > 4096 || o.Height > 4096) throw new ArgumentException($"size must be 8..4096 per side, got {o.Width}x{o.Height}");
        if (o.MinFrames < 1 || o.MaxFrames < o.MinFrames) throw new ArgumentException($"need 1 ≤ min frames ≤ max frames, got {o.MinFrames} and {o.MaxFrames}");
        if (!(o.SceneThreshold >= 0 && o.SceneThreshold <= 1)) throw new ArgumentException($"the scene threshold must be in [0, 1], got {o.SceneThreshold}");
    }

    /// <summary>Decodes one file into episodes. Returns an error message (then the caller removes its episodes) or null.</summary>
    private static (string? Error, int Dropped) IngestFile(string file, IngestOptions o, DatasetWriter writer, ref int next, ref long frames,
        Action<long> progress, CancellationToken cancel)
    {
        var psi = new ProcessStartInfo(o.Ffmpeg)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in new[] { "-hide_banner", "-nostdin", "-v", "error", "-i", file, "-map", "0:v:0", "-an", "-sn", "-dn",
                                    "-vf", FilterChain(o), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1" })
            psi.ArgumentList.Add(arg);
        using var proc = Process.Start(psi)!;
        var stderr = new StringBuilder();
        proc.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (stderr) stderr.AppendLine(e.Data); };
        proc.BeginErrorReadLine();
        using var killOnCancel = cancel.Register(() => { try { proc.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } });

        int frameBytes = o.Width * o.Height * 3;
        var frame = new byte[frameBytes];
        var prevHist = new int[64];
        var hist = new int[64];
        bool havePrev = false;
        int dropped = 0, decoded = 0;
        DatasetWriter.EpisodeStream? episode = null;
        var stdout = proc.StandardOutput.BaseStream;
        string source = Path.GetFullPath(file);

        void Finish(ref int nextIndex, ref long frameCount)
        {
            if (episode is null) return;
            if (episode.Length >= o.MinFrames) { episode.Complete(); nextIndex++; frameCount += episode.Length; }
            else { dropped++; episode.Dispose(); }
            episode = null;
        }

        try
        {
            while (true)
            {
                int got = stdout.ReadAtLeast(frame, frameBytes, throwOnEndOfStream: false);
                if (got < frameBytes) break; // end of stream (a partial frame can only come from a killed decoder)
                Histogram(frame, hist);
                bool cut = havePrev && o.SceneThreshold > 0 && HistogramDistance(prevHist, hist, frameBytes / 3) > o.SceneThreshold;
                if (cut || (episode != null && episode.Length >= o.MaxFrames)) Finish(ref next, ref frames);
                episode ??= writer.BeginEpisode(next, new JsonObject
                {
                    ["source"] = source,
                    ["start_frame"] = decoded,
                    ["start_seconds"] = Math.Round(decoded / o.Fps, 3),
                    ["cut"] = cut ? "scene" : decoded == 0 ? "start" : "max_frames",
                });
                episode.Append(frame);
                (prevHist, hist) = (hist, prevHist);
                havePrev = true;
                decoded++;
                if (decoded % 50 == 0) progress(frames + episode.Length);
            }
            proc.WaitForExit();
            cancel.ThrowIfCancellationRequested();
            if (proc.ExitCode != 0)
            {
                episode?.Dispose();
                string msg;
                lock (stderr) msg = stderr.ToString().Trim();
                var last = msg.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0) ?? $"exit code {proc.ExitCode}";
                return ($"ffmpeg could not decode it ({last})", 0);
            }
            if (decoded == 0)
            {
                episode?.Dispose();
                return ("no video frames decoded", 0);
            }
            Finish(ref next, ref frames);
            progress(frames);
            return (null, dropped);
        }
        finally
        {
            episode?.Dispose();
            if (!proc.HasExited) { try { proc.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } proc.WaitForExit(); }
        }
    }

    /// <summary>A 4×4×4-bin colour histogram (top two bits of each channel).</summary>
    internal static void Histogram(ReadOnlySpan<byte> rgb, int[] hist)
    {
        Array.Clear(hist);
        for (int i = 0; i + 2 < rgb.Length; i += 3)
            hist[(rgb[i] >> 6) << 4 | (rgb[i + 1] >> 6) << 2 | rgb[i + 2] >> 6]++;
    }

    /// <summary>Half the L1 distance between two histograms of <paramref name="pixels"/> pixels: 0 (same) to 1 (disjoint).</summary>
    internal static double HistogramDistance(int[] a, int[] b, int pixels)
    {
        long d = 0;
        for (int i = 0; i < a.Length; i++) d += Math.Abs(a[i] - b[i]);
        return d / (2.0 * pixels);
    }
}
