using Genie.Core;
using Genie.Core.IO;
using Genie.Engine;
using Genie.Engine.IO;
using Genie.Engine.Optim;

namespace Genie.Engine.Tests;

public class OptimizerTests
{
    [Fact]
    public void AdamW_MatchesHandComputedSteps_WithDecayOnlyWhereFlagged()
    {
        var w = Tensor.Parameter("w", [2], decay: true);
        var b = Tensor.Parameter("b", [2], decay: false);
        w.CopyFrom([1f, -2f]);
        b.CopyFrom([1f, -2f]);
        var opt = new AdamW([w, b]) { Beta1 = 0.9f, Beta2 = 0.95f, Eps = 1e-8f, WeightDecay = 0.1f };
        float[] g1 = [0.5f, -1f], g2 = [0.25f, 2f];
        double[] pw = [1, -2], pb = [1, -2], m = [0, 0], v = [0, 0];
        float lr = 0.01f;
        int t = 0;
        foreach (var g in new[] { g1, g2 })
        {
            w.Grad!.CopyFrom(g); b.Grad!.CopyFrom(g);
            opt.Step(lr);
            t++;
            for (int i = 0; i < 2; i++)
            {
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.95 * v[i] + 0.05 * g[i] * g[i];
                double upd = lr * (m[i] / (1 - Math.Pow(0.9, t))) / (Math.Sqrt(v[i] / (1 - Math.Pow(0.95, t))) + 1e-8);
                pw[i] = pw[i] * (1 - lr * 0.1) - upd;
                pb[i] = pb[i] - upd;
            }
        }
        var wv = w.ToArray(); var bv = b.ToArray();
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(pw[i], wv[i], 5);
            Assert.Equal(pb[i], bv[i], 5);
        }
        Assert.NotEqual(wv[0], bv[0]); // decay made a difference
    }

    [Fact]
    public void ClipGlobalNorm_ScalesAllGradientsJointly()
    {
        var a = Tensor.Parameter("a", [2], false);
        var b = Tensor.Parameter("b", [1], false);
        a.Grad!.CopyFrom([3f, 0f]);
        b.Grad!.CopyFrom([4f]);
        float norm = GradClip.ClipGlobalNorm([a, b], 1f);
        Assert.Equal(5f, norm, 4);
        Assert.Equal(0.6f, a.Grad.ToArray()[0], 4);
        Assert.Equal(0.8f, b.Grad.ToArray()[0], 4);
        Assert.Equal(1f, GradClip.ClipGlobalNorm([a, b], 10f), 3); // under the limit: unchanged
        Assert.Equal(0.6f, a.Grad.ToArray()[0], 4);
    }

    [Fact]
    public void WarmupCosine_RisesLinearly_ThenDecaysToTheFloor()
    {
        var s = new WarmupCosine(1e-3f, 10, 110, 1e-5f);
        Assert.Equal(1e-4f, s.At(0), 7);
        Assert.Equal(1e-3f, s.At(9), 7);
        Assert.Equal(1e-3f, s.At(10), 7);
        Assert.Equal((1e-3f + 1e-5f) / 2, s.At(60), 6);
        Assert.Equal(1e-5f, s.At(110), 7);
        Assert.True(s.At(30) > s.At(31));
    }
}

public class SafeTensorsTests
{
    private static string TempPath() => Path.Combine(Path.GetTempPath(), $"genie-st-{Guid.NewGuid():N}.safetensors");

    [Fact]
    public void RoundTrip_F32_IsExact_AndBF16_IsWithinHalfAnUlp()
    {
        var path = TempPath();
        try
        {
            var rng = new Rng(3);
            var a = new float[24];
            for (int i = 0; i < a.Length; i++) a[i] = rng.NextNormal() * 10;
            SafeTensors.SaveArrays(path, [("x.weight", [4, 6], a), ("y", [3], [1f, -2f, 0.5f])], SafeTensorsDType.F32,
                new Dictionary<string, string> { ["format"] = "genie" });
            var (t, meta) = SafeTensors.Load(path);
            Assert.Equal(a, t["x.weight"].Data);
            Assert.Equal([4, 6], t["x.weight"].Shape);
            Assert.Equal("genie", meta["format"]);

            SafeTensors.SaveArrays(path, [("x", [24], a)], SafeTensorsDType.BF16);
            var (t2, _) = SafeTensors.Load(path);
            Assert.Equal(SafeTensorsDType.BF16, t2["x"].DType);
            for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - t2["x"].Data[i]) <= Math.Abs(a[i]) / 256, $"{a[i]} vs {t2["x"].Data[i]}");
            Assert.Equal(2 * 24 + 8, new FileInfo(path).Length - HeaderLength(path));
        }
        finally { File.Delete(path); }
    }

    private static long HeaderLength(string path)
    {
        var bytes = File.ReadAllBytes(path);
        return (long)BitConverter.ToUInt64(bytes, 0);
    }

    [Fact]
    public void TruncatedFile_GivesAClearError()
    {
        var path = TempPath();
        try
        {
            SafeTensors.SaveArrays(path, [("w", [100], new float[100])]);
            var bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(path, bytes[..^17]);
            var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
            Assert.Contains("truncated", e.Message);
            File.WriteAllBytes(path, bytes[..5]);
            Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void CorruptHeader_GivesAClearError()
    {
        var path = TempPath();
        try
        {
            SafeTensors.SaveArrays(path, [("w", [4], new float[4])]);
            var bytes = File.ReadAllBytes(path);
            bytes[8] = (byte)'#'; // the header's opening brace
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
            Assert.Contains("not a valid safetensors file", e.Message);
            Assert.Throws<FileNotFoundException>(() => SafeTensors.Load(path + ".missing"));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Save_IsAtomic_AFailedWriteKeepsTheOldFileAndLeavesNoTemporary()
    {
        var dir = Directory.CreateTempSubdirectory("genie-atomic").FullName;
        var path = Path.Combine(dir, "w.safetensors");
        try
        {
            SafeTensors.SaveArrays(path, [("w", [2], [1f, 2f])]);
            var before = File.ReadAllBytes(path);
            Assert.Throws<ArgumentException>(() => SafeTensors.SaveArrays(path, [("w", [3], [1f, 2f])])); // bad shape, fails before writing
            Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s => { s.WriteByte(1); throw new InvalidOperationException("boom"); }));
            Assert.Equal(before, File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(dir));
        }
        finally { Directory.Delete(dir, true); }
    }
}
