namespace Downloads.Mirror.Status;

/// <summary>
/// Reads a systemd <c>EnvironmentFile</c> as the mirror's unit uses it: <c>KEY=value</c> lines, values literal,
/// <c>#</c> and <c>;</c> lines and blank lines skipped. The status command reads the same file as the service,
/// so it needs no configuration of its own.
/// </summary>
internal static class EnvironmentFile
{
    /// <summary>The file the donor's install puts in place (install.sh); used when no <c>--env-file</c> is given and it exists.</summary>
    public const string DefaultPath = "/etc/downloads-mirror/mirror.env";

    /// <summary>The variables of <paramref name="path"/>, in file order (a later line wins).</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Read(string path)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
                continue;
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                throw new FormatException($"{path}: '{line}' is not KEY=value");
            result.Add(new(line[..eq].Trim(), line[(eq + 1)..]));
        }
        return result;
    }

    /// <summary>The variables as configuration keys (<c>Section__Key</c> becomes <c>Section:Key</c>, as ASP.NET Core reads them).</summary>
    public static IEnumerable<KeyValuePair<string, string?>> AsConfiguration(IEnumerable<KeyValuePair<string, string>> variables)
    {
        foreach (var (key, value) in variables)
            yield return new(key.Replace("__", ":", StringComparison.Ordinal), value);
    }
}
