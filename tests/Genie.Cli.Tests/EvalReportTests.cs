using System.Text.Json;

namespace Genie.Cli.Tests;

/// <summary>A tiny trained run (a few steps of each stage on the fixture's data) to evaluate.</summary>
public sealed class TinyRunFixture : IDisposable
{
    private readonly CliFixture _data = new();
    /// <summary>The fixture's 16x16 dataset.</summary>
    public string Data => _data.Data;
    /// <summary>Scratch folder.</summary>
    public string Root => _data.Root;
    /// <summary>A dynamics run of the tiny config.</summary>
    public string Run => Path.Combine(Root, "dyn");

    public TinyRunFixture()
    {
        var tok = Path.Combine(Root, "tok");
        var r = Genie.Run("train", "tokenizer", "--data", Data, "--config", "tiny", "--out", tok, "--threads", "1", "--set", "train_tokenizer.steps=4");
        if (r.Exit != 0) throw new InvalidOperationException("could not train the test tokenizer: " + r.Stderr);
        r = Genie.Run("train", "dynamics", "--data", Data, "--tokenizer", tok, "--out", Run, "--threads", "1", "--set", "train_dynamics.steps=4");
        if (r.Exit != 0) throw new InvalidOperationException("could not train the test dynamics: " + r.Stderr);
    }

    public void Dispose() => _data.Dispose();
}

/// <summary>`genie eval --out REPORT_DIR` (issue 13): the report's numbers, its page, and the folders it refuses.</summary>
public class EvalReportTests(TinyRunFixture f) : IClassFixture<TinyRunFixture>
{
    private string Out(string name) => Path.Combine(f.Root, name + "-" + Guid.NewGuid().ToString("N")[..8]);

    private (int Exit, string Stdout, string Stderr) Eval(string outDir, params string[] extra) =>
        Genie.Run(["eval", "--run", f.Run, "--data", f.Data, "--clips", "3", "--control-prompts", "2", "--control-frames", "3",
                   "--threads", "1", "--out", outDir, .. extra]);

    [Fact]
    public void Export_WarnsOfGuidance_OnAModelTrainedWithoutActionDropout()
    {
        string plain = Out("export"), guided = Out("export-w2");
        var r = Genie.Run("export", "--run", f.Run, "--out", plain);
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.DoesNotContain("warning", r.Stderr);
        r = Genie.Run("export", "--run", f.Run, "--out", guided, "--set", "dynamics.guidance=2");
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Contains("warning: the export samples at guidance 2 on a model trained without action dropout", r.Stderr);
        // The rollout of that export says so too.
        var png = Out("grid") + ".png";
        r = Genie.Run("rollout", "--run", guided, "--grid", "--prompt", "sample:0", "--frames", "2", "--out", png, "--threads", "1");
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Contains("warning: guidance 2 on a model trained without action dropout", r.Stderr);
    }

    [Fact]
    public void I3d_GivesTheFvd_NamedAfterTheWeights()
    {
        // The thin golden I3D of the model tests (25 logits) on a tiny run of 10-frame clips (I3D needs at least 9).
        var weights = Path.Combine(AppContext.BaseDirectory, "Fixtures", "i3d_thin.safetensors");
        string tok = Out("tok10"), run = Out("dyn10");
        var r = Genie.Run("train", "tokenizer", "--data", f.Data, "--config", "tiny", "--out", tok, "--threads", "1", "--set", "train_tokenizer.steps=2", "--set", "max_frames=10");
        Assert.True(r.Exit == 0, r.Stderr);
        r = Genie.Run("train", "dynamics", "--data", f.Data, "--tokenizer", tok, "--out", run, "--threads", "1", "--set", "train_dynamics.steps=2");
        Assert.True(r.Exit == 0, r.Stderr);
        r = Genie.Run("eval", "--run", run, "--clips", "2", "--control-prompts", "0", "--threads", "1", "--json", "--i3d", weights);
        Assert.True(r.Exit == 0, r.Stderr);
        using var printed = JsonDocument.Parse(r.Stdout.Trim().Split('\n')[^1]);
        var root = printed.RootElement;
        Assert.True(root.GetProperty("fvd").GetDouble() >= 0);
        Assert.True(root.GetProperty("fvd_random_actions").GetDouble() >= 0);
        var name = root.GetProperty("fvd_features").GetString()!;
        Assert.StartsWith("i3d (i3d_thin.safetensors", name);
        Assert.DoesNotContain("not I3D", name);

        // The tiny run's own 4-frame clips are too short for I3D: refused before the rollouts.
        r = Genie.Run("eval", "--run", f.Run, "--data", f.Data, "--clips", "2", "--threads", "1", "--i3d", weights);
        Assert.Equal(1, r.Exit);
        Assert.Contains("at least 9 frames", r.Stderr);
        Assert.DoesNotContain("rolling out", r.Stderr);
    }

