using System.Text.Json;

namespace Genie.Cli.Tests;

/// <summary>`genie eval compare`: runs' evaluation files as points of one plot, with a table of the same numbers.</summary>
public sealed class EvalCompareTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "genie-compare-" + Guid.NewGuid().ToString("N"));

    public EvalCompareTests() => Directory.CreateDirectory(_dir);
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private string Eval(string name, object numbers)
    {
        var path = Path.Combine(_dir, name + ".json");
        File.WriteAllText(path, JsonSerializer.Serialize(numbers));
        return path;
    }

    [Fact]
    public void Compare_WritesAPlot_AndTabulatesEachFilesNumbers()
    {
        var a = Eval("run-a", new { control_still_share = 0.635, rollout_direction_agreement = 0.387, world_control_still_share = 0.602 });
        var b = Eval("run-b", new { control_still_share = 0.759, rollout_direction_agreement = 0.486, world_control_still_share = 0.602 });
        var png = Path.Combine(_dir, "plot.png");
        var r = Genie.Run("eval", "compare", a, b, "--y-target", "0.6", "--out", png);
        Assert.True(r.Exit == 0, r.Stderr);
        var image = File.ReadAllBytes(png);
        Assert.True(image.Length > 1000 && image[1] == (byte)'P' && image[2] == (byte)'N' && image[3] == (byte)'G');
        var rows = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, rows.Length);
        Assert.Equal(["run-a", "0.635", "0.387"], rows[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["run-b", "0.759", "0.486"], rows[2].Split(' ', StringSplitOptions.RemoveEmptyEntries));

        // Other measures and labels.
        r = Genie.Run("eval", "compare", a, b, "--x", "world_control_still_share", "--labels", "shipped,weight 1", "--out", png);
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.StartsWith("weight 1", r.Stdout.Split('\n')[2]);
    }

    [Fact]
    public void Compare_RefusesAMissingMeasure_AWrongLabelCount_AndANonPngOut_WritingNothing()
    {
        var a = Eval("a", new { control_still_share = 0.6, rollout_direction_agreement = 0.4 });
        var tokenizerOnly = Eval("tok", new { tokenizer_psnr = 34.8 });
        var png = Path.Combine(_dir, "never.png");
        void Refused((int Exit, string Stdout, string Stderr) r, string mention, string? outPath = null)
        {
            Assert.True(r.Exit == 1, $"exit {r.Exit}: {r.Stderr}");
            Assert.Contains(mention, r.Stderr);
            Assert.DoesNotContain("   at ", r.Stderr);
            Assert.False(File.Exists(outPath ?? png));
        }
        Refused(Genie.Run("eval", "compare", a, tokenizerOnly, "--out", png), "has no number control_still_share");
        Refused(Genie.Run("eval", "compare", a, tokenizerOnly, "--out", png), "its numbers: tokenizer_psnr");
        Refused(Genie.Run("eval", "compare", a, "--labels", "x,y", "--out", png), "2 labels for 1 files");
        var gif = Path.Combine(_dir, "plot.gif");
        Refused(Genie.Run("eval", "compare", a, "--out", gif), "does not end in .png", gif);
        Refused(Genie.Run("eval", "compare", Path.Combine(_dir, "missing.json"), "--out", png), "no such file");
        Refused(Genie.Run("eval", "compare", a, "--x-target", "NaN", "--out", png), "--x-target must be a finite number");
        Refused(Genie.Run("eval", "compare", a, "--x-targte", "0.5", "--out", png), "unknown option --x-targte");
        var bad = Path.Combine(_dir, "bad.json");
        File.WriteAllText(bad, "{ not json");
        Refused(Genie.Run("eval", "compare", bad, "--out", png), $"{bad} is not JSON");
    }

    [Fact]
    public void Compare_NamesAReportJsonAfterItsFolder()
    {
        var folder = Path.Combine(_dir, "run-x5f");
        Directory.CreateDirectory(folder);
        var report = Path.Combine(folder, "report.json");
        File.WriteAllText(report, JsonSerializer.Serialize(new { control_still_share = 0.6, rollout_direction_agreement = 0.4 }));
        var r = Genie.Run("eval", "compare", report, "--out", Path.Combine(_dir, "plot.png"));
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.StartsWith("run-x5f ", r.Stdout.Split('\n')[1]);
    }
}
