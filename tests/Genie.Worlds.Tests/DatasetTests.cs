using System.Text.Json.Nodes;
using Genie.Data;

namespace Genie.Worlds.Tests;

public class DatasetTests
{
    private const int H = 4, W = 6, FrameBytes = H * W * 3;

    /// <summary>A frame whose first two bytes name its episode and time step, so tests can see where a clip came from.</summary>
    private static byte[] Frames(int episode, int length)
    {
        var f = new byte[length * FrameBytes];
        for (int t = 0; t < length; t++)
        {
            f.AsSpan(t * FrameBytes, FrameBytes).Fill((byte)(episode * 7 + t));
            f[t * FrameBytes] = (byte)episode;
            f[t * FrameBytes + 1] = (byte)t;
        }
        return f;
    }

    /// <summary>Action t of episode e is (e + t) mod 5, the last −1.</summary>
    private static int[] Actions(int episode, int length) => Enumerable.Range(0, length).Select(t => t == length - 1 ? -1 : (episode + t) % 5).ToArray();

    private static DatasetDescription Description(int actions = 5, double val = 0.2) => new()
    {
        Source = "world", Height = H, Width = W, Fps = 10, Seed = 3, ActionCount = actions, ValidationFraction = val,
        ActionNames = actions > 0 ? Enumerable.Range(0, actions).Select(i => $"a{i}").ToList() : null,
    };

    private static readonly int[] Lengths = [20, 7, 33, 16, 3, 41, 12, 25];

    private static string Make(TempDir dir, string name = "ds", int[]? lengths = null)
    {
        lengths ??= Lengths;
        using var w = new DatasetWriter(dir[name], Description());
        for (int e = 0; e < lengths.Length; e++) w.WriteEpisode(e, Frames(e, lengths[e]), Actions(e, lengths[e]), new JsonObject { ["level_seed"] = e * 10 });
        w.Commit();
        return dir[name];
    }

    [Fact]
    public void Writer_Reader_RoundTrip()
    {
        using var dir = new TempDir();
        using var ds = Dataset.Open(Make(dir));
        Assert.Equal(Lengths.Length, ds.Episodes.Count);
        Assert.Equal((H, W, 10.0, 5), (ds.Height, ds.Width, ds.Fps, ds.ActionCount));
        Assert.Equal(Lengths.Sum(), ds.Manifest.FrameCount);
        Assert.Equal(2, ds.Validation.Count);                  // ⌈0.2 · 8⌉
        Assert.Equal(Lengths.Length, ds.Train.Count + ds.Validation.Count);
        Assert.Empty(ds.Train.Intersect(ds.Validation));
        Assert.Equal(DatasetManifest.Alignment, ds.Manifest.ActionAlignment);
        for (int e = 0; e < Lengths.Length; e++)
        {
            var all = new byte[Lengths[e] * FrameBytes];
            ds.CopyFrames(e, 0, Lengths[e], all);
            Assert.Equal(Frames(e, Lengths[e]), all);
            Assert.Equal(Actions(e, Lengths[e]), ds.Actions(e));
            Assert.Equal(e * 10, (int)ds.Episodes[e].Info!["level_seed"]!);
        }
        Assert.Equal((byte)5, ds.ReadFrame(5, 9)[0]);
        Assert.Equal((byte)9, ds.ReadFrame(5, 9)[1]);
    }

    [Fact]
    public void Writer_SplitIsDeterministicForASeed()
    {
        using var dir = new TempDir();
        using var a = Dataset.Open(Make(dir, "a"));
        using var b = Dataset.Open(Make(dir, "b"));
        Assert.Equal(a.Validation, b.Validation);
    }

