using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace Downloads.Contracts.Hosting;

/// <summary>Runs a service's web application and turns the start-up failures an operator causes into one line and an exit code.</summary>
public static class ServiceHost
{
    /// <summary>Exit code: a setting failed validation (the line names it).</summary>
    public const int InvalidConfiguration = 2;

    /// <summary>Exit code: the service could not start (e.g. its address is in use).</summary>
    public const int StartFailed = 1;

    /// <summary>
    /// Builds and runs the application until Ctrl-C or SIGTERM. Invalid settings and a listen address
    /// already in use end the process with <see cref="InvalidConfiguration"/> / <see cref="StartFailed"/>
    /// and one line on <paramref name="error"/> (standard error by default) instead of an unhandled
    /// exception's stack trace.
    /// </summary>
    public static async Task<int> RunAsync(string service, Func<WebApplication> build, TextWriter? error = null)
    {
        error ??= Console.Error;
        try
        {
            await using var app = build();
            await app.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (OptionsValidationException e)
        {
            await error.WriteLineAsync($"{service}: invalid configuration: {string.Join("; ", e.Failures)}").ConfigureAwait(false);
            return InvalidConfiguration;
        }
        catch (IOException e)
        {
            await error.WriteLineAsync($"{service}: could not start: {e.Message}").ConfigureAwait(false);
            return StartFailed;
        }
    }
}
