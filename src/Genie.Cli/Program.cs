using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using Genie.Cli;
using Genie.Cli.Commands;

// The `genie` program. Every command and its options are declared once with System.CommandLine (each area in its
// own file under Commands/), which gives --help, the errors for unknown or malformed options, and shell completion
// ([suggest] directive). Whatever goes wrong ends below in one error path.
var root = new RootCommand("genie — Genie world models in C#");
BenchCommands.Register(root);
WorldCommands.Register(root);
DataCommands.Register(root);
TrainCommands.Register(root);
EvalCommands.Register(root);
PlayCommands.Register(root);
AgentCommands.Register(root);

return Run(args);

int Run(string[] argv)
{
    if (argv.Length == 0 || argv is ["-h" or "--help" or "help"])
    {
        PrintHelp();
        return argv.Length == 0 ? 1 : 0;
    }
    // No response files: an argument starting with @ is a file name, as before.
    var parse = root.Parse(argv, new ParserConfiguration { ResponseFileTokenReplacer = null });
    string words = CommandText.Words(parse);
    string name = words == "" ? "genie" : "genie " + words;
    if (parse.Action is ParseErrorAction)
    {
        // One line, as every other error: the first thing wrong (a mistyped word before a missing one), and where the
        // options are listed.
        var command = parse.CommandResult.Command;
        var unmatched = parse.UnmatchedTokens.FirstOrDefault();
        // A command with its own options and subcommands (eval, with eval compare) reads an unknown --word as an option.
        bool commands = command.Subcommands.Count > 0 && (command.Action is null || unmatched?.StartsWith('-') == false && command.Arguments.Count == 0);
        string message = unmatched is not null && commands ? $"unknown command '{unmatched}'"
            : unmatched is not null ? (unmatched.StartsWith('-') ? $"unknown option {unmatched}" : $"unexpected argument '{unmatched}'")
            : command.Subcommands.Count > 0 && command.Action is null ? $"give a command: {string.Join(", ", command.Subcommands.Select(c => c.Name))}"
            : parse.Errors[0].Message.TrimEnd('.');
        Console.Error.WriteLine($"{name}: {message}; run '{name} --help' for the {(commands || command.Action is null ? "commands" : "options")}");
        return 1;
    }
    // Commands stop themselves on Ctrl+C (cleaning up what they write); System.CommandLine must not kill them.
    var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
    if (parse.Action is HelpAction help) help.MaxWidth = Math.Clamp(Console.IsOutputRedirected ? 120 : Console.WindowWidth, 60, 120);
    try
    {
        return parse.Invoke(invocation);
    }
    catch (Exception thrown)
    {
        // The one error path of every command: a line saying what went wrong, never a stack trace (set
        // GENIE_DEBUG=1 to see one). Exit 1 for bad input or environment; 130: interrupted.
        var e = Unwrap(thrown);
        if (Environment.GetEnvironmentVariable("GENIE_DEBUG") == "1") Console.Error.WriteLine(thrown);
        switch (e)
        {
            case UsageException:
                Console.Error.WriteLine($"{name}: {e.Message}; run '{name} --help' for the options");
                return 1;
            case OperationCanceledException:
                Console.Error.WriteLine($"{name}: interrupted");
                return 130;
            case FileNotFoundException or DirectoryNotFoundException or InvalidDataException or IOException or ArgumentException
                or UnauthorizedAccessException or NotSupportedException or Genie.Models.Training.TrainingDivergedException
                or System.Text.Json.JsonException or FormatException:
                Console.Error.WriteLine($"{name}: error: {e.Message}");
                return 1;
            case OutOfMemoryException or InsufficientExecutionStackException:
                Console.Error.WriteLine($"{name}: error: out of memory ({e.Message}); try a smaller batch, clip or model");
                return 1;
            default:
                Console.Error.WriteLine($"{name}: internal error ({e.GetType().Name}): {e.Message}. " +
                                        "This is a bug; please report it with the command line (GENIE_DEBUG=1 shows where it happened)");
                return 1;
        }
    }
}

// Parallel work wraps what went wrong; report the first real cause.
static Exception Unwrap(Exception e)
{
    while (true)
    {
        if (e is AggregateException { InnerExceptions.Count: > 0 } a) e = a.Flatten().InnerExceptions[0];
        else if (e is System.Reflection.TargetInvocationException { InnerException: { } inner }) e = inner;
        else if (e is TypeInitializationException { InnerException: { } init }) e = init;
        else return e;
    }
}

// `genie --help`: every command by its full words (bench kernels, data make, ...), with its one-line summary.
void PrintHelp()
{
    Console.WriteLine($"{root.Description}\n\nCommands:");
    void List(Command c, string prefix)
    {
        foreach (var sub in c.Subcommands)
        {
            string w = prefix == "" ? sub.Name : prefix + " " + sub.Name;
            if (sub.Action is not null) Console.WriteLine($"  {w,-22} {Summary(sub)}");
            List(sub, w);
        }
    }
    List(root, "");
    Console.WriteLine("\nRun 'genie COMMAND --help' for a command's options; README.md, \"The command line\", sets up tab completion.");
}

// A command's description starts with its one-line summary.
static string Summary(Command c) => (c.Description ?? "").Split('\n')[0];
