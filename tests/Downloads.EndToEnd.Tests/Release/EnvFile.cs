namespace Downloads.EndToEnd.Tests.Release;

/// <summary>Edits and reads a systemd EnvironmentFile as a donor's editor and systemd would.</summary>
internal static class EnvFile
{
    /// <summary>Sets each key: its line (or its commented-out example, <c>#KEY=</c>) gets the value; a key not in the file is appended.</summary>
    public static void Set(string path, Dictionary<string, string> values)
    {
        var lines = File.ReadAllLines(path).ToList();
        foreach (var (key, value) in values)
        {
            var at = lines.FindIndex(l => l.StartsWith(key + "=", StringComparison.Ordinal) || l.StartsWith("#" + key + "=", StringComparison.Ordinal));
            if (at >= 0)
                lines[at] = $"{key}={value}";
            else
                lines.Add($"{key}={value}");
        }
        File.WriteAllLines(path, lines);
    }

    /// <summary>The variables systemd would set: KEY=value lines, comments and blank lines skipped.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Read(string path) =>
        File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] is not ('#' or ';') && l.Contains('=', StringComparison.Ordinal))
            .Select(l => new KeyValuePair<string, string>(l[..l.IndexOf('=', StringComparison.Ordinal)], l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..])).ToList();
}
