using Downloads.Redirector.Membership;

namespace Downloads.Redirector;

/// <summary>Entry point.</summary>
public static class Program
{
    /// <summary>Runs the service until Ctrl-C or SIGTERM.</summary>
    public static async Task<int> Main(string[] args)
    {
        if (args is [MirrorsCommand.Name, ..])
            return await MirrorsCommand.RunAsync(args[1..]);
        await using var app = RedirectorApp.Build(args);
        await app.RunAsync();
        return 0;
    }
}
