using System.Diagnostics;
using System.Text.Json.Nodes;
using Genie.Core;
using Genie.Core.IO;

namespace Genie.Data;

/// <summary>What a new dataset is, before its episodes are written.</summary>
public sealed record DatasetDescription
{
    /// <summary>"world" or "video".</summary>
    public required string Source { get; init; }
    /// <summary>Frame height.</summary>
    public required int Height { get; init; }
    /// <summary>Frame width.</summary>
    public required int Width { get; init; }
    /// <summary>Frames per second.</summary>
    public required double Fps { get; init; }
    /// <summary>The seed of the run (also seeds the train/validation split).</summary>
    public ulong Seed { get; init; }
    /// <summary>Number of actions, 0 for none.</summary>
    public int ActionCount { get; init; }
    /// <summary>Action names, or null.</summary>
    public List<string>? ActionNames { get; init; }
    /// <summary>Source details for the manifest.</summary>
    public JsonObject? Details { get; init; }
    /// <summary>Share of episodes held out for validation, in [0, 1).</summary>
    public double ValidationFraction { get; init; } = 0.05;
}

/// <summary>
/// Writes a dataset directory atomically: everything goes into a hidden temporary directory beside the target,
/// the manifest is written last, and only then is the directory renamed into place (replacing an existing one
/// only when asked). A writer disposed without <see cref="Commit"/> (an error, Ctrl+C) removes its temporary
/// directory, so a half-written dataset never appears under the target name.
/// </summary>
/// <remarks>
/// Episodes may be written from several threads at once, each with its own index; at commit the indices must
/// be exactly 0..N−1. Layout: <c>manifest.json</c>, <c>episodes/NNNNNN.frames.npy</c> (uint8 (T, H, W, 3)) and,
/// with actions, <c>episodes/NNNNNN.actions.npy</c> (int32 (T,), see <see cref="DatasetManifest.Alignment"/>).
/// </remarks>
public sealed class DatasetWriter : IDisposable
{
    private readonly string _target, _temp;
    private readonly DatasetDescription _desc;
    private readonly bool _overwrite;
    private readonly Dictionary<int, EpisodeInfo> _episodes = new();
    private readonly object _gate = new();
    private bool _committed;

    /// <summary>The directory the dataset will have once committed.</summary>
    public string Directory => _target;
    /// <summary>Episodes written so far.</summary>
    public int EpisodeCount { get { lock (_gate) return _episodes.Count; } }
    /// <summary>Frames written so far.</summary>
    public long FrameCount { get { lock (_gate) return _episodes.Values.Sum(e => (long)e.Length); } }

