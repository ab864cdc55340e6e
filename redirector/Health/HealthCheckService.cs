using Downloads.Redirector.Metrics;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Redirector.Health;

/// <summary>Runs <see cref="HealthChecker"/> once per round while the redirector runs.</summary>
internal sealed partial class HealthCheckService(HealthChecker checker, IOptions<HealthOptions> options, TimeProvider time,
    ILogger<HealthCheckService> log, RedirectorMetrics? metrics = null) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
            return;
        using var timer = new PeriodicTimer(options.Value.Interval, time);
        try
        {
            do
            {
                try
                {
                    var verdicts = await checker.RunRoundAsync(stoppingToken);
                    foreach (var v in verdicts)
                        metrics?.RecordProbe(v.Id, v.Result.Ok, v.Result.LatencyMs);
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    // Redis down: no lease can be taken, so nobody probes; the last verdicts stand.
                    LogRoundFailed(log, e.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    [LoggerMessage(EventId = RedirectorEvents.HealthRoundSkipped, Level = LogLevel.Warning, Message = "Health-check round skipped: {Reason}")]
    private static partial void LogRoundFailed(ILogger logger, string reason);
}
