namespace Genie.Cli;

/// <summary>An error in what the user typed: printed with the command's usage, without a stack trace, exit code 1.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Parsed arguments of one command: <c>--name value</c> options, <c>--flag</c> switches and positional
/// values. Every option a command reads is recorded, so <see cref="RejectUnknown"/> can refuse a misspelt one.
/// </summary>
public sealed class Args
{
    private readonly Dictionary<string, List<string>> _options = new();
    private readonly HashSet<string> _read = new();

    /// <summary>Positional arguments in order.</summary>
    public List<string> Positional { get; } = new();

    /// <summary>Parses tokens; <paramref name="flags"/> names the options that take no value.</summary>
    public Args(IEnumerable<string> tokens, params string[] flags)
    {
        var flagSet = new HashSet<string>(flags);
        var list = tokens.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            var t = list[i];
            if (t == "--") { Positional.AddRange(list.Skip(i + 1)); break; }
            if (t.StartsWith("--") && t.Length > 2)
            {
                string name = t[2..], value;
                int eq = name.IndexOf('=');
                if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
                else if (flagSet.Contains(name)) value = "true";
                else
                {
                    if (i + 1 >= list.Count) throw new UsageException($"option --{name} needs a value");
                    value = list[++i];
                }
                if (!_options.TryGetValue(name, out var vs)) _options[name] = vs = new List<string>();
                vs.Add(value);
            }
            else Positional.Add(t);
        }
    }

    /// <summary>True if a switch was given.</summary>
    public bool Flag(string name) { _read.Add(name); return _options.ContainsKey(name); }

    /// <summary>The last value of an option, or <paramref name="fallback"/>.</summary>
    public string? Get(string name, string? fallback = null)
    {
        _read.Add(name);
        return _options.TryGetValue(name, out var v) ? v[^1] : fallback;
    }

    /// <summary>The value of a required option.</summary>
    public string Require(string name) => Get(name) ?? throw new UsageException($"missing required option --{name}");

    /// <summary>Every value of a repeatable option.</summary>
    public IReadOnlyList<string> All(string name) { _read.Add(name); return _options.TryGetValue(name, out var v) ? v : []; }

    /// <summary>An integer option.</summary>
    public int Int(string name, int fallback)
    {
        var s = Get(name);
        if (s is null) return fallback;
        return int.TryParse(s, out var v) ? v : throw new UsageException($"--{name} expects an integer, got '{s}'");
    }

    /// <summary>A number option.</summary>
    public double Double(string name, double fallback)
    {
        var s = Get(name);
        if (s is null) return fallback;
        return double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? v : throw new UsageException($"--{name} expects a number, got '{s}'");
    }

    /// <summary>Throws if an option was given that the command never read (a typo, or an option of another command).</summary>
    public void RejectUnknown()
    {
        var unknown = _options.Keys.Where(k => !_read.Contains(k)).ToList();
        if (unknown.Count > 0) throw new UsageException($"unknown option{(unknown.Count > 1 ? "s" : "")}: {string.Join(", ", unknown.Select(u => "--" + u))}");
    }
}

/// <summary>One `genie` command: its words (e.g. "bench kernels"), a one-line summary, usage and handler.</summary>
/// <param name="Words">The words that select it.</param>
/// <param name="Summary">One line for the command list.</param>
/// <param name="Usage">Full usage text.</param>
/// <param name="Run">Handler: gets the remaining tokens, returns the exit code.</param>
public sealed record Command(string Words, string Summary, string Usage, Func<string[], int> Run);
