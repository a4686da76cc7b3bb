using Genie.Data;
using Genie.Media;
using Genie.Models;

namespace Genie.Play.Tests;

/// <summary>The embedding API (<see cref="GenieWorld"/>) on the tiny, randomly initialised model.</summary>
public class GenieWorldTests
{
    // Level-like test picture: a gradient with a bright square, at any size.
    private static byte[] Picture(int width, int height)
    {
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = (y * width + x) * 3;
                bool square = x >= width / 4 && x < width / 2 && y >= height / 2;
                rgb[i] = (byte)(square ? 250 : 8 * x);
                rgb[i + 1] = (byte)(square ? 220 : 8 * y);
                rgb[i + 2] = (byte)(square ? 30 : 128);
            }
        return rgb;
    }

    // A model folder as `genie export` writes it: config.json, latest, checkpoints/step_N/model.safetensors,
    // actions.json and prompts/.
    private static string WriteFolder(string root, GenieModel model, bool labels = true, bool prompts = true)
    {
        var dir = Path.Combine(root, "model");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), model.Config.ToJson());
        Checkpoint.Write(dir, 10, d => Checkpoint.SaveModel(Path.Combine(d, "model.safetensors"), model, "genie", model.Config));
        if (labels) File.WriteAllText(Path.Combine(dir, "actions.json"), """{ "names": ["still", "right", "left", "jump"] }""");
        if (prompts)
        {
            Directory.CreateDirectory(Path.Combine(dir, "prompts"));
            Png.Save(new Image(16, 16, Picture(16, 16)), Path.Combine(dir, "prompts", "01.png"));
            Png.Save(new Image(16, 16, new byte[16 * 16 * 3]), Path.Combine(dir, "prompts", "00.png"));
        }
        return dir;
    }

    private static List<byte[]> Play(GenieWorld world, int[] actions) => actions.Select(world.Step).ToList();

    private static readonly int[] Walk = [1, 1, 2, 3, 0, 1, 2, 2];   // past T_max = 4: the window slides

    [Fact]
    public void Load_ReadsTheWeights_TheLabels_AndThePrompts()
    {
        using var dir = new TempDir();
        var model = PlayHost.TinyModel(seed: 3);
        var folder = WriteFolder(dir.Path, model);
        using var world = GenieWorld.Load(folder);
        Assert.Equal((16, 16, 4), (world.Width, world.Height, world.ActionCount));
        Assert.Equal(["0 still", "1 right", "2 left", "3 jump"], world.ActionNames);
        Assert.Equal("actions.json", world.ActionMap.Source);
        Assert.Equal(["00.png", "01.png"], world.PromptFiles.Select(Path.GetFileName));
        Assert.Equal(model.Config.Dynamics.SamplingSteps, world.Steps);
        Assert.False(world.Started);

        // The loaded weights play exactly as the model in memory.
        using var direct = new GenieWorld(model);
        world.Start(world.PromptFiles[1], seed: 4);
        direct.Start(Picture(16, 16), 16, 16, seed: 4);
        Assert.Equal(direct.Frame, world.Frame);
        Assert.Equal(Play(direct, Walk), Play(world, Walk));

        // Without actions.json or prompts/: digit labels, no prompt files.
        using var bare = new TempDir();
        using var unlabelled = GenieWorld.Load(WriteFolder(bare.Path, model, labels: false, prompts: false));
        Assert.Equal(["0", "1", "2", "3"], unlabelled.ActionNames);
        Assert.Empty(unlabelled.PromptFiles);
    }

    [Fact]
    public void Steps_AreExactlyTheSessionsFrames_AndStepBackAndResetReproduceThem()
    {
        var model = PlayHost.TinyModel();
        var prompt = Picture(16, 16);
        using var world = new GenieWorld(model);
        world.Start(prompt, 16, 16, seed: 11);
        var first = world.Frame;
        var frames = Play(world, Walk);
        Assert.Equal(Walk.Length + 1, world.FrameCount);
        Assert.Equal(Walk, world.Actions);
        Assert.Equal(frames[^1], world.Frame);

        // The same as the sampler underneath, for the same prompt and seed.
        using (var session = new GenieSession(model, prompt, 11))
        {
            Assert.Equal(first, session.CurrentFrame);
            Assert.Equal(frames, Walk.Select(session.Step).ToList());
        }

        // Step back: the frame before, one frame fewer; never past the prompt.
        Assert.Equal(frames[^2], world.StepBack());
        Assert.Equal(Walk.Length, world.FrameCount);
        Assert.Equal(frames[^2], world.Frame);

        // Reset: back to the prompt, and the same actions replay the same frames.
        world.Reset();
        Assert.Equal(1, world.FrameCount);
        Assert.Equal(first, world.Frame);
        Assert.Equal(first, world.StepBack());
        Assert.Equal(1, world.FrameCount);
        Assert.Equal(frames, Play(world, Walk));

        // A new world from the same prompt and seed plays the same; starting again replaces the rollout.
        using var again = world.Share();
        again.Start(prompt, 16, 16, seed: 11);
        Assert.Equal(frames, Play(again, Walk));
        again.Start(prompt, 16, 16, seed: 11);
        Assert.Equal(1, again.FrameCount);
        Assert.Equal(11ul, again.Seed);

        // Returned frames are copies: writing into one changes nothing in the world.
        var copy = world.Frame;
        Array.Fill(copy, (byte)0);
        Assert.Equal(frames[^1], world.Frame);
    }

    [Fact]
    public void Start_FromAFile_AndFromPixelsOfAnotherSize_FitsThemAsThePlayPageFitsUploads()
    {
        using var dir = new TempDir();
        var model = PlayHost.TinyModel();
        var big = Picture(48, 32);
        var file = Path.Combine(dir.Path, "big.png");
        Png.Save(new Image(48, 32, big), file);
        var fitted = PromptImage.Fit(new Image(48, 32, big), 16, 16, FitMode.Crop).Data;

        using var fromFile = new GenieWorld(model);
        using var fromPixels = new GenieWorld(model);
        using var fromFitted = new GenieWorld(model);
        fromFile.Start(file, seed: 2);
        fromPixels.Start(big, 48, 32, seed: 2);
        fromFitted.Start(fitted, 16, 16, seed: 2);
        Assert.Equal(fromFitted.Frame, fromFile.Frame);
        Assert.Equal(fromFitted.Frame, fromPixels.Frame);
        Assert.Equal(Play(fromFitted, [1, 2, 3]), Play(fromFile, [1, 2, 3]));

        // Letterbox and stretch are the play page's other fits.
        using var letterbox = new GenieWorld(model);
        letterbox.Start(big, 48, 32, seed: 2, fit: FitMode.Letterbox);
        using var expected = new GenieWorld(model);
        expected.Start(PromptImage.Fit(new Image(48, 32, big), 16, 16, FitMode.Letterbox).Data, 16, 16, seed: 2);
        Assert.Equal(expected.Frame, letterbox.Frame);
    }

    [Fact]
    public void Settings_StepsAndTemperature_ChangeTheSampler()
    {
        var model = PlayHost.TinyModel();
        using var greedy = new GenieWorld(model) { Steps = 2, Temperature = 0 };
        greedy.Start(Picture(16, 16), 16, 16, seed: 1);
        using var session = new GenieSession(model, Picture(16, 16), 1, steps: 2, temperature: 0);
        Assert.Equal(Walk.Select(session.Step).ToList(), Play(greedy, Walk));
        // Greedy sampling does not depend on the seed.
        using var otherSeed = new GenieWorld(model) { Steps = 2, Temperature = 0 };
        otherSeed.Start(Picture(16, 16), 16, 16, seed: 99);
        greedy.Reset();
        Assert.Equal(Play(greedy, Walk), Play(otherSeed, Walk));
    }

    [Fact]
    public void BadInputs_AreClearExceptions()
    {
        using var dir = new TempDir();
        var model = PlayHost.TinyModel();
        using var world = new GenieWorld(model);

        var e = Assert.Throws<InvalidOperationException>(() => world.Step(0));
        Assert.Contains("Start", e.Message);
        Assert.Throws<InvalidOperationException>(() => world.Frame);

        var size = Assert.Throws<ArgumentException>(() => world.Start(new byte[100], 16, 16));
        Assert.Contains("768 bytes, got 100", size.Message);
        Assert.Throws<ArgumentException>(() => world.Start(new byte[0], 0, 16));
        var missing = Assert.Throws<FileNotFoundException>(() => world.Start(Path.Combine(dir.Path, "no.png")));
        Assert.Contains("no.png", missing.Message);
        var junk = Path.Combine(dir.Path, "junk.png");
        File.WriteAllText(junk, "not a picture");
        var bad = Assert.Throws<InvalidDataException>(() => world.Start(junk));
        Assert.Contains("junk.png", bad.Message);
        Assert.False(world.Started);

        world.Start(Picture(16, 16), 16, 16);
        foreach (var action in new[] { -1, 4, 1000 })
        {
            var a = Assert.Throws<ArgumentOutOfRangeException>(() => world.Step(action));
            Assert.Contains($"action {action} does not exist", a.Message);
            Assert.Contains("0..3", a.Message);
        }
        Assert.Equal(1, world.FrameCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => world.Steps = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => world.Temperature = float.NaN);
        Assert.Throws<ArgumentOutOfRangeException>(() => world.Temperature = -1);
        Assert.Throws<ArgumentException>(() => new GenieWorld(model, ActionMap.ForLatent(3, null)));

        var folder = Assert.Throws<DirectoryNotFoundException>(() => GenieWorld.Load(Path.Combine(dir.Path, "nowhere")));
        Assert.Contains("nowhere", folder.Message);
        Directory.CreateDirectory(Path.Combine(dir.Path, "empty"));
        var empty = Assert.Throws<InvalidDataException>(() => GenieWorld.Load(Path.Combine(dir.Path, "empty")));
        Assert.Contains("no checkpoint", empty.Message);

        world.Dispose();
        Assert.Throws<ObjectDisposedException>(() => world.Step(0));
        world.Dispose();   // twice is fine
    }

    [Fact]
    public async Task Worlds_SharingAModel_PlayOnTwoThreadsAtOnce_AsTheyPlayAlone()
    {
        var model = PlayHost.TinyModel();
        using var a = new GenieWorld(model);
        using var b = a.Share();
        List<byte[]> Run(GenieWorld w, ulong seed)
        {
            w.Start(Picture(16, 16), 16, 16, seed);
            var frames = new List<byte[]>();
            for (int i = 0; i < 3; i++) { w.Reset(); frames = Play(w, Walk); }
            return frames;
        }
        var alone = (Run(a, 1), Run(b, 2));
        var ta = Task.Run(() => Run(a, 1));
        var tb = Task.Run(() => Run(b, 2));
        Assert.Equal(alone.Item1, await ta);
        Assert.Equal(alone.Item2, await tb);
    }
}
