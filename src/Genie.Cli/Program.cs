using Genie.Cli;
using Genie.Cli.Commands;

// The `genie` program: routes the first words of the command line to a command. Each area registers
// its commands in its own file under Commands/.
var commands = new List<Command>();
BenchCommands.Register(commands);
WorldCommands.Register(commands);
DataCommands.Register(commands);
TrainCommands.Register(commands);
EvalCommands.Register(commands);
PlayCommands.Register(commands);

return Run(args);

int Run(string[] argv)
{
    if (argv.Length == 0 || argv[0] is "-h" or "--help" or "help")
    {
        PrintHelp();
        return argv.Length == 0 ? 1 : 0;
    }
    // Longest match on the command words.
    var match = commands
        .Where(c => c.Words.Split(' ') is var w && w.Length <= argv.Length && w.SequenceEqual(argv.Take(w.Length)))
        .OrderByDescending(c => c.Words.Split(' ').Length)
        .FirstOrDefault();
    if (match is null)
    {
        Console.Error.WriteLine($"genie: unknown command '{string.Join(' ', argv.TakeWhile(a => !a.StartsWith('-')))}'");
        PrintHelp();
        return 1;
    }
    var rest = argv.Skip(match.Words.Split(' ').Length).ToArray();
    if (rest.Contains("--help") || rest.Contains("-h"))
    {
        Console.WriteLine(match.Usage);
        return 0;
    }
    try
    {
        return match.Run(rest);
    }
    catch (Exception thrown)
    {
        // The one error path of every command: a line saying what went wrong, never a stack trace (set
        // GENIE_DEBUG=1 to see one). Exit 1 for bad input or environment (usage too, with the usage text); 130: interrupted.
        var e = Unwrap(thrown);
        if (Environment.GetEnvironmentVariable("GENIE_DEBUG") == "1") Console.Error.WriteLine(thrown);
        switch (e)
        {
            case UsageException:
                Console.Error.WriteLine($"genie {match.Words}: {e.Message}");
                Console.Error.WriteLine(match.Usage);
                return 1;
            case OperationCanceledException:
                Console.Error.WriteLine($"genie {match.Words}: interrupted");
                return 130;
            case FileNotFoundException or DirectoryNotFoundException or InvalidDataException or IOException or ArgumentException
                or UnauthorizedAccessException or NotSupportedException or Genie.Models.Training.TrainingDivergedException
                or System.Text.Json.JsonException or FormatException:
                Console.Error.WriteLine($"genie {match.Words}: error: {e.Message}");
                return 1;
            case OutOfMemoryException or InsufficientExecutionStackException:
                Console.Error.WriteLine($"genie {match.Words}: error: out of memory ({e.Message}); try a smaller batch, clip or model");
                return 1;
            default:
                Console.Error.WriteLine($"genie {match.Words}: internal error ({e.GetType().Name}): {e.Message}. " +
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

void PrintHelp()
{
    Console.WriteLine("genie — Genie world models in C#\n\nCommands:");
    foreach (var c in commands) Console.WriteLine($"  {c.Words,-22} {c.Summary}");
    Console.WriteLine("\nRun 'genie COMMAND --help' for a command's options.");
}
