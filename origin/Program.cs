using Downloads.Contracts.Hosting;
using Downloads.Origin.Publishing;
using Downloads.Origin.Sample;
using Downloads.Origin.Staging;

namespace Downloads.Origin;

/// <summary>
/// Entry point. <c>origin sample|keygen|publish|stage|releases …</c> run a command and exit; anything else runs
/// the web service (<c>--Origin:Root=… --Origin:StateDir=… --Origin:PrivateKeyFile=… --urls=…</c>).
/// </summary>
public static class Program
{
    /// <summary>Runs a command or the service until Ctrl-C or SIGTERM.</summary>
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] is SampleCommand.Name or KeygenCommand.Name or PublishCommand.Name or StagingCommands.StageName or StagingCommands.ReleasesName)
            return await OriginCommands.RunAsync(args);
        return await ServiceHost.RunAsync("origin", () => OriginApp.Build(args));
    }
}
