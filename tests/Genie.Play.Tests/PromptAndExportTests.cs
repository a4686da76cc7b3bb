using Genie.Core;
using Genie.Data;
using Genie.Engine.IO;
using Genie.Media;
using Genie.Models;

namespace Genie.Play.Tests;

/// <summary>Prompt fitting, action labels, the default model location, and the slim export of a run.</summary>
public class PromptAndExportTests
{
    [Fact]
    public void Fit_Crop_TakesTheCentre_Letterbox_KeepsEverything()
    {
        // 30 × 10: a red left third, green middle, blue right third.
        var img = new Image(30, 10);
        img.FillRect(0, 0, 10, 10, 255, 0, 0);
        img.FillRect(10, 0, 10, 10, 0, 255, 0);
        img.FillRect(20, 0, 10, 10, 0, 0, 255);
        var crop = PromptImage.Fit(img, 8, 8, FitMode.Crop);
        Assert.All(Enumerable.Range(0, 64), i => Assert.Equal((0, 255, 0), Px(crop, i)));
        var box = PromptImage.Fit(img, 9, 9, FitMode.Letterbox);
        Assert.Equal((0, 0, 0), Px(box, 0));                    // a bar at the top
        Assert.Equal((255, 0, 0), Px(box, 4 * 9));              // left edge, middle row
        Assert.Equal((0, 0, 255), Px(box, 4 * 9 + 8));
        var stretch = PromptImage.Fit(img, 3, 3, FitMode.Stretch);
        Assert.Equal((255, 0, 0), Px(stretch, 0));
        Assert.Equal((0, 0, 255), Px(stretch, 2));
        var up = PromptImage.Fit(new Image(2, 2), 64, 64, FitMode.Crop);
        Assert.Equal((64, 64), (up.Width, up.Height));
    }

    private static (int, int, int) Px(Image img, int i) => (img.Data[3 * i], img.Data[3 * i + 1], img.Data[3 * i + 2]);

    [Fact]
    public void ActionLabels_FromActionsJson_NameButtonsAndKeys()
    {
        using var dir = new TempDir();
        var map = ActionMap.ForLatent(4, dir.Path);
        Assert.Equal("unlabelled", map.Source);
        Assert.Equal(2, map.Keys["2"]);
        File.WriteAllText(Path.Combine(dir.Path, "actions.json"), """
            { "names": ["still", "right", "left", "jump"], "keys": { "ArrowRight": 1, "ArrowLeft": 2, "w": 3 } }
            """);
        map = ActionMap.ForLatent(4, dir.Path);
        Assert.Equal("1 right", map.Names[1]);
        Assert.Equal(2, map.Keys["ArrowLeft"]);
        Assert.Equal(3, map.Keys["w"]);
        Assert.False(map.Keys.ContainsKey("ArrowDown"), "the default arrow guesses must give way to the file's keys");
        Assert.Equal(3, map.Keys["3"]);                                                    // digits stay
        File.WriteAllText(Path.Combine(dir.Path, "actions.json"), """{ "names": ["a", "b"] }""");
        Assert.Contains("names 2 actions", Assert.Throws<InvalidDataException>(() => ActionMap.ForLatent(4, dir.Path)).Message);
        File.WriteAllText(Path.Combine(dir.Path, "actions.json"), """{ "keys": { "x": 9 } }""");
        Assert.Contains("outside", Assert.Throws<InvalidDataException>(() => ActionMap.ForLatent(4, dir.Path)).Message);
        Assert.Equal(7, ActionMap.ForWorld().Names.Count);
    }

    [Fact]
    public void DefaultModel_IsLookedForUpToTheRepositoryRoot_AndAMissingOneIsExplained()
    {
        var found = ModelLocator.Resolve(null, out var searched);
        if (found is null)
        {
            Assert.NotEmpty(searched);
            Assert.All(searched, p => Assert.EndsWith(Path.Combine("models", "small"), p));
            var message = ModelLocator.MissingMessage(searched);
            Assert.Contains("--run", message);
            Assert.Contains("--world-only", message);
        }
        else Assert.True(File.Exists(Path.Combine(found, "latest")));
        Assert.Equal("some/run", ModelLocator.Resolve("some/run", out _));
    }

