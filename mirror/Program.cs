namespace Downloads.Mirror;

/// <summary>Entry point: <c>Downloads.Mirror [--Mirror:Id=…] [--urls=…]</c>.</summary>
public static class Program
{
    /// <summary>Runs the mirror until Ctrl-C or SIGTERM.</summary>
    public static async Task<int> Main(string[] args)
    {
        await using var app = MirrorApp.Build(args);
        await app.RunAsync();
        return 0;
    }
}
