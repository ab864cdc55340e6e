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
        {
            try
            {
                await new Stager(options.Value, time, loggers.CreateLogger<Stager>()).WriteListAsync(cancellationToken);
            }
            catch (InvalidOperationException ex)
            {
                // An origin run without its signing key (publishing by CLI only) still serves; the list answers 503.
                Log.NoList(_logger, ex.Message);
            }
        }
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
        [LoggerMessage(EventId = OriginEvents.NoStagingList, Level = LogLevel.Warning, Message = "No staging list written: {Reason}; /-/staging.json answers 503 until `origin stage` writes one")]
        public static partial void NoList(ILogger logger, string reason);

        [LoggerMessage(EventId = OriginEvents.ReleaseFailed, Level = LogLevel.Error, Message = "Release pass failed: {Reason}; retrying at the next tick")]
        public static partial void ReleaseFailed(ILogger logger, string reason);
    }
}