    [Fact]
    public void Export_WritesASlimBf16Copy_ThatLoadsAndPlaysTheSame()
    {
        using var dir = new TempDir();
        var run = Path.Combine(dir.Path, "run");
        var model = PlayHost.TinyModel(seed: 5);
        // A training run's layout: config.json, checkpoints/step_N/{model,optimizer}.safetensors, latest.
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "config.json"), model.Config.ToJson());
        Checkpoint.Write(run, 20, d =>
        {
            Checkpoint.SaveModel(Path.Combine(d, "model.safetensors"), model, "genie", model.Config);
            File.WriteAllBytes(Path.Combine(d, "optimizer.safetensors"), new byte[100_000]);
        });
        File.WriteAllText(Path.Combine(run, "actions.json"), """{ "names": ["a", "b", "c", "d"] }""");
        var data = Path.Combine(dir.Path, "data");
        const string made = "genie data make --world platformer --agent random --difficulty easy --ticks-per-frame 3 --episodes 800 --seed 2 --out /tmp/x --overwrite";
        var details = new System.Text.Json.Nodes.JsonObject { ["command"] = made };
        using (var w = new DatasetWriter(data, new DatasetDescription { Source = "test", Height = 16, Width = 16, Fps = 10, Details = details }, overwrite: false))
        {
            var frames = new byte[5 * 16 * 16 * 3];
            for (int i = 0; i < frames.Length; i++) frames[i] = (byte)(i * 7);
            w.WriteEpisode(0, frames, ReadOnlySpan<int>.Empty);
            w.Commit();
        }

        var outDir = Path.Combine(dir.Path, "slim");
        var result = ModelExport.Write(run, outDir, SafeTensorsDType.BF16, prompts: 3, dataDir: data, overwrite: false, command: "test");
        Assert.Equal(model.ParameterCount(), result.Parameters);
        Assert.Equal(3, result.Prompts);
        Assert.False(Directory.EnumerateFiles(outDir, "optimizer*", SearchOption.AllDirectories).Any());
        Assert.True(File.Exists(Path.Combine(outDir, "actions.json")));
        Assert.Equal(3, Directory.GetFiles(Path.Combine(outDir, "prompts"), "*.png").Length);
        // export.json's data_make makes data of the same kind with another seed: the options round-trip.
        var dataMake = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "export.json")))!["data_make"]!.GetValue<string>();
        Assert.Equal("--world platformer --agent random --difficulty easy --ticks-per-frame 3", dataMake);
        Assert.Equal(made.Replace(" --overwrite", ""), $"genie data make {dataMake} --episodes 800 --seed 2 --out /tmp/x");
        Assert.Null(ModelExport.DataMakeOptionsOf("ffmpeg -i x"));
        var original = new FileInfo(Path.Combine(Checkpoint.RequireLatest(run), "model.safetensors")).Length;
        var slim = new FileInfo(Path.Combine(Checkpoint.RequireLatest(outDir), "model.safetensors")).Length;
        Assert.True(slim < original * 0.55, $"BF16 file {slim} bytes vs F32 {original}");

        // The copy loads; its weights are the originals rounded to BF16.
        var loaded = GenieModel.Load(outDir);
        var a = model.NamedParameters().ToDictionary(p => p.Name, p => p.Param.ToArray());
        foreach (var (name, p) in loaded.NamedParameters())
        {
            var x = p.ToArray();
            for (int i = 0; i < x.Length; i++)
                Assert.True(Math.Abs(x[i] - a[name][i]) <= Math.Abs(a[name][i]) / 128 + 1e-30, $"{name}[{i}]: {x[i]} vs {a[name][i]}");
        }
        // Prompts from the copy are what the play page offers.
        Assert.Equal(3, SampleFrames.Open(null, outDir, 16, 16, Genie.Worlds.Platformer.Difficulty.Easy).Count);
        Assert.Throws<IOException>(() => ModelExport.Write(run, outDir, SafeTensorsDType.BF16, 0, null, overwrite: false, command: "test"));

        // --overwrite replaces an export (keeping its hand-written README.md, and clearing what an export killed
        // half-way left beside it) ...
        File.WriteAllText(Path.Combine(outDir, "README.md"), "model card");
        var stale = outDir + ".2147483000.tmp";
        Directory.CreateDirectory(stale);
        ModelExport.Write(run, outDir, SafeTensorsDType.BF16, 0, null, overwrite: true, command: "test");
        Assert.False(Directory.Exists(stale));
        Assert.Equal("model card", File.ReadAllText(Path.Combine(outDir, "README.md")));
        Assert.False(Directory.Exists(Path.Combine(outDir, "prompts")));
        // ... but never the folder that holds the source run, nor one that is not an export; nothing is touched.
        // Play settings may change in the copy's config (embedded and config.json); settings that describe the weights may not.
        ModelExport.Write(run, outDir, SafeTensorsDType.BF16, 0, null, overwrite: true, command: "test", playOverrides: ["dynamics.choice_temperature=1.5", "dynamics.sampling_steps=12"]);
        var replayed = GenieModel.Load(outDir);
        Assert.Equal(1.5f, replayed.Config.Dynamics.ChoiceTemperature);
        Assert.Equal(1.5f, replayed.Dynamics.ChoiceTemperature);
        Assert.Equal(12, GenieConfig.Load(Path.Combine(outDir, "config.json")).Dynamics.SamplingSteps);
        var refused = Assert.Throws<ArgumentException>(() => ModelExport.Write(run, outDir, SafeTensorsDType.BF16, 0, null, overwrite: true, command: "test", playOverrides: ["dynamics.depth=2"]));
        Assert.Contains("cannot change after training", refused.Message);
        Assert.Equal(1.5f, GenieModel.Load(outDir).Config.Dynamics.ChoiceTemperature);   // the refused export left the folder as it was
        var e = Assert.Throws<IOException>(() => ModelExport.Write(run, dir.Path, SafeTensorsDType.BF16, 0, null, overwrite: true, command: "test"));
        Assert.Contains("input", e.Message);
        Assert.True(File.Exists(Path.Combine(Checkpoint.RequireLatest(run), "optimizer.safetensors")));
        e = Assert.Throws<IOException>(() => ModelExport.Write(run, data, SafeTensorsDType.BF16, 0, null, overwrite: true, command: "test"));
        Assert.Contains("not a model export", e.Message);
        Assert.True(File.Exists(Path.Combine(data, "manifest.json")));
    }

    [Fact]
    public void SmallConfig_InBf16_FitsTheRepositoryBudget()
    {
        // The shipped models/small must stay under 25 MB: count its parameters at 2 bytes each.
        var small = new GenieModel(GenieConfig.Load("small"), new Rng(0));
        long bytes = small.ParameterCount() * 2;
        Assert.True(bytes < 25_000_000, $"small has {small.ParameterCount()} parameters: {bytes / 1e6:F1} MB in BF16");
    }
}

