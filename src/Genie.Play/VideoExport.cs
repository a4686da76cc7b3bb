using System.Diagnostics;
using Genie.Media;

namespace Genie.Play;

/// <summary>Thrown when MP4 is asked for and no ffmpeg can be run.</summary>
public sealed class FfmpegMissingException(string message) : Exception(message);

/// <summary>Writes a rollout as an animated GIF (our encoder), an MP4 (through ffmpeg) or a folder of PNGs.</summary>
public static class VideoExport
{
    /// <summary>Animated GIF of <paramref name="frames"/> (each H×W×3), enlarged <paramref name="scale"/> times with crisp pixels.</summary>
    public static byte[] Gif(IReadOnlyList<byte[]> frames, int width, int height, int scale = 4, double fps = 10)
    {
        if (frames.Count == 0) throw new ArgumentException("no frames to write");
        int delay = (int)Math.Max(2, Math.Round(100 / fps));
        return GifWriter.Encode(frames.Select(f => Resize.Scale(new Image(width, height, f), scale)), delay);
    }

    /// <summary>
    /// The same GIF written frame by frame to a temporary file, returned open at its start and deleted when closed:
    /// memory holds one enlarged frame at a time, however long the rollout.
    /// </summary>
    public static FileStream GifFile(IReadOnlyList<byte[]> frames, int width, int height, int scale = 4, double fps = 10)
    {
        if (frames.Count == 0) throw new ArgumentException("no frames to write");
        int delay = (int)Math.Max(2, Math.Round(100 / fps));
        var path = Path.Combine(Path.GetTempPath(), $"genie-{Guid.NewGuid():N}.gif");
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        try
        {
            using (var gif = new GifWriter(file, width * scale, height * scale, leaveOpen: true))
                foreach (var f in frames) gif.AddFrame(Resize.Scale(new Image(width, height, f), scale), delay);
            file.Position = 0;
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// H.264 MP4 (yuv420p, plays everywhere) of the frames, enlarged with nearest-neighbour scaling, made by piping
    /// raw RGB to <paramref name="ffmpeg"/>. Falls back to MPEG-4 part 2 when ffmpeg has no libx264.
    /// </summary>
    /// <exception cref="FfmpegMissingException">ffmpeg is not installed.</exception>
    public static byte[] Mp4(IReadOnlyList<byte[]> frames, int width, int height, int scale = 4, double fps = 10, string ffmpeg = "ffmpeg")
    {
        if (frames.Count == 0) throw new ArgumentException("no frames to write");
        var tmp = Path.Combine(Path.GetTempPath(), $"genie-{Guid.NewGuid():N}.mp4");
        try
        {
            string? error = null;
            foreach (var codec in new[] { "-c:v libx264 -preset veryfast -crf 18", "-c:v mpeg4 -q:v 2" })
            {
                error = RunFfmpeg(ffmpeg, frames, width, height, scale, fps, codec, tmp);
                if (error is null) return File.ReadAllBytes(tmp);
            }
            throw new IOException($"ffmpeg could not write the MP4: {error}");
        }
        finally { try { File.Delete(tmp); } catch (IOException) { } }
    }

    /// <summary>Writes <c>DIR/frame_00000.png</c>, … (at the model's size, unscaled unless asked).</summary>
    public static void PngFolder(string dir, IReadOnlyList<byte[]> frames, int width, int height, int scale = 1)
    {
        Directory.CreateDirectory(dir);
        // Frames of an earlier, longer rollout into the same folder would otherwise linger after the new ones.
        foreach (var old in Directory.GetFiles(dir, "frame_*.png")) File.Delete(old);
        for (int i = 0; i < frames.Count; i++)
        {
            var img = new Image(width, height, frames[i]);
            Png.Save(scale > 1 ? Resize.Scale(img, scale) : img, Path.Combine(dir, $"frame_{i:D5}.png"));
        }
    }

    private static string? RunFfmpeg(string ffmpeg, IReadOnlyList<byte[]> frames, int width, int height, int scale, double fps, string codec, string output)
    {
        var psi = new ProcessStartInfo(ffmpeg)
        {
            RedirectStandardInput = true, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        var fr = fps.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var a in $"-hide_banner -loglevel error -y -f rawvideo -pix_fmt rgb24 -s {width}x{height} -r {fr} -i -".Split(' ')) psi.ArgumentList.Add(a);
        // Even output size for yuv420p; nearest-neighbour keeps the pixels crisp.
        int w = width * scale + (width * scale) % 2, h = height * scale + (height * scale) % 2;
        foreach (var a in $"-vf scale={w}:{h}:flags=neighbor {codec} -pix_fmt yuv420p -movflags +faststart".Split(' ')) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(output);
        Process p;
        try { p = Process.Start(psi) ?? throw new FfmpegMissingException("could not start ffmpeg"); }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new FfmpegMissingException($"MP4 needs ffmpeg, and '{ffmpeg}' is not installed (apt-get install ffmpeg); GIF works without it");
        }
        using (p)
        {
            var stderr = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEndAsync();
            try
            {
                foreach (var f in frames) p.StandardInput.BaseStream.Write(f);
                p.StandardInput.Close();
            }
            catch (IOException) { /* ffmpeg exited early; its message says why */ }
            if (!p.WaitForExit(120_000)) { p.Kill(true); return "timed out"; }
            return p.ExitCode == 0 ? null : stderr.Result.Trim();
        }
    }
}
