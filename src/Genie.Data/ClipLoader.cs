using System.Collections.Concurrent;
using System.Text.Json;
using Genie.Core;

namespace Genie.Data;

/// <summary>
/// A batch of clips. <see cref="Frames"/> is (B, T, H, W, 3) uint8; <see cref="Actions"/> is (B, T) int32 where
/// <c>Actions[b, t]</c> is the action taken after frame t of clip b (it leads to frame t+1; the last entry of
/// a clip is the action after its last frame, or −1 if the episode ends there), or null for video without actions.
/// </summary>
public sealed class ClipBatch
{
    /// <summary>Clips in the batch (B).</summary>
    public required int BatchSize { get; init; }
    /// <summary>Frames per clip (T).</summary>
    public required int ClipLength { get; init; }
    /// <summary>Frame height.</summary>
    public required int Height { get; init; }
    /// <summary>Frame width.</summary>
    public required int Width { get; init; }
    /// <summary>(B, T, H, W, 3) uint8, row-major.</summary>
    public required byte[] Frames { get; init; }
    /// <summary>(B, T) int32, or null.</summary>
    public int[]? Actions { get; init; }
    /// <summary>The episode of each clip.</summary>
    public required int[] Episodes { get; init; }
    /// <summary>The first frame of each clip within its episode.</summary>
    public required int[] Starts { get; init; }
    /// <summary>The loader's state after this batch (save it to resume right after it).</summary>
    public ClipLoaderState? StateAfter { get; init; }
    /// <summary>Bytes per frame (H·W·3).</summary>
    public int FrameBytes => Height * Width * 3;

    /// <summary>A batch made in memory (tests, benchmarks, sub-batches): episode i is clip i, starting at frame 0.</summary>
    public static ClipBatch FromFrames(byte[] frames, int[]? actions, int batchSize, int clipLength, int height, int width)
    {
        if (frames.Length != batchSize * clipLength * height * width * 3)
            throw new ArgumentException($"{frames.Length} bytes are not {batchSize}x{clipLength} frames of {width}x{height}x3");
        if (actions is not null && actions.Length != batchSize * clipLength)
            throw new ArgumentException($"{actions.Length} actions for {batchSize}x{clipLength} frames");
        return new ClipBatch
        {
            BatchSize = batchSize, ClipLength = clipLength, Height = height, Width = width, Frames = frames, Actions = actions,
            Episodes = Enumerable.Range(0, batchSize).ToArray(), Starts = new int[batchSize],
        };
    }
}

/// <summary>
/// Where a <see cref="ClipLoader"/> is in its stream: with the same dataset and settings, a loader restored from
/// it returns exactly the batches the original would have returned next. Small and JSON-serialisable, so a
/// training checkpoint can carry it.
/// </summary>
public sealed record ClipLoaderState
{
    /// <summary>The loader's seed.</summary>
    public ulong Seed { get; init; }
    /// <summary>Frames per clip.</summary>
    public int ClipLength { get; init; }
    /// <summary>Clips per batch.</summary>
    public int BatchSize { get; init; }
    /// <summary>The split read.</summary>
    public DataSplit Split { get; init; }
    /// <summary>Windows in one epoch (checks that the dataset is the same one).</summary>
    public int WindowsPerEpoch { get; init; }
    /// <summary>Current epoch (0-based).</summary>
    public long Epoch { get; init; }
    /// <summary>Position of the next clip in the epoch's shuffled order.</summary>
    public int Position { get; init; }

    /// <summary>The state as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, DatasetManifest.Json);
    /// <summary>Reads a state written by <see cref="ToJson"/>.</summary>
    public static ClipLoaderState FromJson(string json) =>
        JsonSerializer.Deserialize<ClipLoaderState>(json, DatasetManifest.Json) ?? throw new InvalidDataException("empty loader state");
}

/// <summary>
/// Random clips of T consecutive frames for training, never crossing an episode boundary.
/// </summary>
/// <remarks>
/// <para>An epoch cuts every episode of the split into ⌊L/T⌋ non-overlapping windows starting at a random offset
/// in [0, L mod T] (so window boundaries move between epochs and every frame is seen about once per epoch), then
/// shuffles all windows. Both the offsets and the order come from <c>Rng(seed, epoch)</c>, so an epoch's order is
/// a pure function of (seed, epoch) and the stream's position is just (epoch, index): that is the whole state.
/// Batches take consecutive windows and run on into the next epoch. Episodes shorter than T are skipped.</para>
/// <para>A background thread assembles up to <c>prefetch</c> batches ahead, copying frames from the memory-mapped
/// files; the result does not depend on timing. Dispose the loader before its dataset.</para>
/// </remarks>
public sealed class ClipLoader : IClipSource, IDisposable
{
    private readonly Dataset _ds;
    private readonly ulong _seed;
    private readonly int _t, _b, _prefetch;
    private readonly DataSplit _split;
    private readonly (int Episode, int Length)[] _episodes;
    private BlockingCollection<(ClipBatch? Batch, Exception? Error)>? _queue;
    private CancellationTokenSource? _cts;
    private Thread? _worker;
    private ClipLoaderState _state;

