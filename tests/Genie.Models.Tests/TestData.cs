using Genie.Core;
using Genie.Data;
using Genie.Models;
using Genie.Models.Training;

namespace Genie.Models.Tests;

/// <summary>Small synthetic videos and an in-memory clip source for model tests.</summary>
public static class TestData
{
    public static GenieConfig Tiny(params string[] overrides) => GenieConfig.Load("tiny", overrides);

    /// <summary>
    /// A clip of a bright square moving over a two-tone background: action 0 moves it right, 1 left,
    /// 2 down, 3 up (wrapping). Frames (T, H, W, 3) and actions (T).
    /// </summary>
    public static (byte[] Frames, int[] Actions) MovingSquare(int t, int size, Rng rng, int square = 4)
    {
        var frames = new byte[t * size * size * 3];
        var actions = new int[t];
        int x = rng.NextInt(size), y = rng.NextInt(size);
        for (int f = 0; f < t; f++)
        {
            for (int py = 0; py < size; py++)
            for (int px = 0; px < size; px++)
            {
                int o = ((f * size + py) * size + px) * 3;
                bool inside = ((px - x + size) % size) < square && ((py - y + size) % size) < square;
                frames[o] = inside ? (byte)250 : (byte)(py < size / 2 ? 30 : 90);
                frames[o + 1] = inside ? (byte)220 : (byte)60;
                frames[o + 2] = inside ? (byte)40 : (byte)(py < size / 2 ? 140 : 70);
            }
            int a = rng.NextInt(4);
            actions[f] = a;
            int step = square;
            if (a == 0) x = (x + step) % size;
            else if (a == 1) x = (x - step + size) % size;
            else if (a == 2) y = (y + step) % size;
            else y = (y - step + size) % size;
        }
        return (frames, actions);
    }

    /// <summary>A batch of <paramref name="b"/> moving-square clips.</summary>
    public static ClipBatch Batch(int b, int t, int size, Rng rng)
    {
        int fb = size * size * 3;
        var frames = new byte[b * t * fb];
        var actions = new int[b * t];
        for (int c = 0; c < b; c++)
        {
            var (f, a) = MovingSquare(t, size, rng);
            f.CopyTo(frames, c * t * fb);
            a.CopyTo(actions, c * t);
        }
        return ClipBatch.FromFrames(frames, actions, b, t, size, size);
    }
}

/// <summary>Cycles through a fixed list of batches; its state is the index of the next one.</summary>
public sealed class ListClipSource(IReadOnlyList<ClipBatch> batches) : IClipSource
{
    private int _next;
    public ClipBatch Next() => batches[_next++ % batches.Count];
    public string GetState() => _next.ToString();
    public void Restore(string state) => _next = int.Parse(state);
}
