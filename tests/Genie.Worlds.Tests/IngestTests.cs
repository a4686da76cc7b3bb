using System.Diagnostics;
using Genie.Data;

namespace Genie.Worlds.Tests;

/// <summary>
/// Video ingestion through ffmpeg, on videos the tests make with ffmpeg's own test sources (no downloaded media).
/// These tests need ffmpeg: without it they skip with a message saying what to install ([FfmpegFact]); under CI=true
/// they run and a missing ffmpeg fails them (CI installs it), so they never pass silently.
/// </summary>
public class IngestTests
{
    private static void RequireFfmpeg()
    {
        try { VideoIngest.CheckFfmpeg(); }
        catch (FfmpegNotFoundException e) { Assert.Fail("the ingestion tests need ffmpeg (apt-get install ffmpeg; .ci/run installs it): " + e.Message); }
    }

    /// <summary>Runs ffmpeg to make a test video.</summary>
    private static string MakeVideo(string path, params string[] args)
    {
        RequireFfmpeg();
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-hide_banner", "-v", "error", "-y" }.Concat(args).Append(path)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"ffmpeg could not make the test video: {err}");
        return path;
    }

    private static string TestSrc(TempDir dir, string name, double seconds, string size = "160x120") =>
        MakeVideo(dir[name], "-f", "lavfi", "-i", $"testsrc=duration={seconds}:size={size}:rate=25", "-pix_fmt", "yuv420p");

    [FfmpegFact]
    public void GeneratedMp4_IsResampledResizedAndWritten()
    {
        using var dir = new TempDir();
        var video = TestSrc(dir, "a.mp4", 3);
        var report = VideoIngest.Run([video], dir["out"], new IngestOptions { Fps = 10, Width = 64, Height = 48, MinFrames = 4 });
        Assert.Equal((1, 0), (report.Files, report.FilesSkipped));
        using var ds = Dataset.Open(dir["out"]);
        Assert.Equal("video", ds.Manifest.Source);
        Assert.Equal((48, 64, 10.0), (ds.Height, ds.Width, ds.Fps));
        Assert.False(ds.HasActions);
        Assert.Single(ds.Episodes);
        Assert.InRange(ds.Episodes[0].Length, 29, 31);                      // 3 s at 10 fps
        Assert.False(File.Exists(Path.Combine(dir["out"], DatasetWriter.ActionsPath(0))));
        // testsrc moves: frames differ, and are real pictures (many colours).
        var f0 = ds.ReadFrame(0, 0); var f9 = ds.ReadFrame(0, 9);
        Assert.NotEqual(f0, f9);
        Assert.True(f0.Distinct().Count() > 20);
        Assert.Equal(Path.GetFullPath(video), ds.Episodes[0].Info!["source"]!.ToString());
    }

    [FfmpegFact]
    public void SceneChange_StartsANewEpisode()
    {
        using var dir = new TempDir();
        var video = MakeVideo(dir["cut.mp4"], "-f", "lavfi", "-i", "testsrc=duration=3:size=160x120:rate=25",
            "-f", "lavfi", "-i", "smptebars=duration=3:size=160x120:rate=25",
            "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-pix_fmt", "yuv420p");
        VideoIngest.Run([video], dir["out"], new IngestOptions { MinFrames = 4 });
        using var ds = Dataset.Open(dir["out"]);
        Assert.Equal(2, ds.Episodes.Count);
        Assert.InRange(ds.Episodes[0].Length, 29, 31);
        Assert.Equal("scene", ds.Episodes[1].Info!["cut"]!.ToString());

        // With cuts off it stays one episode.
        VideoIngest.Run([video], dir["out2"], new IngestOptions { MinFrames = 4, SceneThreshold = 0 });
        using var one = Dataset.Open(dir["out2"]);
        Assert.Single(one.Episodes);
    }

    [FfmpegFact]
    public void MaxFrames_CutsLongVideo_AndShortPiecesAreDropped()
    {
        using var dir = new TempDir();
        var video = TestSrc(dir, "a.mp4", 3);                        // 30 frames at 10 fps
        var report = VideoIngest.Run([video], dir["out"], new IngestOptions { MaxFrames = 12, MinFrames = 7 });
        using var ds = Dataset.Open(dir["out"]);
        Assert.Equal(new[] { 12, 12 }, ds.Episodes.Select(e => e.Length));  // the last 6 frames are too short
        Assert.Equal(1, report.PiecesDropped);
    }