    /// <summary>Windows in one epoch.</summary>
    public int WindowsPerEpoch { get; }
    /// <summary>Episodes of the split too short for one clip.</summary>
    public int SkippedEpisodes { get; }
    /// <summary>Frames per clip.</summary>
    public int ClipLength => _t;
    /// <summary>Clips per batch.</summary>
    public int BatchSize => _b;

    /// <summary>A loader of <paramref name="batchSize"/> clips of <paramref name="clipLength"/> frames from <paramref name="split"/>.</summary>
    public ClipLoader(Dataset dataset, DataSplit split, int clipLength, int batchSize, ulong seed, int prefetch = 3, ClipLoaderState? resume = null)
    {
        if (clipLength < 1) throw new ArgumentOutOfRangeException(nameof(clipLength), "clip length must be at least 1");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), "batch size must be at least 1");
        if (prefetch < 1) throw new ArgumentOutOfRangeException(nameof(prefetch), "prefetch must be at least 1");
        _ds = dataset; _split = split; _t = clipLength; _b = batchSize; _seed = seed; _prefetch = prefetch;
        var eps = dataset.Split(split).Select(i => (i, dataset.Episodes[i].Length)).ToArray();
        _episodes = eps.Where(e => e.Length >= clipLength).ToArray();
        SkippedEpisodes = eps.Length - _episodes.Length;
        WindowsPerEpoch = _episodes.Sum(e => e.Length / clipLength);
        if (WindowsPerEpoch == 0)
            throw new ArgumentException($"no {split.ToString().ToLowerInvariant()} episode has {clipLength} frames " +
                                        $"({eps.Length} episodes, the longest {(eps.Length > 0 ? eps.Max(e => e.Length) : 0)})");
        _state = new ClipLoaderState { Seed = seed, ClipLength = clipLength, BatchSize = batchSize, Split = split, WindowsPerEpoch = WindowsPerEpoch };
        if (resume != null) Restore(resume); else Start();
    }

    /// <summary>The state after the last batch <see cref="Next"/> returned (or the starting state).</summary>
    public ClipLoaderState GetState() => _state;

    /// <summary>Continues from <paramref name="state"/>, discarding prefetched batches.</summary>
    public void Restore(ClipLoaderState state)
    {
        if (state.Seed != _seed || state.ClipLength != _t || state.BatchSize != _b || state.Split != _split)
            throw new ArgumentException($"the saved loader state is for seed {state.Seed}, T={state.ClipLength}, B={state.BatchSize}, {state.Split}; " +
                                        $"this loader has seed {_seed}, T={_t}, B={_b}, {_split}");
        if (state.WindowsPerEpoch != WindowsPerEpoch)
            throw new ArgumentException($"the saved loader state is for a dataset with {state.WindowsPerEpoch} windows per epoch, this one has {WindowsPerEpoch} (a different dataset?)");
        if (state.Epoch < 0 || state.Position < 0 || state.Position >= WindowsPerEpoch) throw new ArgumentException("the saved loader state is out of range");
        Stop();
        _state = state;
        Start();
    }

    string IClipSource.GetState() => GetState().ToJson();
    void IClipSource.Restore(string state) => Restore(ClipLoaderState.FromJson(state));

    /// <summary>The next batch (blocks until the background thread has it).</summary>
    public ClipBatch Next()
    {
        ObjectDisposedException.ThrowIf(_queue is null, this);
        var (batch, error) = _queue.Take();
        if (error != null) throw new InvalidOperationException($"the clip loader failed: {error.Message}", error);
        _state = batch!.StateAfter!;
        return batch;
    }

    /// <summary>
    /// The windows of epoch <paramref name="epoch"/> in order: (episode, start frame). A pure function of
    /// (seed, epoch, dataset split, T).
    /// </summary>
    public (int Episode, int Start)[] EpochWindows(long epoch)
    {
        var rng = new Rng(_seed ^ (0x9E3779B97F4A7C15UL * (ulong)(epoch + 1)));
        var windows = new (int, int)[WindowsPerEpoch];
        int k = 0;
        foreach (var (ep, len) in _episodes)
        {
            int n = len / _t;
            int offset = rng.NextInt(len - n * _t + 1);
            for (int i = 0; i < n; i++) windows[k++] = (ep, offset + i * _t);
        }
        rng.Shuffle(windows.AsSpan());
        return windows;
    }

    private void Start()
    {
        _cts = new CancellationTokenSource();
        _queue = new BlockingCollection<(ClipBatch?, Exception?)>(_prefetch);
        var token = _cts.Token;
        var queue = _queue;
        var start = _state;
        _worker = new Thread(() => Produce(start, queue, token)) { IsBackground = true, Name = "clip loader" };
        _worker.Start();
    }

    private void Stop()
    {
        if (_cts is null) return;
        _cts.Cancel();
        _worker?.Join();
        _queue?.Dispose();
        _cts.Dispose();
        _cts = null; _worker = null; _queue = null;
    }

    private void Produce(ClipLoaderState start, BlockingCollection<(ClipBatch?, Exception?)> queue, CancellationToken token)
    {
        long epoch = start.Epoch;
        int pos = start.Position;
        var windows = EpochWindows(epoch);
        try
        {
            while (!token.IsCancellationRequested)
            {
                var picks = new (int Episode, int Start)[_b];
                for (int i = 0; i < _b; i++)
                {
                    picks[i] = windows[pos++];
                    if (pos == windows.Length) { epoch++; pos = 0; windows = EpochWindows(epoch); }
                }
                var batch = Assemble(_ds, picks, _t, start with { Epoch = epoch, Position = pos });
                queue.Add((batch, null), token);
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e)
        {
            try { queue.Add((null, e), token); queue.CompleteAdding(); } catch (OperationCanceledException) { }
        }
    }

    /// <summary>Copies the clips (episode, start) of length <paramref name="t"/> into a new batch.</summary>
    internal static ClipBatch Assemble(Dataset ds, (int Episode, int Start)[] picks, int t, ClipLoaderState? after)
    {
        int b = picks.Length;
        long clipBytes = (long)t * ds.FrameBytes;
        var frames = new byte[checked(b * clipBytes)];
        int[]? actions = ds.HasActions ? new int[b * t] : null;
        for (int i = 0; i < b; i++)
        {
            var (ep, s) = picks[i];
            ds.CopyFrames(ep, s, t, frames.AsSpan((int)(i * clipBytes), (int)clipBytes));
            if (actions != null) ds.Actions(ep)!.AsSpan(s, t).CopyTo(actions.AsSpan(i * t, t));
        }
        return new ClipBatch
        {
            BatchSize = b, ClipLength = t, Height = ds.Height, Width = ds.Width, Frames = frames, Actions = actions,
            Episodes = picks.Select(p => p.Episode).ToArray(), Starts = picks.Select(p => p.Start).ToArray(), StateAfter = after,
        };
    }

    /// <summary>
    /// Fixed, deterministic windows for evaluation: each episode of the split (in index order) cut into
    /// windows of T frames starting at 0, <paramref name="stride"/> apart (default T: no overlap), in batches
    /// of up to <paramref name="batchSize"/> (the last may be smaller). With <paramref name="maxClips"/> fewer
    /// than the windows, that many are taken evenly spaced through the whole list, so they come from across the
    /// split rather than from its first episodes.
    /// </summary>
    public static IEnumerable<ClipBatch> FixedWindows(Dataset dataset, DataSplit split, int clipLength, int batchSize, int? maxClips = null, int? stride = null)
    {
        if (clipLength < 1 || batchSize < 1) throw new ArgumentOutOfRangeException(nameof(clipLength), "clip length and batch size must be positive");
        int step = stride ?? clipLength;
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(stride), "stride must be positive");
        var windows = new List<(int, int)>();
        foreach (int ep in dataset.Split(split))
            for (int s = 0; s + clipLength <= dataset.Episodes[ep].Length; s += step)
                windows.Add((ep, s));
        if (maxClips is int most && most < windows.Count)
            windows = Enumerable.Range(0, Math.Max(0, most)).Select(i => windows[(int)((long)i * windows.Count / most)]).ToList();
        for (int i = 0; i < windows.Count; i += batchSize)
            yield return Assemble(dataset, windows.Skip(i).Take(batchSize).ToArray(), clipLength, null);
    }

    /// <summary>Stops the background thread.</summary>
    public void Dispose() => Stop();
}
