using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Origin.Publishing;

/// <summary>
/// Publishes once at start when nothing was published yet (so a fresh origin is usable at once),
/// then polls the state folder so a manifest written by <c>origin publish</c> is served promptly, and re-signs the
/// served serial as the next one when less than half of <see cref="OriginOptions.ManifestLifetime"/> is left
/// (<see cref="Publisher.ResignAsync"/>), so mirrors and redirectors never see it expire while the origin runs.
/// </summary>
internal sealed partial class PublishingService(
    PublishedStore store,
    IOptions<OriginOptions> options,
    IConnectionMultiplexer redis,
    TimeProvider time,
    ILoggerFactory loggers) : BackgroundService
{
    private string? _resignFailure;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (store.Refresh() is null)
        {
            var result = await new Publisher(options.Value, time, loggers.CreateLogger<Publisher>()).PublishAsync(cancellationToken);
            store.Use(result.State);
            _ = Announcer.AnnounceAsync(redis, result.Serial, loggers.CreateLogger<PublishingService>());
        }
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReloadInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var current = store.Refresh();
                if (current is not null && Publisher.IsRenewalDue(current.Manifest, time.GetUtcNow(), options.Value.ManifestLifetime))
                    await ResignAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private async Task ResignAsync(CancellationToken stoppingToken)
    {
        var logger = loggers.CreateLogger<PublishingService>();
        try
        {
            if (await new Publisher(options.Value, time, loggers.CreateLogger<Publisher>()).ResignAsync(stoppingToken) is not { } result)
                return;
            store.Use(result.State);
            _ = Announcer.AnnounceAsync(redis, result.Serial, logger);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or FormatException)
        {
            // Kept serving: the served serial expires if this goes on, and mirrors and redirectors then flag it.
            // Tried every tick; logged when the reason changes, not every second.
            if (!string.Equals(_resignFailure, ex.Message, StringComparison.Ordinal))
                LogResignFailed(logger, ex.Message);
            _resignFailure = ex.Message;
            return;
        }
        _resignFailure = null;
    }

    [LoggerMessage(EventId = OriginEvents.ResignFailed, Level = LogLevel.Error, Message = "Re-signing the manifest before it expires failed: {Reason}; trying again every tick (logged again when the reason changes)")]
    private static partial void LogResignFailed(ILogger logger, string reason);
}
