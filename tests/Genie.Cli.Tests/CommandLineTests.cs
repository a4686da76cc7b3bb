namespace Genie.Cli.Tests;

/// <summary>
/// The command line itself (issue 14, System.CommandLine): every command has --help with its defaults, a mistyped
/// command line is one line on stderr with exit code 1, --set repeats, and [suggest] completes.
/// </summary>
public class CommandLineTests
{
    private static string[] Commands()
    {
        var r = Genie.Run("--help");
        Assert.Equal(0, r.Exit);
        // "  data make              generate a dataset ...": the words before the two-or-more spaces.
        return r.Stdout.Split('\n').Where(l => l.StartsWith("  ")).Select(l => l.Trim().Split("  ")[0]).ToArray();
    }

    [Fact]
    public void Help_ListsEveryCommand_AndEachHasItsOwnHelpWithDefaults()
    {
        var commands = Commands();
        Assert.Equal(21, commands.Length);
        Assert.Contains("eval compare", commands);
        Assert.Contains("agent bc", commands);
        Assert.Contains("data ingest", commands);
        Assert.Contains("train merge-codes", commands);
        foreach (var c in commands)
        {
            var r = Genie.Run([.. c.Split(' '), "--help"]);
            Assert.True(r.Exit == 0, $"genie {c} --help: exit {r.Exit}, {r.Stderr}");
            Assert.Contains($"genie {c} ", r.Stdout);
            Assert.Contains("[options]", r.Stdout);
            Assert.Contains("Options:", r.Stdout);
            Assert.Equal("", r.Stderr);
        }
    }

    [Fact]
    public void Help_ShowsTheDefaultThatIsParsed()
    {
        // The drift issue 14 names: `data ingest`'s --size default lives in the option, and help prints it from there.
        var r = Genie.Run("data", "ingest", "--help");
        var text = System.Text.RegularExpressions.Regex.Replace(r.Stdout, @"\s+", " ");   // help wraps long lines
        Assert.Contains("--size <WxH> frame size in pixels [default: 64x64]", text);
        Assert.Contains("[default: 64x64]", Genie.Run("data", "make", "--help").Stdout);
        Assert.Matches(@"--fit <crop\|letterbox\|stretch> [^\[]*\[default: crop\]", text);
        Assert.Contains("VIDEO_OR_DIR", text);
    }

    public static TheoryData<string[], string> Mistyped => new()
    {
        { ["no-such-command"], "genie: unknown command 'no-such-command'" },
        { ["data"], "genie data: give a command: make, ingest, info, show" },
        { ["data", "mkae"], "genie data: unknown command 'mkae'" },
        { ["data", "make", "--episodes", "2", "--no-such-option", "1", "--out", "/tmp/never"], "genie data make: unknown option --no-such-option" },
        { ["data", "make", "--episodes", "abc", "--out", "/tmp/never"], "genie data make: --episodes expects an integer, got 'abc'" },
        { ["data", "make", "--episodes", "0", "--out", "/tmp/never"], "genie data make: --episodes must be at least 1, got 0" },
        { ["data", "make", "--out", "/tmp/never"], "genie data make: Option '--episodes' is required" },
        { ["data", "make", "--episodes", "2", "--val-fraction", "0,5", "--out", "/tmp/never"], "genie data make: --val-fraction expects a number, got '0,5'" },
        { ["data", "info"], "genie data info: Required argument 'DIR' missing" },
        { ["data", "info", "a", "b"], "genie data info: unexpected argument 'b'" },
        { ["data", "make", "--episodes"], "genie data make: Required argument missing for option: '--episodes'" },
        { ["world", "map", "--seed", "1", "--seed", "2"], "genie world map: Option '--seed' expects a single argument but 2 were provided" },
        { ["rollout", "--grid", "--prompt", "x.png", "--actions", "1", "--out", "/tmp/never.png"], "genie rollout: --actions does not apply to --grid" },
        { ["eval", "--threads", "0"], "genie eval: --threads must be at least 1, got 0" },
        { ["eval", "--choice-temperature", "-1"], "genie eval: --choice-temperature must be in [0, 100], got -1" },
        { ["eval", "--bogus"], "genie eval: unknown option --bogus" },
        { ["eval", "bogus"], "genie eval: unknown command 'bogus'" },
        { ["eval", "compare", "--bogus", "--out", "/tmp/never.png"], "genie eval compare: unknown option --bogus" },
        { ["train", "dynamics", "--stop-at", "0"], "genie train dynamics: --stop-at must be at least 1, got 0" },
    };

    [Theory]
    [MemberData(nameof(Mistyped))]
    public void MistypedCommandLine_IsOneLineOnStderr_WithExitCode1(string[] args, string start)
    {
        var r = Genie.Run(args);
        Assert.True(r.Exit == 1, $"exit {r.Exit}, stderr: {r.Stderr}");
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "more than one line: " + r.Stderr);
        Assert.StartsWith(start, lines[0]);
        Assert.Matches(@"; run 'genie[a-z -]* --help' for the (commands|options)$", lines[0].TrimEnd());
        Assert.Equal("", r.Stdout);
        Assert.False(Directory.Exists("/tmp/never"));
    }

    [Fact]
    public void Set_IsRepeatable_AndEveryOccurrenceIsRead()
    {
        var r = Genie.Run("bench", "train", "--config", "tiny", "--set", "tokenizer.dim=32", "--set", "tokenizer.no_such_key=1");
        Assert.Equal(1, r.Exit);
        Assert.Contains("tokenizer.no_such_key", r.Stderr);
    }

    [Fact]
    public void Suggest_CompletesCommandsOptionsAndChoices()
    {
        Assert.Equal(["make"], Suggest("genie data m"));
        Assert.Contains("--episodes", Suggest("genie data make --ep"));
        Assert.Equal(["expert", "explorer"], Suggest("genie data make --agent e"));
    }

    private static string[] Suggest(string line)
    {
        var r = Genie.Run($"[suggest:{line.Length}]", line);
        Assert.True(r.Exit == 0, r.Stderr);
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
