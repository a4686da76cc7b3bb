using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Genie.Cli;

/// <summary>An error in what the user typed: one line naming the command and the mistake, without a stack trace, exit code 1.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Makers of the options `genie` commands take (System.CommandLine). Each option is declared once, here or in its
/// command, with its type, its default (shown by <c>--help</c>) and its help text; ranges a value must lie in are
/// checked while parsing, so a bad value is reported like a malformed one.
/// </summary>
public static class Opt
{
    /// <summary>An integer option with a default; values below <paramref name="min"/> are refused.</summary>
    public static Option<int> Int(string name, int defaultValue, string help, int min = int.MinValue)
    {
        var o = new Option<int>(name) { Description = help, DefaultValueFactory = _ => defaultValue, CustomParser = ParseInt, HelpName = "N" };
        if (min != int.MinValue) AtLeast(o, min);
        return o;
    }

    /// <summary>An integer option without a default (null when not given: the command decides), or a required one.</summary>
    public static Option<int?> OptionalInt(string name, string help, int min = int.MinValue, bool required = false)
    {
        var o = new Option<int?>(name) { Description = help, CustomParser = r => ParseInt(r), HelpName = "N", Required = required };
        if (min != int.MinValue) AtLeast(o, min);
        return o;
    }

    /// <summary>`--threads N`: kernel threads, at least 1 (default: <paramref name="defaultValue"/>, all cores).</summary>
    public static Option<int> Threads(int defaultValue, string help = "threads to use (all cores)") =>
        Int("--threads", defaultValue, help, min: 1);

    /// <summary>A number option with a default. Numbers are read in the invariant culture (a point before the decimals).</summary>
    public static Option<double> Double(string name, double defaultValue, string help) =>
        new(name) { Description = help, DefaultValueFactory = _ => defaultValue, CustomParser = ParseDouble, HelpName = "X" };

    /// <summary>A number option without a default (null when not given).</summary>
    public static Option<double?> OptionalDouble(string name, string help) =>
        new(name) { Description = help, CustomParser = r => ParseDouble(r), HelpName = "X" };

    /// <summary>A text option with a default; <paramref name="choices"/> (if any) are offered by shell completion.</summary>
    public static Option<string> String(string name, string defaultValue, string help, string helpName = "VALUE", params string[] choices)
    {
        var o = new Option<string>(name) { Description = help, DefaultValueFactory = _ => defaultValue, HelpName = helpName };
        if (choices.Length > 0) o.CompletionSources.Add(choices);
        return o;
    }

    /// <summary>A text option without a default (null when not given), or a required one.</summary>
    public static Option<string?> Text(string name, string help, string helpName = "VALUE", bool required = false, params string[] choices)
    {
        var o = new Option<string?>(name) { Description = help, HelpName = helpName, Required = required };
        if (choices.Length > 0) o.CompletionSources.Add(choices);
        return o;
    }

    /// <summary>A switch: true when given.</summary>
    public static Option<bool> Flag(string name, string help) => new(name) { Description = help, Arity = ArgumentArity.Zero };

    /// <summary>`--set key=value`, repeatable: one config override per occurrence.</summary>
    public static Option<string[]> Sets() => new("--set")
    {
        Description = "override one config key, e.g. --set train_tokenizer.steps=500 (repeatable)",
        HelpName = "KEY=VALUE", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false,
        DefaultValueFactory = _ => [],
    };

    /// <summary>True if <paramref name="option"/> was typed on the command line (not just defaulted).</summary>
    public static bool Given(ParseResult p, Option option) => p.GetResult(option) is { Implicit: false };

    private static void AtLeast(Option<int> o, int min) => o.Validators.Add(r =>
    {
        if (r.Tokens.Count > 0 && int.TryParse(r.Tokens[^1].Value, out int v) && v < min) r.AddError($"{o.Name} must be at least {min}, got {v}");
    });

    private static void AtLeast(Option<int?> o, int min) => o.Validators.Add(r =>
    {
        if (r.Tokens.Count > 0 && int.TryParse(r.Tokens[^1].Value, out int v) && v < min) r.AddError($"{o.Name} must be at least {min}, got {v}");
    });

    private static int ParseInt(ArgumentResult r)
    {
        string s = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
        if (int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)) return v;
        r.AddError($"{(r.Parent as OptionResult)?.Option.Name ?? "value"} expects an integer, got '{s}'");
        return 0;
    }

    private static double ParseDouble(ArgumentResult r)
    {
        string s = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)) return v;
        r.AddError($"{(r.Parent as OptionResult)?.Option.Name ?? "value"} expects a number, got '{s}'");
        return 0;
    }
}

/// <summary>Helpers for command actions.</summary>
public static class CommandText
{
    /// <summary>The command line as typed, e.g. <c>genie data make --episodes 3 --out d</c> (recorded in what a command writes).</summary>
    public static string Of(ParseResult p) => "genie " + string.Join(' ', p.Tokens.Select(t => t.Value));

    /// <summary>The words naming the command that <paramref name="p"/> selected, e.g. "data make" ("" for the root).</summary>
    public static string Words(ParseResult p)
    {
        var words = new List<string>();
        for (SymbolResult? r = p.CommandResult; r is CommandResult c && c.Parent is not null; r = r.Parent) words.Insert(0, c.Command.Name);
        return string.Join(' ', words);
    }
}