/// <summary>A temporary folder, deleted on dispose.</summary>
public class VideoExportTests
{
    [Fact]
    public void GifFile_IsTheSameGif_WrittenToATemporaryFileThatGoesAwayWhenClosed()
    {
        var frames = Enumerable.Range(0, 5).Select(i => Enumerable.Range(0, 8 * 8 * 3).Select(j => (byte)(i * 40 + j)).ToArray()).ToList();
        var inMemory = VideoExport.Gif(frames, 8, 8, scale: 3, fps: 10);
        string path;
        using (var file = VideoExport.GifFile(frames, 8, 8, scale: 3, fps: 10))
        {
            path = file.Name;
            Assert.True(File.Exists(path));
            using var ms = new MemoryStream();
            file.CopyTo(ms);
            Assert.Equal(inMemory, ms.ToArray());
        }
        Assert.False(File.Exists(path));
    }
}

public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "genie-play-test-" + Guid.NewGuid().ToString("N"));
    public TempDir() => Directory.CreateDirectory(Path);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

public class ActionLabelTests
{
    [Fact]
    public void LabelsFromMotion_NamesEachLatentByItsMotion_AndPutsEachArrowOnTheLatentThatMovesFurthest()
    {
        // Held for 5 frames: latent 0 still, 1 right 3 px/frame, 2 right 1 px/frame, 3 up 6 px in the first frame only
        // (1.2 px/frame on average), 4 left and down.
        var control = new Genie.Models.Evaluation.Controllability(
        [
            new(0, 0, 0, 0, 0, 1, 1), new(1, 3, 0, 3, 0, 0, 1), new(2, 1, 0, 1, 0, 0, 1),
            new(3, 0, 6, 0, 0, 0.75, 1), new(4, -2, -1, -2, -1, 0, 1),
        ], Prompts: 2, Steps: 5);
        var json = ActionMap.LabelsFromMotion(control);
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "actions.json"), json);
        var map = ActionMap.ForLatent(5, dir.Path);
        Assert.Equal(["0 still", "1 right", "2 right", "3 up", "4 down-left"], map.Names);
        Assert.Equal(1, map.Keys["ArrowRight"]);
        Assert.Equal(4, map.Keys["ArrowLeft"]);
        Assert.Equal(3, map.Keys["ArrowUp"]);
        Assert.Equal(3, map.Keys[" "]);
        Assert.Equal(4, map.Keys["ArrowDown"]);
        // Up goes to the latent that rises on the spot, not to the one that climbs while it runs right further than it
        // rises (the shipped model's latents 1 and 4); right goes to latent 3, which runs with little climbing, not to
        // latent 2, which moves further right but climbs almost as far.
        var climbing = new Genie.Models.Evaluation.Controllability(
        [
            new(0, 0, 0, 0, 0, 1, 1), new(1, 0, 1.5, 0, 1.5, 0.6, 1), new(2, 3, 3, 3.4, 2.8, 0.3, 1), new(3, 2, 0.5, 2, 0.5, 0.3, 1),
        ], Prompts: 2, Steps: 5);
        File.WriteAllText(Path.Combine(dir.Path, "actions.json"), ActionMap.LabelsFromMotion(climbing));
        var climb = ActionMap.ForLatent(4, dir.Path);
        Assert.Equal(1, climb.Keys["ArrowUp"]);
        Assert.Equal(1, climb.Keys[" "]);
        Assert.Equal(3, climb.Keys["ArrowRight"]);              // 2 − 0.5 = 1.5 against latent 2's 3.3 − 2.8 = 0.5
        // A world that never moves gets no arrow keys, only digits.
        var frozen = new Genie.Models.Evaluation.Controllability([new(0, 0, 0, 0, 0, 1, 1), new(1, 0.2, 0, 0, 0, 1, 1)], 2, 5);
        File.WriteAllText(Path.Combine(dir.Path, "actions.json"), ActionMap.LabelsFromMotion(frozen));
        Assert.DoesNotContain("ArrowRight", ActionMap.ForLatent(2, dir.Path).Keys.Keys);
    }
}
