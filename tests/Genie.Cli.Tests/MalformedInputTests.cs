using System.Diagnostics;
using Genie.Data;

namespace Genie.Cli.Tests;

/// <summary>A small dataset and a scratch folder shared by the tests of one class.</summary>
public sealed class CliFixture : IDisposable
{
    /// <summary>Scratch folder.</summary>
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "genie-cli-test-" + Guid.NewGuid().ToString("N"));
    /// <summary>A 16x16 platformer dataset of 3 episodes.</summary>
    public string Data => Path.Combine(Root, "data");

    public CliFixture()
    {
        Directory.CreateDirectory(Root);
        var r = Genie.Run("data", "make", "--episodes", "3", "--size", "16x16", "--max-steps", "40", "--val-fraction", "0.34", "--out", Data);
        if (r.Exit != 0) throw new InvalidOperationException("could not make the test dataset: " + r.Stderr);
    }

    public void Dispose() { try { Directory.Delete(Root, true); } catch (IOException) { } }
}

/// <summary>Runs the built genie program.</summary>
public static class Genie
{
    private static readonly string Dll = FindDll();

    private static string FindDll()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "Genie.Cli", "bin", "Release", "net10.0", "genie.dll");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("genie.dll not found: build src/Genie.Cli in Release first");
    }

    /// <summary>Exit code, standard output and standard error of one run (killed after 120 s).</summary>
    public static (int Exit, string Stdout, string Stderr) Run(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["GENIE_DEBUG"] = "0";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException($"genie {string.Join(' ', args)} did not finish in 120 s"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>
/// Every command, given bad input, answers with a line naming what is wrong and exit code 1: never a stack
/// trace, never exit code 134, and nothing left half-written (issue 15).
/// </summary>
public class MalformedInputTests(CliFixture f) : IClassFixture<CliFixture>
{
    private static void AssertClearError((int Exit, string Stdout, string Stderr) r, params string[] mentions)
    {
        Assert.True(r.Exit == 1, $"exit {r.Exit}, stderr: {r.Stderr}");
        Assert.DoesNotContain("   at ", r.Stderr);                  // no stack trace
        Assert.DoesNotContain("Unhandled exception", r.Stderr);
        Assert.DoesNotContain("internal error", r.Stderr);
        Assert.Contains(r.Stderr.Split('\n'), line => line.StartsWith("genie"));   // the error line names the command
        foreach (var m in mentions) Assert.Contains(m, r.Stderr);
    }

    private string Out(string name) => Path.Combine(f.Root, name + "-" + Guid.NewGuid().ToString("N")[..8]);

    public static TheoryData<string, string> BadSettings => new()
    {
        { "tokenizer.dim=0", "tokenizer.dim" },
        { "tokenizer.heads=0", "tokenizer.heads" },
        { "tokenizer.latent_dim=0", "tokenizer.latent_dim" },
        { "train_tokenizer.grad_clip=-1", "train_tokenizer.grad_clip" },
        { "train_tokenizer.checkpoint_every=0", "train_tokenizer.checkpoint_every" },
        { "train_tokenizer.steps=-5", "train_tokenizer.steps" },
        { "train_tokenizer.lr=1e30", "train_tokenizer.lr" },
        { "train_tokenizer.lr=nan", "--set train_tokenizer.lr=nan" },
        { "tokenizer.dim=abc", "--set tokenizer.dim=abc" },
        { "tokenizer.qk_norm=maybe", "--set tokenizer.qk_norm=maybe" },
        { "tokenizer.no_such_key=1", "tokenizer.no_such_key" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void Train_BadSetting_IsRefusedBeforeAnythingIsWritten(string setting, string named)
    {
        var run = Out("run");
        AssertClearError(Genie.Run("train", "tokenizer", "--data", f.Data, "--config", "tiny", "--out", run, "--set", setting), named);
        Assert.False(Directory.Exists(run), "a refused run left its folder behind");
    }

    public static TheoryData<string[]> BadArguments => new()
    {
        new[] { "no-such-command" },
        new[] { "data", "info", "/no/such/dataset" },
        new[] { "data", "show", "/no/such/dataset", "--out", "/tmp/x.gif" },
        new[] { "data", "make", "--episodes", "abc", "--out", "/tmp/never" },
        new[] { "data", "make", "--episodes", "2", "--size", "0x0", "--out", "/tmp/never" },
        new[] { "data", "make", "--episodes", "2", "--no-such-option", "1", "--out", "/tmp/never" },
        new[] { "data", "make", "--episodes", "2", "--hold", "9-3", "--out", "/tmp/never" },
        new[] { "data", "make", "--episodes", "2", "--agent", "expert", "--hold", "10-30", "--out", "/tmp/never" },
        new[] { "data", "ingest", "--out", "/tmp/never", "/no/such/video.mp4" },
        new[] { "train", "tokenizer", "--data", "/no/such/dataset", "--config", "tiny", "--out", "/tmp/never" },
        new[] { "train", "tokenizer", "--data", "DATA", "--config", "no-such-config", "--out", "/tmp/never" },
        new[] { "train", "dynamics", "--data", "DATA", "--tokenizer", "/no/such/run", "--config", "tiny", "--out", "/tmp/never" },
        new[] { "train", "tokenizer", "--resume", "/no/such/run" },
        new[] { "train", "dynamics", "--data", "DATA", "--tokenizer", "/no/such/run", "--init-parts", "dynamics", "--out", "/tmp/never" },
        new[] { "train", "dynamics", "--data", "DATA", "--tokenizer", "/no/such/run", "--init", "/no/such/run", "--init-parts", "tokenizer", "--out", "/tmp/never" },
        new[] { "train", "dynamics", "--data", "DATA", "--tokenizer", "/no/such/run", "--init", "/no/such/run", "--out", "/tmp/never" },
        new[] { "train", "dynamics", "--data", "DATA", "--tokenizer", "/no/such/run", "--init-grow", "--set", "dynamics.depth=8", "--out", "/tmp/never" },
        new[] { "train", "merge-codes", "--tokenizer", "/no/such/run", "--out", "/tmp/never" },
        new[] { "train", "merge-codes", "--tokenizer", "/no/such/run", "--out", "/tmp/never", "--threshold", "2" },
        new[] { "eval", "--run", "/no/such/run", "--data", "DATA" },
        new[] { "eval", "--data", "/no/such/dataset" },
        new[] { "eval", "--data", "DATA", "--clips", "-3" },
        new[] { "rollout", "--run", "/no/such/run", "--actions", "0*3", "--out", "/tmp/never.gif" },
        new[] { "rollout", "--prompt", "/no/such/image.png", "--actions", "0*3", "--out", "/tmp/never.gif" },
        new[] { "rollout", "--actions", "99*3", "--out", "/tmp/never.gif" },
        new[] { "rollout", "--actions", "zz", "--out", "/tmp/never.gif" },
        new[] { "export", "--run", "/no/such/run", "--out", "/tmp/never" },
        new[] { "play", "--run", "/no/such/run", "--port", "0" },
        new[] { "play", "--port", "abc" },
        new[] { "world", "render", "--agent", "no-such-agent", "--out", "/tmp/never.gif" },
        new[] { "world", "eval", "--levels", "-1" },
        new[] { "world", "map", "--difficulty", "impossible" },
        new[] { "bench", "train", "--config", "no-such-config" },
    };

    [Fact]
    public void Eval_I3dNotAFileOrNotAnI3d_SaysSo_BeforeLoadingTheRun()
    {
        // The run does not exist: the --i3d file is checked first.
        AssertClearError(Genie.Run("eval", "--run", "/no/such/run", "--i3d", "/no/such/i3d.safetensors"), "--i3d", "/no/such/i3d.safetensors");
        var notI3d = Path.Combine(f.Root, "not-i3d.safetensors");
        var header = System.Text.Encoding.UTF8.GetBytes("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        File.WriteAllBytes(notI3d, [.. BitConverter.GetBytes((ulong)header.Length), .. header, 0, 0, 0, 0]);
        AssertClearError(Genie.Run("eval", "--run", "/no/such/run", "--i3d", notI3d), "not an I3D", "Conv3d_1a_7x7.conv3d.weight");
    }

    [Theory]
    [MemberData(nameof(BadArguments))]
    public void EveryCommand_GivenBadArguments_SaysWhatIsWrong_WithExitCode1(string[] args)
    {
        var r = Genie.Run(args.Select(a => a == "DATA" ? f.Data : a).ToArray());
        AssertClearError(r);
        Assert.False(Directory.Exists("/tmp/never"));
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(-5)]
    public void DataInfo_ActionsOutOfRange_IsAClearError(int action)
    {
        // A copy of the dataset with one action file edited.
        var copy = Out("bad-actions");
        foreach (var file in Directory.GetFiles(f.Data, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(copy, Path.GetRelativePath(f.Data, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        var actionsFile = Directory.GetFiles(Path.Combine(copy, "episodes"), "*.actions.npy").Order().First();
        var (actions, shape) = NpyFile.ReadInt32(actionsFile);
        actions[1] = action;
        NpyFile.Write(actionsFile, actions, shape);
        AssertClearError(Genie.Run("data", "info", copy), $"action {action}");
    }
}
