namespace Genie.Data;

/// <summary>
/// A dataset directory opened for reading: the manifest, the train/validation episode lists, frames read
/// through memory maps (nothing is loaded up front) and actions (small; loaded on first use).
/// Thread-safe: the clip loader reads from its background thread while others read too.
/// </summary>
/// <example><code>
/// using var ds = Dataset.Open("data/platformer");
/// var frame0 = new byte[ds.FrameBytes];
/// ds.CopyFrames(episode: 0, start: 0, count: 1, frame0);
/// </code></example>
public sealed class Dataset : IDisposable
{
    private const int MaxOpenMaps = 256; // keep file descriptors bounded on datasets with many episodes
    private readonly Dictionary<int, MappedEntry> _maps = new();
    private readonly int[]?[] _actions;
    private readonly object _gate = new();
    private long _clock;
    private bool _disposed;

    private sealed class MappedEntry(MappedNpy map)
    {
        public readonly MappedNpy Map = map;
        public int Users;
        public long LastUse;
    }

    /// <summary>The dataset's directory.</summary>
    public string Directory { get; }
    /// <summary>The parsed manifest.</summary>
    public DatasetManifest Manifest { get; }
    /// <summary>Frame height.</summary>
    public int Height => Manifest.Height;
    /// <summary>Frame width.</summary>
    public int Width => Manifest.Width;
    /// <summary>Bytes in one frame (H·W·3).</summary>
    public int FrameBytes => Height * Width * 3;
    /// <summary>Frames per second.</summary>
    public double Fps => Manifest.Fps;
    /// <summary>True if episodes carry actions.</summary>
    public bool HasActions => Manifest.ActionCount > 0;
    /// <summary>Number of actions (0 without).</summary>
    public int ActionCount => Manifest.ActionCount;
    /// <summary>All episodes.</summary>
    public IReadOnlyList<EpisodeInfo> Episodes => Manifest.Episodes;
    /// <summary>Indices of the training episodes.</summary>
    public IReadOnlyList<int> Train { get; }
    /// <summary>Indices of the validation episodes.</summary>
    public IReadOnlyList<int> Validation { get; }

    private Dataset(string dir, DatasetManifest manifest)
    {
        Directory = dir;
        Manifest = manifest;
        Train = manifest.Episodes.Where(e => e.Split == "train").Select(e => e.Index).ToArray();
        Validation = manifest.Episodes.Where(e => e.Split == "validation").Select(e => e.Index).ToArray();
        _actions = new int[]?[manifest.Episodes.Count];
    }

    /// <summary>
    /// Opens the dataset in <paramref name="directory"/>, checking the manifest and that every episode file
    /// exists with the shape the manifest gives (headers only; cheap).
    /// </summary>
    public static Dataset Open(string directory)
    {
        if (!System.IO.Directory.Exists(directory)) throw new DirectoryNotFoundException($"no dataset directory {directory}");
        string manifestPath = Path.Combine(directory, "manifest.json");
        if (!File.Exists(manifestPath)) throw new FileNotFoundException($"{directory} has no manifest.json (not a dataset, or an unfinished one)", manifestPath);
        var manifest = DatasetManifest.Parse(File.ReadAllText(manifestPath), manifestPath);
        foreach (var e in manifest.Episodes)
        {
            var h = NpyFile.ReadHeader(Path.Combine(directory, e.Frames));
            int[] want = [e.Length, manifest.Height, manifest.Width, 3];
            if (h.DType != NpyDType.UInt8 || !h.Shape.SequenceEqual(want))
                throw new InvalidDataException($"{e.Frames}: expected uint8 {NpyFile.FormatShape(want)}, found {h.DType} {h.ShapeText}");
            if (manifest.ActionCount > 0)
            {
                if (e.Actions is null) throw new InvalidDataException($"episode {e.Index} has no actions file but the dataset has actions");
                var a = NpyFile.ReadHeader(Path.Combine(directory, e.Actions));
                if (a.DType != NpyDType.Int32 || !a.Shape.SequenceEqual([e.Length]))
                    throw new InvalidDataException($"{e.Actions}: expected int32 ({e.Length},), found {a.DType} {a.ShapeText}");
            }
        }
        return new Dataset(Path.GetFullPath(directory), manifest);
    }

    /// <summary>Episode indices of a split.</summary>
    public IReadOnlyList<int> Split(DataSplit split) => split switch
    {
        DataSplit.Train => Train,
        DataSplit.Validation => Validation,
        _ => Enumerable.Range(0, Episodes.Count).ToArray(),
    };

    /// <summary>Copies frames [start, start+count) of an episode into <paramref name="dst"/> (count·H·W·3 bytes).</summary>
    public void CopyFrames(int episode, int start, int count, Span<byte> dst)
    {
        var info = Episodes[episode];
        if (start < 0 || count < 0 || start + count > info.Length)
            throw new ArgumentOutOfRangeException(nameof(start), $"frames [{start}, {start + count}) are outside episode {episode} of {info.Length}");
        if (dst.Length < (long)count * FrameBytes) throw new ArgumentException("destination too small");
        var entry = Acquire(episode);
        try { entry.Map.Slice((long)start * FrameBytes, count * FrameBytes).CopyTo(dst); }
        finally { lock (_gate) entry.Users--; }
    }

    /// <summary>One frame as a new array.</summary>
    public byte[] ReadFrame(int episode, int t)
    {
        var f = new byte[FrameBytes];
        CopyFrames(episode, t, 1, f);
        return f;
    }

    /// <summary>The actions of an episode (length T; see <see cref="DatasetManifest.Alignment"/>), or null without actions.</summary>
    public int[]? Actions(int episode)
    {
        if (!HasActions) return null;
        var cached = Volatile.Read(ref _actions[episode]);
        if (cached != null) return cached;
        var path = Path.Combine(Directory, Episodes[episode].Actions!);
        var (data, _) = NpyFile.ReadInt32(path);
        // Each action is one of the manifest's action_count, or −1 ("none": the last frame of an episode).
        int count = ActionCount;
        for (int i = 0; i < data.Length; i++)
            if (data[i] < -1 || data[i] >= count)
                throw new InvalidDataException($"{path}: action {data[i]} at frame {i} is outside the dataset's {count} actions (0..{count - 1}, or −1 for none)");
        Volatile.Write(ref _actions[episode], data);
        return data;
    }

    private MappedEntry Acquire(int episode)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_maps.TryGetValue(episode, out var entry))
            {
                if (_maps.Count >= MaxOpenMaps)
                {
                    // Unmap the least recently used episode nobody is reading.
                    var victim = _maps.Where(kv => kv.Value.Users == 0).OrderBy(kv => kv.Value.LastUse).Select(kv => kv.Key).DefaultIfEmpty(-1).First();
                    if (victim >= 0) { _maps[victim].Map.Dispose(); _maps.Remove(victim); }
                }
                entry = new MappedEntry(new MappedNpy(Path.Combine(Directory, Episodes[episode].Frames)));
                _maps[episode] = entry;
            }
            entry.Users++;
            entry.LastUse = ++_clock;
            return entry;
        }
    }

    /// <summary>Unmaps every file.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var e in _maps.Values) e.Map.Dispose();
            _maps.Clear();
        }
    }
}
