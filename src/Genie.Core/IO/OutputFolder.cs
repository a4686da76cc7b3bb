namespace Genie.Core.IO;

/// <summary>
/// The one guard every command that replaces a folder (<c>--overwrite</c>) goes through: a folder is replaced only
/// when it is missing, empty, or recognisably the command's own kind of output, holds nothing that kind does not
/// write, and is not (and does not contain) one of the command's own inputs. Anything else is refused with a message
/// that says why, before any work is done.
/// </summary>
public static class OutputFolder
{
    /// <summary>
    /// Throws <see cref="IOException"/> unless <paramref name="target"/> may be replaced by output of
    /// <paramref name="kind"/> (a name for messages, such as "dataset").
    /// </summary>
    /// <param name="target">The folder to be replaced.</param>
    /// <param name="kind">What the command writes, for messages.</param>
    /// <param name="marker">The file whose presence (and <paramref name="isOwn"/>, if given) marks the kind's output.</param>
    /// <param name="own">Every top-level entry (file or folder name) the kind writes; anything else is foreign.</param>
    /// <param name="inputs">Paths the command reads; none may be the target or lie inside it (nulls are skipped).</param>
    /// <param name="isOwn">Optional check of the marker's contents.</param>
    public static void CheckReplaceable(string target, string kind, string marker, IReadOnlyCollection<string> own,
        IEnumerable<string?> inputs, Func<string, bool>? isOwn = null)
    {
        var full = Full(target);
        if (File.Exists(full)) throw new IOException($"{target} is a file, not a folder; choose another --out");
        foreach (var input in inputs)
        {
            if (input is null) continue;
            var inFull = Full(input);
            if (inFull == full || inFull.StartsWith(full + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new IOException($"refusing to replace {target}: it holds this command's input {input}; choose another --out");
        }
        if (!Directory.Exists(full) || !Directory.EnumerateFileSystemEntries(full).Any()) return;
        var markerPath = Path.Combine(full, marker);
        if (!File.Exists(markerPath) || (isOwn is not null && !SafeIsOwn(isOwn, markerPath)))
            throw new IOException($"refusing to replace {target}: it is not a {kind} (no {marker} of one); --overwrite only replaces a {kind} " +
                "this program wrote. Remove the folder yourself or choose another --out");
        var foreign = Directory.EnumerateFileSystemEntries(full).Select(Path.GetFileName).FirstOrDefault(n => !own.Contains(n!));
        if (foreign is not null)
            throw new IOException($"refusing to replace {target}: it holds '{foreign}', which a {kind} does not; move it out first or choose another --out");
    }

    /// <summary>
    /// Removes the temporary folders matching <paramref name="searchPattern"/> in <paramref name="parent"/> that a
    /// killed process left behind: those whose name carries the id of a process that no longer runs (the id is the
    /// dot-separated part just before the final ".tmp": <c>NAME.PID.tmp</c>). Returns how many were removed.
    /// </summary>
    public static int RemoveStaleTemps(string parent, string searchPattern)
    {
        if (!Directory.Exists(parent)) return 0;
        int removed = 0;
        foreach (var dir in Directory.GetDirectories(parent, searchPattern))
        {
            var parts = Path.GetFileName(dir).Split('.');
            if (parts.Length < 3 || parts[^1] != "tmp" || !int.TryParse(parts[^2], out int pid)) continue;
            if (pid == Environment.ProcessId || IsRunning(pid)) continue;
            try { Directory.Delete(dir, true); removed++; }
            catch (IOException) { /* another process is cleaning it up; leave it */ }
        }
        return removed;
    }

    private static bool IsRunning(int pid)
    {
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private static bool SafeIsOwn(Func<string, bool> isOwn, string path)
    {
        try { return isOwn(path); }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or FormatException or System.Text.Json.JsonException) { return false; }
    }

    private static string Full(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        return full.Length == 0 ? Path.DirectorySeparatorChar.ToString() : full;
    }
}
