using System.Threading.Channels;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Counting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Redirector.Snapshots;

/// <summary>
/// Keeps <see cref="SnapshotHolder"/> current: reloads the mirror table from Redis every
/// <see cref="RedirectorOptions.MirrorRefreshSeconds"/> or at once on <see cref="Keyspace.MirrorsChanged"/>,
/// and re-fetches the signed manifest every <see cref="RedirectorOptions.ManifestRefreshSeconds"/> or at
/// once on <see cref="Keyspace.Announce"/>. Any failure keeps the last good part, so a Redis or origin
/// outage leaves the redirector answering from what it knew.
/// </summary>
internal sealed partial class SnapshotRefresher(
    SnapshotHolder holder, ManifestFetcher fetcher, IConnectionMultiplexer redis, CounterRegistry counters,
    IOptions<RedirectorOptions> options, TimeProvider time, ILogger<SnapshotRefresher> log) : BackgroundService
{
    private const int LargeTable = 2000;

    private readonly Channel<bool> _signals = Channel.CreateBounded<bool>(new BoundedChannelOptions(16) { FullMode = BoundedChannelFullMode.DropOldest });
    private ManifestIndex _index = ManifestIndex.Empty;
    private IReadOnlyList<MirrorRecord> _mirrors = [];
    private DateTimeOffset _mirrorsLoadedAt = DateTimeOffset.MinValue;
    private DateTimeOffset _manifestLoadedAt = DateTimeOffset.MinValue;
    private bool _subscribed;
    private bool _manifestFailed;
    private bool _redisFailing;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var wantManifest = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            await SubscribeAsync();
            var now = time.GetUtcNow();
            if (wantManifest || now - _manifestLoadedAt >= TimeSpan.FromSeconds(o.ManifestRefreshSeconds))
                await RefreshManifestAsync(stoppingToken);
            await RefreshMirrorsAsync();
            holder.Publish(SnapshotBuilder.Build(_index, _mirrors, o, counters, _mirrorsLoadedAt, _manifestLoadedAt));
            // Each table lives one poll interval, long enough to be promoted to gen 2, where a large one
            // (thousands of mirrors) would pile up as slack between full collections. A background gen-2
            // collection per swap keeps the heap near its live size at a few ms of one core's time.
            if (_mirrors.Count >= LargeTable)
                GC.Collect(2, GCCollectionMode.Forced, blocking: false);
            // A failed fetch (say, a publish landing between the manifest and its signature) retries next round.
            wantManifest = await WaitAsync(TimeSpan.FromSeconds(o.MirrorRefreshSeconds), stoppingToken) || !_index.IsLoaded || _manifestFailed;
        }
    }

    /// <summary>Waits for a pub/sub signal or the poll interval; true when a new manifest was announced.</summary>
    private async Task<bool> WaitAsync(TimeSpan interval, CancellationToken stoppingToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var delay = Task.Delay(interval, time, cts.Token);
        var signal = _signals.Reader.WaitToReadAsync(cts.Token).AsTask();
        await Task.WhenAny(delay, signal);
        await cts.CancelAsync();
        var manifest = false;
        while (_signals.Reader.TryRead(out var isManifest))
            manifest |= isManifest;
        return manifest;
    }

    private async Task SubscribeAsync()
    {
        if (_subscribed)
            return;
        try
        {
            var sub = redis.GetSubscriber();
            await sub.SubscribeAsync(Keyspace.Announce, (_, _) => _signals.Writer.TryWrite(true));
            await sub.SubscribeAsync(Keyspace.MirrorsChanged, (_, _) => _signals.Writer.TryWrite(false));
            _subscribed = true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The multiplexer re-subscribes on reconnect once this has worked; until then, polling covers it.
            LogSubscribeFailed(log, ex.Message);
        }
    }

    private async Task RefreshManifestAsync(CancellationToken stoppingToken)
    {
        var result = await fetcher.FetchAsync(stoppingToken);
        _manifestFailed = result.Manifest is null && !result.Unchanged;
        if (result.Unchanged)
        {
            _manifestLoadedAt = time.GetUtcNow();
            return;
        }
        if (result.Manifest is not { } manifest)
        {
            LogManifestFailed(log, result.Error ?? "unknown error", _index.Serial);
            return;
        }
        if (manifest.Serial < _index.Serial)
        {
            // A replayed older manifest (a stale origin behind a load balancer, or an attacker) never rolls us back.
            LogManifestRejected(log, manifest.Serial, _index.Serial);
            fetcher.Reset();
            return;
        }
        if (manifest.Serial != _index.Serial || !_index.IsLoaded)
        {
            var files = manifest.Files.Count;
            _index = ManifestIndex.Build(manifest, counters);
            manifest = null;
            result = default;
            LogManifestLoaded(log, _index.Serial, files);
            // The parsed document is several times the size of the index built from it; a new serial is
            // rare (a publish), so return that memory to the OS now instead of carrying it as heap slack.
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
        _manifestLoadedAt = time.GetUtcNow();
    }

    private async Task RefreshMirrorsAsync()
    {
        try
        {
            _mirrors = await MirrorStore.LoadAllAsync(redis.GetDatabase(), time.GetUtcNow());
            _mirrorsLoadedAt = time.GetUtcNow();
            if (_redisFailing)
                LogMirrorsRecovered(log, _mirrors.Count);
            _redisFailing = false;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            if (!_redisFailing)
                LogMirrorsFailed(log, _mirrors.Count, ex.Message);
            _redisFailing = true;
        }
    }

    [LoggerMessage(EventId = RedirectorEvents.SubscribeFailed, Level = LogLevel.Warning, Message = "Pub/sub subscription failed, polling only for now: {Reason}")]
    private static partial void LogSubscribeFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = RedirectorEvents.ManifestFetchFailed, Level = LogLevel.Warning, Message = "Manifest refresh failed, keeping serial {Serial}: {Reason}")]
    private static partial void LogManifestFailed(ILogger logger, string reason, long serial);

    [LoggerMessage(EventId = RedirectorEvents.ManifestRejected, Level = LogLevel.Warning, Message = "Manifest serial {Serial} is older than the current {Current}; ignored")]
    private static partial void LogManifestRejected(ILogger logger, long serial, long current);

    [LoggerMessage(EventId = RedirectorEvents.ManifestLoaded, Level = LogLevel.Information, Message = "Manifest serial {Serial} loaded ({Files} files)")]
    private static partial void LogManifestLoaded(ILogger logger, long serial, int files);

    [LoggerMessage(EventId = RedirectorEvents.MirrorsLoadFailed, Level = LogLevel.Warning, Message = "Mirror table reload from Redis failed; redirecting from the last good table of {Mirrors} mirrors: {Reason}")]
    private static partial void LogMirrorsFailed(ILogger logger, int mirrors, string reason);

    [LoggerMessage(EventId = RedirectorEvents.SnapshotBuilt, Level = LogLevel.Information, Message = "Mirror table reloaded from Redis again ({Mirrors} mirrors)")]
    private static partial void LogMirrorsRecovered(ILogger logger, int mirrors);
}
