using System.Diagnostics;
using Genie.Engine.IO;
using Genie.Models.Evaluation;
using Xunit.Abstractions;

namespace Genie.Models.Tests;

/// <summary>
/// Golden test of <see cref="I3d"/> against an independent PyTorch implementation of piergiaj/pytorch-i3d's
/// InceptionI3d (tools/golden/i3d.py, float64): a thin network (channels / 16, 25 classes) under the real tensor names,
/// on 64×64 uint8 clips computed by a formula on both sides, resized to 224×224 and scaled to [-1, 1].
/// <para>Tolerance: |actual − expected| ≤ 1e-4 for logits of magnitude up to ~2, where float32 rounding alone gives
/// ~1e-5 (PyTorch's own float32 run of the same cases is off by at most 1.3e-5).</para>
/// </summary>
public class I3dTests(ITestOutputHelper log)
{
    private static string Fixture => Path.Combine(AppContext.BaseDirectory, "Fixtures", "i3d_thin.safetensors");

    /// <summary>The clip of tools/golden/i3d.py: u8[t, y, x, c] = (7y + 13x + 29t + 61c + xy + ⌊txy / 5⌋) mod 256, 64×64.</summary>
    private static byte[] Clip(int frames)
    {
        var clip = new byte[frames * 64 * 64 * 3];
        for (int t = 0; t < frames; t++)
            for (int y = 0; y < 64; y++)
                for (int x = 0; x < 64; x++)
                    for (int c = 0; c < 3; c++)
                        clip[((t * 64 + y) * 64 + x) * 3 + c] = (byte)((7 * y + 13 * x + 29 * t + 61 * c + x * y + t * y * x / 5) % 256);
        return clip;
    }

    [Theory]
    [InlineData(16)]
    [InlineData(20)]
    public void Features_MatchPyTorch(int frames)
    {
        var i3d = I3d.Load(Fixture);
        var expected = SafeTensors.Load(Fixture).Tensors[$"expected.t{frames}"].Data;
        Assert.Equal(expected.Length, i3d.Classes);
        var clock = Stopwatch.StartNew();
        var got = i3d.Features(Clip(frames), frames, 64, 64);
        double max = 0;
        for (int i = 0; i < expected.Length; i++) max = Math.Max(max, Math.Abs(got[i] - expected[i]));
        log.WriteLine($"T={frames}: max |error| {max:E2} over {expected.Length} logits in {clock.Elapsed.TotalSeconds:0.00} s");
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(got[i] - expected[i]) <= 1e-4, $"logit {i}: {got[i]}, PyTorch {expected[i]}");
        Assert.Contains("i3d_thin.safetensors", i3d.Name);
    }

    [Fact]
    public void Load_NotAnI3d_NamesTheTensor()
    {
        var tensors = SafeTensors.Load(Fixture).Tensors;
        var dir = Directory.CreateTempSubdirectory("genie-i3d-");
        try
        {
            // One tensor missing, then one of the wrong shape.
            var missing = Path.Combine(dir.FullName, "missing.safetensors");
            SafeTensors.SaveArrays(missing, tensors.Where(kv => kv.Key != "Mixed_4c.b2b.bn.running_var").Select(kv => (kv.Key, kv.Value.Shape, kv.Value.Data)).ToList());
            var e = Assert.Throws<InvalidDataException>(() => I3d.Load(missing));
            Assert.Contains("Mixed_4c.b2b.bn.running_var", e.Message);
            Assert.Contains("not an I3D", e.Message);

            var misshapen = Path.Combine(dir.FullName, "misshapen.safetensors");
            SafeTensors.SaveArrays(misshapen, tensors.Select(kv => kv.Key == "Mixed_3c.b1b.conv3d.weight"
                ? (kv.Key, new[] { kv.Value.Shape[0], kv.Value.Shape[1], 1, 3, 9 }, kv.Value.Data) : (kv.Key, kv.Value.Shape, kv.Value.Data)).ToList());
            e = Assert.Throws<InvalidDataException>(() => I3d.Load(misshapen));
            Assert.Contains("Mixed_3c.b1b.conv3d.weight", e.Message);
        }
        finally { dir.Delete(recursive: true); }
        Assert.Throws<FileNotFoundException>(() => I3d.Load(Path.Combine(dir.FullName, "none.safetensors")));
    }

    [Fact]
    public void Logits_TooFewFrames_Throws()
    {
        var i3d = I3d.Load(Fixture);
        var e = Assert.Throws<ArgumentException>(() => i3d.Features(Clip(I3d.MinFrames - 1), I3d.MinFrames - 1, 64, 64));
        Assert.Contains($"at least {I3d.MinFrames} frames", e.Message);
    }
}
