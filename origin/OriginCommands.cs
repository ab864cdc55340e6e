using System.CommandLine;
using Downloads.Origin.Publishing;
using Downloads.Origin.Sample;
using Downloads.Origin.Staging;

namespace Downloads.Origin;

/// <summary>The origin's command-line verbs.</summary>
public static class OriginCommands
{
    /// <summary>Parses and runs a verb; returns the exit code (non-zero with a one-line message on failure).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        output ??= Console.Out;
        error ??= Console.Error;
        var root = new RootCommand("Downloads origin: publishes the canonical tree as a signed manifest.")
        {
            SampleCommand.Create(output),
            KeygenCommand.Create(output),
            PublishCommand.Create(output, time),
            StagingCommands.CreateStage(output, time),
            StagingCommands.CreateReleases(output, time),
        };
        try
        {
            var parsed = root.Parse(args);
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException or FormatException)
        {
            await error.WriteLineAsync($"origin {args[0]}: {ex.Message}");
            return 1;
        }
    }
}
