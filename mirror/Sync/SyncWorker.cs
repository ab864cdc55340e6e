using System.Globalization;
using Downloads.Contracts.Redis;
using Downloads.Mirror.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Mirror.Sync;

/// <summary>
/// Drives the engine: restores the live tree from disk before the server starts, then syncs at
/// once, on every announcement of a newer serial on <see cref="Keyspace.Announce"/>, on a poll
/// interval as a fallback, and when a retired file's grace period ends.
/// </summary>
internal sealed partial class SyncWorker(
    SyncEngine engine,
    LiveTree live,
    Staging.ReleaseWaits releases,
    SyncStatus status,
    IConnectionMultiplexer redis,
    IOptions<SyncOptions> options,
    TimeProvider time,
    ILogger<SyncWorker> logger) : BackgroundService
{
    // Never disposed: a manifest notification from Redis can still arrive while the host is disposed, and
    // waking a disposed semaphore would throw on the Redis library's thread. It holds no wait handle.
    private readonly SemaphoreSlim _wake = new(0, 1);
    private bool _subscribed;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        engine.LoadFromDisk();
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            await SubscribeAsync();
            try
            {
                await engine.RunOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // A bug or an unexpected environment failure must not stop the mirror serving what it has.
                status.LastError = $"sync pass crashed: {ex.Message}";
                Log.PassCrashed(logger, ex);
            }
            var wait = options.Value.PollInterval;
            if (engine.NextExpiry is { } expiry)
            {
                var untilExpiry = expiry - time.GetUtcNow() + TimeSpan.FromMilliseconds(50);
                wait = untilExpiry < wait ? untilExpiry : wait;
            }
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await _wake.WaitAsync(wait, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
            }
        }
    }

    private async Task SubscribeAsync()
    {
        if (_subscribed || !redis.IsConnected)
            return;
        try
        {
            await redis.GetSubscriber().SubscribeAsync(Keyspace.Announce, (_, value) =>
            {
                var known = long.TryParse(value.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var serial);
                if (known && serial <= live.Current.Serial)
                    return;
                // It may release a staged file: redirectors learn of it as we do, so misses wait for this pass to say which.
                if (known)
                    releases.Announced(serial);
                Log.Announced(logger, value.ToString());
                Wake();
            });
            _subscribed = true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Redis down: polling covers it; try again after the next pass.
            Log.NotSubscribed(logger, ex.Message);
        }
    }

    private void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // A wake-up is already pending.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = MirrorEvents.SerialAnnounced, Level = LogLevel.Information, Message = "Serial {Serial} announced; syncing now")]
        public static partial void Announced(ILogger logger, string serial);

        [LoggerMessage(EventId = MirrorEvents.SyncPassCrashed, Level = LogLevel.Error, Message = "Sync pass crashed; serving the last verified serial and trying again later")]
        public static partial void PassCrashed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = MirrorEvents.NotSubscribed, Level = LogLevel.Warning, Message = "Not subscribed to announcements ({Reason}); polling until Redis is back")]
        public static partial void NotSubscribed(ILogger logger, string reason);
    }
}