    /// <summary>
    /// Starts a dataset at <paramref name="directory"/>. Throws <see cref="IOException"/> if it exists and
    /// <paramref name="overwrite"/> is false (checked now, before any work, and again at commit); with it, an existing
    /// folder is replaced only if it is a dataset (<see cref="OutputFolder.CheckReplaceable"/>) and holds none of
    /// <paramref name="inputs"/>, the files the dataset is made from.
    /// </summary>
    public DatasetWriter(string directory, DatasetDescription description, bool overwrite = false, IEnumerable<string>? inputs = null)
    {
        if (description.Height <= 0 || description.Width <= 0) throw new ArgumentException("frame size must be positive");
        if (!(description.Fps > 0)) throw new ArgumentException("fps must be positive");
        if (!(description.ValidationFraction >= 0 && description.ValidationFraction < 1)) throw new ArgumentException("the validation fraction must be in [0, 1)");
        _target = Path.GetFullPath(directory.TrimEnd('/', '\\'));
        _desc = description;
        _overwrite = overwrite;
        if (File.Exists(_target)) throw new IOException($"{directory} is a file, not a directory");
        if (System.IO.Directory.Exists(_target) && !overwrite)
            throw new IOException($"{directory} already exists; pass --overwrite to replace it");
        if (overwrite) CheckReplaceable(directory, inputs);
        var parent = Path.GetDirectoryName(_target)!;
        System.IO.Directory.CreateDirectory(parent);
        RemoveAbandonedTemps(parent, Path.GetFileName(_target));
        _temp = Path.Combine(parent, $".{Path.GetFileName(_target)}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Path.Combine(_temp, "episodes"));
    }

    /// <summary>Relative path of episode <paramref name="index"/>'s frames.</summary>
    public static string FramesPath(int index) => $"episodes/{index:D6}.frames.npy";
    /// <summary>Relative path of episode <paramref name="index"/>'s actions.</summary>
    public static string ActionsPath(int index) => $"episodes/{index:D6}.actions.npy";

    /// <summary>
    /// Writes episode <paramref name="index"/>: <paramref name="frames"/> is T×H×W×3 bytes; <paramref name="actions"/>
    /// (T values, the last −1) is required exactly when the dataset has actions. Thread-safe for distinct indices.
    /// </summary>
    public void WriteEpisode(int index, ReadOnlySpan<byte> frames, ReadOnlySpan<int> actions, JsonObject? info = null)
    {
        long frameBytes = (long)_desc.Height * _desc.Width * 3;
        if (frames.Length == 0 || frames.Length % frameBytes != 0)
            throw new ArgumentException($"frames must be a whole number (≥ 1) of {_desc.Width}x{_desc.Height}x3 frames, got {frames.Length} bytes");
        int t = (int)(frames.Length / frameBytes);
        bool hasActions = _desc.ActionCount > 0;
        if (hasActions && actions.Length != t) throw new ArgumentException($"an episode of {t} frames needs {t} actions, got {actions.Length}");
        if (!hasActions && actions.Length != 0) throw new ArgumentException("this dataset has no actions");
        for (int i = 0; i < actions.Length; i++)
            if (actions[i] < -1 || actions[i] >= _desc.ActionCount) throw new ArgumentException($"action {actions[i]} at t={i} is outside [-1, {_desc.ActionCount})");
        Reserve(index);
        try
        {
            NpyFile.WriteNew(Path.Combine(_temp, FramesPath(index)), frames, t, _desc.Height, _desc.Width, 3);
            if (hasActions) NpyFile.WriteNew(Path.Combine(_temp, ActionsPath(index)), actions, t);
        }
        catch { Unreserve(index); throw; }
        Register(index, t, info);
    }

    /// <summary>Starts streaming episode <paramref name="index"/> frame by frame (for decoded video, which has no actions).</summary>
    public EpisodeStream BeginEpisode(int index, JsonObject? info = null)
    {
        if (_desc.ActionCount > 0) throw new InvalidOperationException("streamed episodes have no actions; use WriteEpisode");
        Reserve(index);
        return new EpisodeStream(this, index, info, new NpyStreamWriter(Path.Combine(_temp, FramesPath(index) + ".part"), NpyDType.UInt8, _desc.Height, _desc.Width, 3));
    }

    /// <summary>Removes an episode already written (e.g. every episode of a video that then failed to decode).</summary>
    public void RemoveEpisode(int index)
    {
        lock (_gate) _episodes.Remove(index);
        File.Delete(Path.Combine(_temp, FramesPath(index)));
        File.Delete(Path.Combine(_temp, ActionsPath(index)));
    }

    private readonly HashSet<int> _reserved = new();

    private void Reserve(int index)
    {
        if (index < 0) throw new ArgumentOutOfRangeException(nameof(index));
        lock (_gate)
        {
            if (_committed) throw new InvalidOperationException("the dataset is already committed");
            if (_episodes.ContainsKey(index) || !_reserved.Add(index)) throw new ArgumentException($"episode {index} was already written");
        }
    }

    private void Unreserve(int index) { lock (_gate) _reserved.Remove(index); }

    private void Register(int index, int length, JsonObject? info)
    {
        lock (_gate)
        {
            _reserved.Remove(index);
            _episodes[index] = new EpisodeInfo
            {
                Index = index, Frames = FramesPath(index), Actions = _desc.ActionCount > 0 ? ActionsPath(index) : null, Length = length, Info = info,
            };
        }
    }

    /// <summary>
    /// Splits the episodes (a seeded shuffle puts ⌈fraction·N⌉ of them in validation, at least one when
    /// the fraction is positive and N ≥ 2), writes the manifest and moves the dataset into place.
    /// Returns the manifest.
    /// </summary>
    public DatasetManifest Commit()
    {
        List<EpisodeInfo> eps;
        lock (_gate)
        {
            if (_committed) throw new InvalidOperationException("the dataset is already committed");
            if (_reserved.Count > 0) throw new InvalidOperationException("an episode is still being written");
            eps = _episodes.Values.OrderBy(e => e.Index).ToList();
        }
        if (eps.Count == 0) throw new InvalidOperationException("a dataset needs at least one episode");
        for (int i = 0; i < eps.Count; i++)
            if (eps[i].Index != i) throw new InvalidOperationException($"episode indices must be 0..{eps.Count - 1}; {i} is missing");

        int n = eps.Count;
        int val = _desc.ValidationFraction <= 0 || n < 2 ? 0 : Math.Clamp((int)Math.Ceiling(_desc.ValidationFraction * n), 1, n - 1);
        var order = Enumerable.Range(0, n).ToArray();
        new Rng(_desc.Seed ^ 0x5EED_5B11_7000_0000UL).Shuffle(order.AsSpan());
        var isVal = new bool[n];
        foreach (int i in order.Take(val)) isVal[i] = true;
        eps = eps.Select(e => e with { Split = isVal[e.Index] ? "validation" : "train" }).ToList();

        var manifest = new DatasetManifest
        {
            Source = _desc.Source, Details = _desc.Details, Seed = _desc.Seed, Height = _desc.Height, Width = _desc.Width, Fps = _desc.Fps,
            ActionCount = _desc.ActionCount, ActionNames = _desc.ActionNames,
            ActionAlignment = _desc.ActionCount > 0 ? DatasetManifest.Alignment : null,
            EpisodeCount = n, FrameCount = eps.Sum(e => (long)e.Length), ValidationFraction = _desc.ValidationFraction,
            TrainEpisodes = n - val, ValidationEpisodes = val, Created = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"), Episodes = eps,
        };
        // Episode files were written without flushing (fast); flush them all now, before the manifest and the
        // rename make the dataset visible, so a crash cannot leave a complete-looking dataset with torn files.
        Parallel.ForEach(System.IO.Directory.EnumerateFiles(Path.Combine(_temp, "episodes")), new ParallelOptions { MaxDegreeOfParallelism = 4 }, f =>
        {
            using var fs = new FileStream(f, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1);
            fs.Flush(flushToDisk: true);
        });
        AtomicFile.WriteAllText(Path.Combine(_temp, "manifest.json"), manifest.ToJson());

        // --- move into place: the old dataset (if replacing) steps aside first and is deleted only afterwards
        string? aside = null;
        if (System.IO.Directory.Exists(_target))
        {
            if (!_overwrite) throw new IOException($"{_target} appeared while writing; pass --overwrite to replace it");
            CheckReplaceable(_target);
            aside = _temp + ".old";
            System.IO.Directory.Move(_target, aside);
        }
        try { System.IO.Directory.Move(_temp, _target); }
        catch
        {
            if (aside != null) System.IO.Directory.Move(aside, _target);
            throw;
        }
        _committed = true;
        if (aside != null) System.IO.Directory.Delete(aside, recursive: true);
        return manifest;
    }

    /// <summary>Deletes the temporary directory unless the dataset was committed.</summary>
    public void Dispose()
    {
        if (_committed) return;
        _committed = true;
        try { System.IO.Directory.Delete(_temp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Removes temporary directories of earlier writers of this target whose process is gone (a crash or kill -9).</summary>
    /// <summary>
    /// Throws unless <paramref name="directory"/> is missing, empty, or a dataset (a genie-dataset manifest.json and its
    /// episodes folder, nothing else) that holds none of <paramref name="inputs"/>: what <c>--overwrite</c> may replace.
    /// </summary>
    public static void CheckReplaceable(string directory, IEnumerable<string>? inputs = null) =>
        OutputFolder.CheckReplaceable(directory, "dataset", "manifest.json", ["manifest.json", "episodes"], inputs ?? [],
            path => DatasetManifest.Parse(File.ReadAllText(path), path) is not null);

    private static void RemoveAbandonedTemps(string parent, string name)
    {
        foreach (var dir in System.IO.Directory.EnumerateDirectories(parent, $".{name}.tmp-*"))
        {
            var rest = Path.GetFileName(dir)[$".{name}.tmp-".Length..];
            int dash = rest.IndexOf('-');
            if (dash <= 0 || !int.TryParse(rest[..dash], out int pid) || ProcessAlive(pid)) continue;
            try { System.IO.Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static bool ProcessAlive(int pid)
    {
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>An episode being streamed frame by frame; <see cref="Complete"/> keeps it, disposing without it discards it.</summary>
    public sealed class EpisodeStream : IDisposable
    {
        private readonly DatasetWriter _owner;
        private readonly NpyStreamWriter _npy;
        private readonly JsonObject? _info;
        private bool _done;

        /// <summary>The episode's index.</summary>
        public int Index { get; }
        /// <summary>Frames so far.</summary>
        public int Length => _npy.Rows;

        internal EpisodeStream(DatasetWriter owner, int index, JsonObject? info, NpyStreamWriter npy)
        {
            _owner = owner; Index = index; _info = info; _npy = npy;
        }

        /// <summary>Appends one H×W×3 frame.</summary>
        public void Append(ReadOnlySpan<byte> frame) => _npy.Append(frame);

        /// <summary>Finishes the file and registers the episode.</summary>
        public void Complete()
        {
            if (_done) return;
            if (_npy.Rows == 0) throw new InvalidOperationException("an episode needs at least one frame");
            _npy.Complete();
            File.Move(_npy.Path, Path.Combine(_owner._temp, FramesPath(Index)));
            _done = true;
            _owner.Register(Index, _npy.Rows, _info);
        }

        /// <summary>Discards the episode unless it was completed.</summary>
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _npy.Dispose();
            _owner.Unreserve(Index);
        }
    }
}