    [Fact]
    public void Overwrite_ReplacesOnlyADataset_NeverAFolderOfOtherThings()
    {
        using var dir = new TempDir();
        // A folder of the user's own: --overwrite must refuse it and leave the file alone.
        var mine = dir["thesis"];
        Directory.CreateDirectory(mine);
        File.WriteAllText(Path.Combine(mine, "thesis.txt"), "x");
        var e = Assert.Throws<IOException>(() => new DatasetWriter(mine, Description(), overwrite: true));
        Assert.Contains("not a dataset", e.Message);
        Assert.Equal("x", File.ReadAllText(Path.Combine(mine, "thesis.txt")));

        // A dataset with a file of the user's put inside: refused, naming the file.
        string data = Make(dir);
        File.WriteAllText(Path.Combine(data, "notes.md"), "mine");
        e = Assert.Throws<IOException>(() => new DatasetWriter(data, Description(), overwrite: true));
        Assert.Contains("notes.md", e.Message);
        File.Delete(Path.Combine(data, "notes.md"));

        // A folder that holds the command's own input (a video to ingest): refused.
        var video = Path.Combine(data, "episodes", "clip.mp4");
        File.WriteAllText(video, "");
        e = Assert.Throws<IOException>(() => new DatasetWriter(data, Description(), overwrite: true, inputs: [video]));
        Assert.Contains("input", e.Message);
        File.Delete(video);

        // An empty folder and a dataset are replaced.
        Directory.CreateDirectory(dir["empty"]);
        using (var w = new DatasetWriter(dir["empty"], Description(), overwrite: true)) { w.WriteEpisode(0, Frames(0, 5), Actions(0, 5)); w.Commit(); }
        using (var w = new DatasetWriter(data, Description(), overwrite: true)) { w.WriteEpisode(0, Frames(0, 5), Actions(0, 5)); w.Commit(); }
        using var ds = Dataset.Open(data);
        Assert.Single(ds.Episodes);
    }

    [Fact]
    public void Writer_RefusesAnExistingDirectory_UnlessOverwriting()
    {
        using var dir = new TempDir();
        string path = Make(dir);
        var e = Assert.Throws<IOException>(() => new DatasetWriter(path, Description()));
        Assert.Contains("already exists", e.Message);
        Assert.Contains("--overwrite", e.Message);

        using (var w = new DatasetWriter(path, Description(), overwrite: true))
        {
            w.WriteEpisode(0, Frames(0, 5), Actions(0, 5));
            w.Commit();
        }
        using var ds = Dataset.Open(path);
        Assert.Single(ds.Episodes);
        Assert.Single(Directory.GetDirectories(dir.Path)); // no leftovers beside it
    }

