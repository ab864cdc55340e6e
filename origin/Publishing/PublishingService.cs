using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Origin.Publishing;

/// <summary>
/// Publishes once at start when nothing was published yet (so a fresh origin is usable at once),
/// then polls the state folder so a manifest written by <c>origin publish</c> is served promptly.
/// </summary>
internal sealed partial class PublishingService(
    PublishedStore store,
    IOptions<OriginOptions> options,
    IConnectionMultiplexer redis,
    TimeProvider time,
    ILoggerFactory loggers) : BackgroundService
{
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
                store.Refresh();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