    [FfmpegFact]
    public void Letterbox_PadsWithBlackBars_CropFillsTheFrame()
    {
        using var dir = new TempDir();
        var wide = TestSrc(dir, "wide.mp4", 1, "192x96");               // 2:1 into a square frame
        VideoIngest.Run([wide], dir["box"], new IngestOptions { Fit = FitMode.Letterbox, MinFrames = 1, Width = 32, Height = 32 });
        VideoIngest.Run([wide], dir["crop"], new IngestOptions { Fit = FitMode.Crop, MinFrames = 1, Width = 32, Height = 32 });
        using var box = Dataset.Open(dir["box"]);
        using var crop = Dataset.Open(dir["crop"]);
        var b = box.ReadFrame(0, 0); var c = crop.ReadFrame(0, 0);
        double TopBand(byte[] f) => f.Take(32 * 6 * 3).Average(x => (double)x);   // the top 6 rows
        Assert.True(TopBand(b) < 20, $"letterbox top band mean {TopBand(b):F1}");
        Assert.True(TopBand(c) > 40, $"crop top band mean {TopBand(c):F1}");
    }

    [FfmpegFact]
    public void CorruptVideo_IsReportedAndSkipped_OthersAreKept()
    {
        using var dir = new TempDir();
        var good = TestSrc(dir, "good.mp4", 2);
        var bad = dir["bad.mp4"];
        File.WriteAllBytes(bad, Enumerable.Range(0, 20000).Select(i => (byte)(i * 31 % 251)).ToArray());
        var truncated = dir["truncated.mp4"];
        File.WriteAllBytes(truncated, File.ReadAllBytes(TestSrc(dir, "full.mp4", 2)).Take(3000).ToArray());
        var log = new List<string>();
        var report = VideoIngest.Run([bad, good, truncated], dir["out"], new IngestOptions { MinFrames = 4 }, log.Add);
        Assert.Equal(2, report.FilesSkipped);
        Assert.Equal(2, log.Count);
        Assert.Contains(log, l => l.Contains("bad.mp4") && l.Contains("could not decode"));
        Assert.Contains(log, l => l.Contains("truncated.mp4"));
        using var ds = Dataset.Open(dir["out"]);
        Assert.Single(ds.Episodes);
        Assert.Equal(Path.GetFullPath(good), ds.Episodes[0].Info!["source"]!.ToString());
        // Nothing but the dataset in the output's parent: no half-written shards or temp directories.
        Assert.DoesNotContain(Directory.GetDirectories(dir.Path), d => Path.GetFileName(d).StartsWith('.'));
        Assert.Empty(Directory.GetFiles(Path.Combine(dir["out"], "episodes"), "*.part"));
    }

    [FfmpegFact]
    public void AllInputsCorrupt_WritesNothing()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["x.mp4"], "definitely not a video");
        RequireFfmpeg();
        var e = Assert.Throws<InvalidDataException>(() => VideoIngest.Run([dir["x.mp4"]], dir["out"], new IngestOptions()));
        Assert.Contains("every input failed", e.Message);
        Assert.False(Directory.Exists(dir["out"]));
        Assert.Single(Directory.GetFileSystemEntries(dir.Path));          // just x.mp4
    }

    [FfmpegFact]
    public void ExistingOutput_IsRefused_UnlessOverwrite()
    {
        using var dir = new TempDir();
        var video = TestSrc(dir, "a.mp4", 2);
        VideoIngest.Run([video], dir["out"], new IngestOptions { MinFrames = 4 });
        var e = Assert.Throws<IOException>(() => VideoIngest.Run([video], dir["out"], new IngestOptions { MinFrames = 4 }));
        Assert.Contains("already exists", e.Message);
        VideoIngest.Run([video], dir["out"], new IngestOptions { MinFrames = 4, Overwrite = true, Width = 32, Height = 32 });
        using var ds = Dataset.Open(dir["out"]);
        Assert.Equal(32, ds.Width);
    }

    [FfmpegFact]
    public void Inputs_DirectoriesExpand_MissingPathsAreErrors()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["videos/sub"]);
        File.WriteAllText(dir["videos/sub/b.mkv"], "");
        File.WriteAllText(dir["videos/a.mp4"], "");
        File.WriteAllText(dir["videos/notes.txt"], "");
        var files = VideoIngest.ExpandInputs([dir["videos"]]);
        Assert.Equal(2, files.Count);
        Assert.Contains("no such file or directory", Assert.Throws<FileNotFoundException>(() => VideoIngest.ExpandInputs([dir["missing.mp4"]])).Message);
        Directory.CreateDirectory(dir["empty"]);
        Assert.Contains("no video files", Assert.Throws<FileNotFoundException>(() => VideoIngest.ExpandInputs([dir["empty"]])).Message);
    }

    [Fact]
    public void MissingFfmpeg_GivesInstallAdvice()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<FfmpegNotFoundException>(() =>
            VideoIngest.Run([dir["whatever.mp4"]], dir["out"], new IngestOptions { Ffmpeg = "/nonexistent/bin/ffmpeg" }));
        Assert.Contains("apt-get install ffmpeg", e.Message);
        Assert.False(Directory.Exists(dir["out"]));
    }
}
