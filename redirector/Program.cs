using Downloads.Contracts.Hosting;
using Downloads.Redirector.Cli;

namespace Downloads.Redirector;

/// <summary>Entry point.</summary>
public static class Program
{
    /// <summary>Runs the ops CLI (<c>mirrors</c>, <c>tokens</c>, <c>stats</c>) or the service until Ctrl-C or SIGTERM.</summary>
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && OpsCli.Verbs.Contains(args[0]))
            return await OpsCli.RunAsync(args);
        return await ServiceHost.RunAsync("redirector", () => RedirectorApp.Build(args));
    }
}