    [Fact]
    public void Writer_WithoutCommit_LeavesNothingBehind()
    {
        using var dir = new TempDir();
        using (var w = new DatasetWriter(dir["half"], Description()))
        {
            w.WriteEpisode(0, Frames(0, 5), Actions(0, 5));
            Assert.NotEmpty(Directory.GetDirectories(dir.Path)); // its hidden temporary directory
            // …an exception or Ctrl+C here…
        }
        Assert.False(Directory.Exists(dir["half"]));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Writer_RemovesTemporaryDirectoriesOfDeadProcesses()
    {
        using var dir = new TempDir();
        var stale = dir[$".ds.tmp-{int.MaxValue - 1}-deadbeef"]; // no process has that id
        Directory.CreateDirectory(stale);
        using (var w = new DatasetWriter(dir["ds"], Description())) { }
        Assert.False(Directory.Exists(stale));
    }

    [Fact]
    public void Writer_RejectsBadEpisodes()
    {
        using var dir = new TempDir();
        using var w = new DatasetWriter(dir["ds"], Description());
        Assert.Throws<ArgumentException>(() => w.WriteEpisode(0, new byte[FrameBytes + 1], [0]));
        Assert.Throws<ArgumentException>(() => w.WriteEpisode(0, Frames(0, 3), [0, 1]));          // wrong action count
        Assert.Throws<ArgumentException>(() => w.WriteEpisode(0, Frames(0, 2), [7, -1]));         // action out of range
        w.WriteEpisode(1, Frames(1, 2), [0, -1]);
        Assert.Contains("0 is missing", Assert.Throws<InvalidOperationException>(() => w.Commit()).Message);
    }

    [Fact]
    public void Open_RejectsAFileThatDisagreesWithTheManifest()
    {
        using var dir = new TempDir();
        string path = Make(dir);
        NpyFile.Write(Path.Combine(path, DatasetWriter.FramesPath(2)), new byte[5 * FrameBytes], 5, H, W, 3);
        var e = Assert.Throws<InvalidDataException>(() => Dataset.Open(path));
        Assert.Contains("expected uint8 (33, 4, 6, 3)", e.Message);
        Assert.Throws<FileNotFoundException>(() => Dataset.Open(dir.Path));          // no manifest
        Assert.Throws<DirectoryNotFoundException>(() => Dataset.Open(dir["nope"]));
    }

    // ------------------------------------------------------------------ clip loader

    private static void AssertClipsAreWholeAndAligned(Dataset ds, ClipBatch b)
    {
        int t = b.ClipLength;
        for (int i = 0; i < b.BatchSize; i++)
        {
            int ep = b.Episodes[i], start = b.Starts[i];
            Assert.InRange(start + t, t, ds.Episodes[ep].Length); // inside its episode
            for (int k = 0; k < t; k++)
            {
                int o = (i * t + k) * FrameBytes;
                Assert.Equal(ep, b.Frames[o]);               // every frame from the same episode…
                Assert.Equal(start + k, b.Frames[o + 1]);    // …and consecutive
                Assert.Equal(Actions(ep, ds.Episodes[ep].Length)[start + k], b.Actions![i * t + k]); // action after frame start+k
            }
        }
    }

    [Fact]
    public void Loader_ClipsNeverCrossEpisodeBoundaries_AndActionsAlign()
    {
        using var dir = new TempDir();
        using var ds = Dataset.Open(Make(dir));
        using var loader = new ClipLoader(ds, DataSplit.All, clipLength: 8, batchSize: 5, seed: 1);
        for (int n = 0; n < 40; n++)
        {
            var b = loader.Next();
            Assert.Equal(5 * 8 * FrameBytes, b.Frames.Length);
            AssertClipsAreWholeAndAligned(ds, b);
        }
    }

    [Fact]
    public void Loader_EpochVisitsEveryWindowOnce_AndSkipsShortEpisodes()
    {
        using var dir = new TempDir();
        using var ds = Dataset.Open(Make(dir));
        using var loader = new ClipLoader(ds, DataSplit.All, 8, 1, seed: 4);
        Assert.Equal(Lengths.Sum(l => l / 8), loader.WindowsPerEpoch);
        Assert.Equal(2, loader.SkippedEpisodes);                        // lengths 7 and 3
        var windows = loader.EpochWindows(0);
        foreach (var group in windows.GroupBy(w => w.Episode))
        {
            var starts = group.Select(w => w.Start).Order().ToList();
            Assert.Equal(ds.Episodes[group.Key].Length / 8, starts.Count);
            for (int i = 1; i < starts.Count; i++) Assert.Equal(8, starts[i] - starts[i - 1]); // non-overlapping, adjacent
        }
        Assert.NotEqual(windows, loader.EpochWindows(1));              // a new order (and offsets) each epoch
        Assert.Throws<ArgumentException>(() => new ClipLoader(ds, DataSplit.All, 100, 1, 0));
    }

    [Fact]
    public void Loader_IsDeterministicForASeed()
    {
        using var dir = new TempDir();
        using var ds = Dataset.Open(Make(dir));
        static List<(int, int)> Take(Dataset ds, ulong seed)
        {
            using var l = new ClipLoader(ds, DataSplit.Train, 4, 3, seed, prefetch: 1);
            return Enumerable.Range(0, 30).SelectMany(_ => { var b = l.Next(); return b.Episodes.Zip(b.Starts); }).ToList();
        }
        Assert.Equal(Take(ds, 9), Take(ds, 9));
        Assert.NotEqual(Take(ds, 9), Take(ds, 10));
    }

    [Fact]
    public void Loader_ResumesTheIdenticalStream_FromASavedState()
    {
        using var dir = new TempDir();
        using var ds = Dataset.Open(Make(dir));
        using var a = new ClipLoader(ds, DataSplit.All, 4, 3, seed: 5);
        for (int i = 0; i < 7; i++) a.Next();
        string saved = a.GetState().ToJson();
        // Continue the original well past an epoch boundary (25 windows per epoch here).
        var expected = Enumerable.Range(0, 20).Select(_ => a.Next()).ToList();
        Assert.True(a.GetState().Epoch >= 1);

        using var b = new ClipLoader(ds, DataSplit.All, 4, 3, seed: 5, resume: ClipLoaderState.FromJson(saved));
        foreach (var want in expected)
        {
            var got = b.Next();
            Assert.Equal(want.Episodes, got.Episodes);
            Assert.Equal(want.Starts, got.Starts);
            Assert.Equal(want.Frames, got.Frames);
        }
        // Restore on a running loader rewinds it too.
        b.Restore(ClipLoaderState.FromJson(saved));
        Assert.Equal(expected[0].Starts, b.Next().Starts);
    }

    [Fact]
    public void Loader_RestoreRefusesAStateOfOtherSettings()
    {
        using var dir = new TempDir();
        using var ds = Dataset.Open(Make(dir));
        using var a = new ClipLoader(ds, DataSplit.All, 4, 3, seed: 5);
        var state = a.GetState();
        Assert.Throws<ArgumentException>(() => new ClipLoader(ds, DataSplit.All, 4, 2, seed: 5, resume: state));
        Assert.Throws<ArgumentException>(() => new ClipLoader(ds, DataSplit.All, 4, 3, seed: 6, resume: state));
        Assert.Throws<ArgumentException>(() => a.Restore(state with { WindowsPerEpoch = state.WindowsPerEpoch + 1 }));
    }

    [Fact]
    public void FixedWindows_AreDeterministicAndCoverTheSplit()
    {
        using var dir = new TempDir();
        using var ds = Dataset.Open(Make(dir));
        var first = ClipLoader.FixedWindows(ds, DataSplit.Validation, 4, 2).ToList();
        var second = ClipLoader.FixedWindows(ds, DataSplit.Validation, 4, 2).ToList();
        Assert.Equal(first.SelectMany(b => b.Starts), second.SelectMany(b => b.Starts));
        int expected = ds.Validation.Sum(e => ds.Episodes[e].Length / 4);
        Assert.Equal(expected, first.Sum(b => b.BatchSize));
        Assert.All(first, b => { Assert.All(b.Episodes, e => Assert.Contains(e, ds.Validation)); AssertClipsAreWholeAndAligned(ds, b); });
        Assert.Equal(3, ClipLoader.FixedWindows(ds, DataSplit.All, 4, 2, maxClips: 3).Sum(b => b.BatchSize));
        // Fewer clips than windows: evenly spaced through the split, so the last episode is reached too.
        var all = ClipLoader.FixedWindows(ds, DataSplit.All, 4, 64).SelectMany(b => b.Episodes.Zip(b.Starts)).ToList();
        int some = Math.Max(2, all.Count / 3);
        var spread = ClipLoader.FixedWindows(ds, DataSplit.All, 4, 2, maxClips: some).SelectMany(b => b.Episodes.Zip(b.Starts)).ToList();
        Assert.Equal(some, spread.Count);
        Assert.Equal(all[0], spread[0]);
        Assert.Equal(all.Select(w => w.First).Max(), spread.Select(w => w.First).Max());
        Assert.All(spread, w => Assert.Contains(w, all));
        Assert.Equal(spread.Count, spread.Distinct().Count());
    }

    [Fact]
    public void Video_WithoutActions_HasNullActions()
    {
        using var dir = new TempDir();
        using (var w = new DatasetWriter(dir["v"], Description(actions: 0) with { Source = "video" }))
        {
            using (var s = w.BeginEpisode(0))
            {
                for (int t = 0; t < 9; t++) s.Append(Frames(0, 9).AsSpan(t * FrameBytes, FrameBytes));
                s.Complete();
            }
            w.Commit();
        }
        using var ds = Dataset.Open(dir["v"]);
        Assert.False(ds.HasActions);
        Assert.Null(ds.Actions(0));
        Assert.False(File.Exists(Path.Combine(dir["v"], DatasetWriter.ActionsPath(0))));
        using var loader = new ClipLoader(ds, DataSplit.All, 3, 2, 0);
        Assert.Null(loader.Next().Actions);
    }
}
