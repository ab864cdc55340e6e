namespace Downloads.Origin;

/// <summary>Entry point.</summary>
public static class Program
{
    /// <summary>Runs the service until Ctrl-C or SIGTERM.</summary>
    public static async Task<int> Main(string[] args)
    {
        await using var app = OriginApp.Build(args);
        await app.RunAsync();
        return 0;
    }
}
