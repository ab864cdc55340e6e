using Downloads.Contracts.Hosting;

namespace Downloads.Mirror;

/// <summary>Entry point: <c>Downloads.Mirror [--Mirror:Id=…] [--urls=…]</c>.</summary>
public static class Program
{
    /// <summary>Runs the mirror until Ctrl-C or SIGTERM.</summary>
    public static async Task<int> Main(string[] args)
    {
        return await ServiceHost.RunAsync("mirror", () => MirrorApp.Build(args));
    }
}
