namespace Downloads.EndToEnd.Tests.Release;

/// <summary>The lines of an installed systemd unit that say how to run the service.</summary>
internal sealed record Unit(string Text, string ExecStart, string WorkingDirectory, string EnvironmentFile)
{
    public static Unit Read(string path)
    {
        var text = File.ReadAllText(path);
        string Value(string key) =>
            text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(key + "=", StringComparison.Ordinal))?[(key.Length + 1)..]
            ?? throw new InvalidOperationException($"{path} has no {key}=");
        return new Unit(text, Value("ExecStart"), Value("WorkingDirectory"), Value("EnvironmentFile"));
    }
}