    [Fact]
    public void NoRollouts_MeasuresTheTokenizerAndTheLatentActions_AsTheFullEvalDoes()
    {
        JsonElement Run(params string[] extra)
        {
            var r = Genie.Run(["eval", "--run", f.Run, "--data", f.Data, "--clips", "3", "--control-prompts", "2", "--control-frames", "3", "--threads", "1", "--json", .. extra]);
            Assert.True(r.Exit == 0, r.Stderr);
            using var printed = JsonDocument.Parse(r.Stdout.Trim().Split('\n')[^1]);
            return printed.RootElement.Clone();
        }
        var full = Run();
        var quick = Run("--no-rollouts");
        foreach (var key in new[] { "tokenizer_psnr", "codes_used", "action_nmi", "action_accuracy", "transitions" })
            Assert.Equal(full.GetProperty(key).GetRawText(), quick.GetProperty(key).GetRawText());
        Assert.Equal(full.GetProperty("latent_true_counts").GetRawText(), quick.GetProperty("latent_true_counts").GetRawText());
        foreach (var key in new[] { "latent_direction_counts", "latent_direction_nmi", "latent_direction_share", "latent_self_follow",
                     "latent_self_follow_by_action", "world_held_latent_counts", "world_held_latent_purity", "world_held_latent_nmi",
                     "world_held_latent_self_follow", "world_buttons" })
            Assert.Equal(full.GetProperty(key).GetRawText(), quick.GetProperty(key).GetRawText());
        // The world's buttons as the LAM reads them: a row per button, each held 3 frames from 2 prompts (fewer where an episode ended).
        var held = quick.GetProperty("world_held_latent_counts").EnumerateArray().Select(row => row.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray();
        Assert.Equal(quick.GetProperty("world_buttons").GetArrayLength(), held.Length);
        Assert.Equal(quick.GetProperty("true_actions").EnumerateArray().Select(e => e.GetString()),
            quick.GetProperty("world_buttons").EnumerateArray().Select(e => e.GetString()));
        Assert.All(held, row => Assert.InRange(row.Sum(), 0, 2 * 3));
        Assert.Equal(Math.Round(held.Where(row => row.Sum() > 0).Average(row => (double)row.Max() / row.Sum()), 4),
            quick.GetProperty("world_held_latent_purity").GetDouble());
        Assert.InRange(quick.GetProperty("latent_self_follow").GetDouble(), 0, 1);
        Assert.Equal(4, quick.GetProperty("latent_self_follow_by_action").GetArrayLength());
        int[][] Matrix(string key) => full.GetProperty(key).EnumerateArray().Select(row => row.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray();
        int transitions = full.GetProperty("transitions").GetInt32();
        Assert.Equal(transitions, Matrix("latent_direction_counts").Sum(row => row.Sum()));
        // The direction counts of the rollouts hold their agreement: the diagonal of the moving rows over those rows.
        foreach (var (counts, agreement) in new[] { ("rollout_direction_counts", "rollout_direction_agreement"),
                     ("next_frame_direction_counts_real_context", "next_frame_direction_agreement_real_context") })
        {
            var m = Matrix(counts);
            Assert.Equal(9, m.Length);
            Assert.Equal(transitions, m.Sum(row => row.Sum()));
            int moving = Enumerable.Range(0, 9).Where(r => r != 4).Sum(r => m[r].Sum());
            int same = Enumerable.Range(0, 9).Where(r => r != 4).Sum(r => m[r][r]);
            Assert.Equal(moving == 0 ? 0 : Math.Round((double)same / moving, 3), full.GetProperty(agreement).GetDouble());
        }
        // The model driven by the world's buttons as the LAM reads them: a row per button, like the world's own.
        Assert.Equal(full.GetProperty("world_buttons").GetArrayLength(), full.GetProperty("world_driven_controllability").GetArrayLength());
        // The overall figures are the means of the (rounded) rows, within the rounding.
        foreach (var (overall, column) in new[] { ("world_driven_still_share", "still_share"), ("world_driven_agreement", "agreement") })
            Assert.InRange(full.GetProperty("world_driven_controllability").EnumerateArray().Average(row => row.GetProperty(column).GetDouble())
                - full.GetProperty(overall).GetDouble(), -0.0015, 0.0015);
        Assert.InRange(full.GetProperty("world_driven_direction_agreement").GetDouble(), 0, 1);
        // The world's moving frames are counted over the same held rollouts the LAM read: at most buttons × prompts × frames.
        Assert.InRange(full.GetProperty("world_driven_moving_frames").GetInt32(), 0, full.GetProperty("world_buttons").GetArrayLength() * 2 * 3);
        foreach (var key in new[] { "delta_psnr_t4", "rollout_direction_agreement", "fvd", "control_still_share", "temperature", "sampling_steps", "guidance",
                     "world_driven_still_share", "world_driven_agreement", "world_driven_direction_agreement", "world_driven_controllability" })
        {
            Assert.True(full.TryGetProperty(key, out _), key);
            Assert.False(quick.TryGetProperty(key, out _), key);
        }
        var refused = Genie.Run("eval", "--run", f.Run, "--data", f.Data, "--no-rollouts", "--write-actions", Out("actions") + ".json");
        Assert.Equal(1, refused.Exit);
        Assert.Contains("--no-rollouts measures no rollouts", refused.Stderr);
    }

    [Fact]
    public void Report_HoldsEveryJsonNumber_AndASelfContainedPage()
    {
        var dir = Out("report");
        var r = Eval(dir, "--json");
        Assert.True(r.Exit == 0, r.Stderr);
        using var printed = JsonDocument.Parse(r.Stdout.Trim().Split('\n')[^1]);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "report.json")));
        var root = report.RootElement;
        foreach (var p in printed.RootElement.EnumerateObject())
        {
            Assert.True(root.TryGetProperty(p.Name, out var v), $"report.json lacks {p.Name}");
            Assert.True(JsonElement.DeepEquals(p.Value, v), $"{p.Name}: {p.Value} printed, {v} in report.json");
        }
        Assert.Equal("genie eval report", root.GetProperty("report").GetString());
        // The added numbers: SSIM, codebook usage, Δt PSNR from t = 1 (the prompt: 0), frames/s, FVD named by its features, the count matrix.
        int length = root.GetProperty("clip_length").GetInt32();
        var delta = root.GetProperty("delta_psnr_by_t").EnumerateArray().Select(e => e.GetDouble()).ToList();
        Assert.Equal(length, delta.Count);
        Assert.Equal(0, delta[0]);
        Assert.Equal(length, root.GetProperty("psnr_inferred_by_t").GetArrayLength());
        Assert.InRange(root.GetProperty("tokenizer_ssim").GetDouble(), -1, 1);
        Assert.Equal(64, root.GetProperty("codebook_size").GetInt32());
        Assert.Equal(root.GetProperty("codes_used").GetDouble() / 64, root.GetProperty("codebook_usage").GetDouble(), 4);
        Assert.True(root.GetProperty("generation_frames_per_second").GetDouble() > 0);
        Assert.True(root.GetProperty("fvd").GetDouble() >= 0);
        Assert.Contains("not I3D", root.GetProperty("fvd_features").GetString());
        Assert.Equal(0, root.GetProperty("choice_temperature").GetDouble());             // the config's: MaskGIT ranks by plain probability
        Assert.Equal(1, root.GetProperty("temperature").GetDouble());                    // the tiny config's sampling settings
        Assert.Equal(4, root.GetProperty("sampling_steps").GetInt32());
        var counts = root.GetProperty("latent_true_counts").EnumerateArray().Select(row => row.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray();
        Assert.Equal(4, counts.Length);                                                  // the tiny config's latent actions
        Assert.Equal(root.GetProperty("true_actions").GetArrayLength(), counts[0].Length);
        Assert.Equal(root.GetProperty("transitions").GetInt32(), counts.Sum(row => row.Sum()));
        // The world's own buttons held from the same prompts: one row per true action, named.
        var world = root.GetProperty("world_controllability").EnumerateArray().ToList();
        Assert.Equal(root.GetProperty("true_actions").EnumerateArray().Select(e => e.GetString()), world.Select(row => row.GetProperty("action").GetString()));
        Assert.InRange(root.GetProperty("world_control_still_share").GetDouble(), 0, 1);
        Assert.Equal(world.Average(row => row.GetProperty("still_share").GetDouble()), root.GetProperty("world_control_still_share").GetDouble(), 2);

        var html = File.ReadAllText(Path.Combine(dir, "report.html"));
        Assert.Equal(3 * 3, CountOf(html, "src=\"data:image/gif;base64,"));        // 3 clips × real, inferred, random
        Assert.True(CountOf(html, "class=\"plot") >= 4, "Δt curve, PSNR curve, heat map, controllability");
        Assert.Contains("id=\"training\"", html);
        // Where the direction goes: latent by real direction, and real by generated for the rollouts and the teacher-forced frames.
        var directions = html[html.IndexOf("id=\"directions\"")..html.IndexOf("</section>", html.IndexOf("id=\"directions\""))];
        Assert.Equal(3, CountOf(directions, "class=\"plot\""));
        Assert.Contains("class=\"plot training\"", html);                         // the dynamics run has a metrics.jsonl
        // The world's buttons held, as the LAM reads them: one heat map.
        var heldSection = html[html.IndexOf("id=\"held\"")..html.IndexOf("</section>", html.IndexOf("id=\"held\""))];
        Assert.Equal(1, CountOf(heldSection, "class=\"plot\""));
        Assert.Contains(root.GetProperty("world_held_latent_purity").GetDouble().ToString("0.####", System.Globalization.CultureInfo.InvariantCulture), heldSection);
        // The plots carry their text (title, axis labels): the first plot's title band is not blank. Without a font
        // file SkiaSharp's self-contained build finds no font and draws every text as nothing.
        var firstPlot = System.Text.RegularExpressions.Regex.Match(html, "src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"").Groups[1].Value;
        var plot = global::Genie.Media.ImageFile.Decode(Convert.FromBase64String(firstPlot));
        int dark = 0;
        for (int y = 0; y < 30; y++)
            for (int x = 0; x < plot.Width; x++) { var (pr, pg, pb) = plot.GetPixel(x, y); if (pr + pg + pb < 300) dark++; }
        Assert.True(dark > 50, $"the first plot's title band has {dark} dark pixels: its text was not drawn");
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("<link", html);
        Assert.Empty(Directory.GetFiles(dir).Select(Path.GetFileName).Except(["report.json", "report.html"]));

        // An earlier report is replaced.
        var again = Eval(dir);
        Assert.True(again.Exit == 0, again.Stderr);
    }

    [Fact]
    public void WorldReference_RefusesData_ThatDoesNotReplay()
    {
        // The same dataset with every episode's level seed changed: the world replays other levels, whose frames are not
        // the prompts, so there is no world figure (and the model's own figures are still there).
        var data = Out("data-moved");
        Directory.CreateDirectory(data);
        foreach (var file in Directory.GetFiles(f.Data, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(data, Path.GetRelativePath(f.Data, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(data, "manifest.json")))!;
        foreach (var e in manifest["episodes"]!.AsArray()) e!["info"]!["level_seed"] = e["info"]!["level_seed"]!.GetValue<int>() + 1;
        File.WriteAllText(Path.Combine(data, "manifest.json"), manifest.ToJsonString());
        var r = Genie.Run("eval", "--run", f.Run, "--data", data, "--clips", "2", "--control-prompts", "2", "--control-frames", "3", "--threads", "1", "--json",
            "--temperature", "0", "--steps", "2");
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Contains("does not replay", r.Stderr);
        using var printed = JsonDocument.Parse(r.Stdout.Trim().Split('\n')[^1]);
        Assert.Equal(0, printed.RootElement.GetProperty("temperature").GetDouble());     // the overrides are what the figures hold for
        Assert.Equal(2, printed.RootElement.GetProperty("sampling_steps").GetInt32());
        Assert.False(printed.RootElement.TryGetProperty("world_control_still_share", out _));
        Assert.True(printed.RootElement.TryGetProperty("control_still_share", out _));
    }

    private static int CountOf(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    private static void AssertClearError((int Exit, string Stdout, string Stderr) r, string mention)
    {
        Assert.True(r.Exit == 1, $"exit {r.Exit}, stderr: {r.Stderr}");
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.Contains(r.Stderr.Split('\n'), line => line.StartsWith("genie eval") && line.Contains(mention));
    }

    [Fact]
    public void BadOut_IsOneClearLine_AndWritesNothing()
    {
        var file = Out("a-file");
        File.WriteAllText(file, "not a folder");
        AssertClearError(Eval(file), "is a file");
        Assert.Equal("not a folder", File.ReadAllText(file));

        var foreign = Out("notes");
        Directory.CreateDirectory(foreign);
        File.WriteAllText(Path.Combine(foreign, "notes.txt"), "mine");
        AssertClearError(Eval(foreign), "no earlier report");
        Assert.Equal(["notes.txt"], Directory.GetFileSystemEntries(foreign).Select(Path.GetFileName));

        AssertClearError(Eval(f.Root), "input");                                   // the folder holds the run and the data
        Assert.False(File.Exists(Path.Combine(f.Root, "report.json")));
    }

    [Fact]
    public void RunDefaultsToModelsSmall()
    {
        // Without --run the shipped 64x64 model is measured, so the fixture's 16x16 data is refused, naming both sizes.
        var r = Genie.Run("eval", "--data", f.Data, "--clips", "1");
        Assert.Equal(1, r.Exit);
        Assert.Contains("the model's 64x64", r.Stderr);
    }
}
