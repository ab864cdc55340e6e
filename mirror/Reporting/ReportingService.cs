using Downloads.Mirror.Storage;
using Microsoft.Extensions.Options;

namespace Downloads.Mirror.Reporting;

/// <summary>
/// Runs <see cref="MirrorReporter"/> every <see cref="ReportingOptions.Interval"/>, at once when a new serial goes live
/// (a released file is then routable to this mirror without waiting for the next tick), and once more on shutdown.
/// </summary>
internal sealed class ReportingService(MirrorReporter reporter, LiveTree live, IOptions<ReportingOptions> options, TimeProvider time) : BackgroundService
{
    private long _serial;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await reporter.ReportOnceAsync();
        Volatile.Write(ref _serial, live.Current.Serial);
        live.Published += OnPublished;
        try
        {
            await RunAsync(stoppingToken);
        }
        finally
        {
            live.Published -= OnPublished;
        }
    }

    private void OnPublished(LiveSnapshot snapshot)
    {
        var before = Volatile.Read(ref _serial);
        if (snapshot.Serial != before && Interlocked.CompareExchange(ref _serial, snapshot.Serial, before) == before)
            _ = reporter.ReportOnceAsync().ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
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
