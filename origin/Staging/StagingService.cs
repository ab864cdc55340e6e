using Downloads.Origin.Publishing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Origin.Staging;

/// <summary>
/// Writes an empty signed staging list at start when there is none (mirrors then see "nothing staged", not a 404),
/// and on every tick of the origin's clock releases the files whose time has come and serves the new manifest.
/// </summary>
internal sealed partial class StagingService(
    PublishedStore published,
    StagingStore staging,
    IOptions<OriginOptions> options,
    IConnectionMultiplexer redis,
    TimeProvider time,
    ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger<StagingService>();

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (staging.Refresh() is null)
            await new Stager(options.Value, time, loggers.CreateLogger<Stager>()).WriteListAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var stager = new Stager(options.Value, time, loggers.CreateLogger<Stager>());
        using var timer = new PeriodicTimer(options.Value.ReloadInterval, time);
        try
        {
            do
            {
                try
                {
                    var result = await stager.ReleaseDueAsync(stoppingToken);
                    staging.Refresh();
                    if (result.Publication is { } p)
                    {
                        published.Use(p.State);
                        _ = Announcer.AnnounceAsync(redis, p.Serial, _logger);
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
                {
                    Log.ReleaseFailed(_logger, ex.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = OriginEvents.ReleaseFailed, Level = LogLevel.Error, Message = "Release pass failed: {Reason}; retrying at the next tick")]
        public static partial void ReleaseFailed(ILogger logger, string reason);
    }
}
