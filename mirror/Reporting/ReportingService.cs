using Microsoft.Extensions.Options;

namespace Downloads.Mirror.Reporting;

/// <summary>Runs <see cref="MirrorReporter"/> every <see cref="ReportingOptions.Interval"/>, and once more on shutdown.</summary>
internal sealed class ReportingService(MirrorReporter reporter, IOptions<ReportingOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await reporter.ReportOnceAsync();
        using var timer = new PeriodicTimer(options.Value.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                await reporter.ReportOnceAsync();
        }
        catch (OperationCanceledException)
        {
            // Stopping: the final report below counts the last bytes served.
        }
        await reporter.ReportOnceAsync();
    }
}
