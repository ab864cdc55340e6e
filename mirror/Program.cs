using Downloads.Contracts.Hosting;
using Downloads.Mirror.Status;

namespace Downloads.Mirror;

/// <summary>
/// Entry point: <c>Downloads.Mirror [--Mirror:Id=…] [--urls=…]</c> runs the service;
/// <c>Downloads.Mirror status [--env-file FILE]</c> shows how the network sees this mirror and exits.
/// </summary>
public static class Program
{
    /// <summary>Runs the mirror until Ctrl-C or SIGTERM, or the status command.</summary>
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == StatusCommand.Name)
            return await StatusCommand.RunAsync(args[1..], Console.Out, Console.Error);
        return await ServiceHost.RunAsync("mirror", () => MirrorApp.Build(args));
    }
}
