using System.Collections.Concurrent;
using System.Threading.Channels;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Redirector.Snapshots;

/// <summary>
/// Keeps <see cref="SnapshotHolder"/> current. Mirrors, in two speeds: every
/// <see cref="RedirectorOptions.MirrorRefreshSeconds"/> only the live part of each known mirror (state,
/// heartbeat, month counter, health: 3 commands a mirror, unchanged records kept as they are) plus an
/// <c>SCARD</c> of the mirror set; the ops config and declared info of the mirror named in a
/// <see cref="Keyspace.MirrorsChanged"/> message at once; and everything, the id set included, when the
/// set's size changed, a message names an unknown mirror, or every <see cref="RedirectorOptions.MirrorReloadSeconds"/>.
/// The manifest: re-fetches the signed manifest every <see cref="RedirectorOptions.ManifestRefreshSeconds"/> or at
/// once on <see cref="Keyspace.Announce"/>. Any failure keeps the last good part, so a Redis or origin
/// outage leaves the redirector answering from what it knew; <see cref="SavedState"/> keeps that across a restart
/// (the mirror table, the signed manifest and the highest serial ever accepted, which no older manifest undercuts).
/// </summary>
internal sealed partial class SnapshotRefresher(
    SnapshotHolder holder, ManifestFetcher fetcher, IConnectionMultiplexer redis, ISnapshotBuilder builder,
    IOptions<RedirectorOptions> options, TimeProvider time, ILogger<SnapshotRefresher> log, HeldBackManifest heldBack,
    SavedState saved, Staging.ReleaseWatch releases) : BackgroundService
{
    /// <summary>More ids announced between two rounds than this: reload everything instead of one by one.</summary>
    private const int MaxDirty = 1000;

    private readonly Channel<bool> _signals = Channel.CreateBounded<bool>(new BoundedChannelOptions(16) { FullMode = BoundedChannelFullMode.DropOldest });
    private ManifestIndex _index = ManifestIndex.Empty;
    private long _expiredLogged = -1;
    private long _highestSerial;
    private long _rejectedLogged = -1;
    private DateTimeOffset _lastSave = DateTimeOffset.MinValue;
    private int _savedFingerprint;
    private readonly ConcurrentQueue<string> _dirty = new();
    private MirrorRecord[] _mirrors = [];
    private long _setCount = -1;
    private int _reloadAll = 1;
    private DateTimeOffset _lastReload = DateTimeOffset.MinValue;
    private DateTimeOffset _mirrorsLoadedAt = DateTimeOffset.MinValue;
    private DateTimeOffset _manifestLoadedAt = DateTimeOffset.MinValue;
    private bool _subscribed;
    private bool _manifestFailed;
    private bool _collectAfterPublish;
    private bool _redisFailing;
    private bool _panic;
    /// <summary>Mirrors whose approved record was not used whole, with the reason last logged (logged on change only).</summary>
    private readonly Dictionary<string, string> _recordProblems = new(StringComparer.Ordinal);

    /// <summary>Routes from the saved state before the server takes its first request (hosted services start first).</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        StartFromSaved();
        return base.StartAsync(cancellationToken);
    }

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
            // Which of its files came from staging: read once per new serial, before the mirrors, so that a release's
            // holders count from the round that first routes it (Selection/Eligibility.HoldsRelease).
            await releases.RefreshAsync(_index, stoppingToken);
            var reloaded = await RefreshMirrorsAsync();
            await SaveIfDueAsync(reloaded, stoppingToken);
            var snapshot = BuildAndPublish();
            if (_collectAfterPublish)
            {
                // The document's bytes (tens of MB, on the large-object heap), the index builder's dictionary and,
                // now that the new snapshot is out, the previous index are garbage. A new serial is rare (a publish),
                // so return that memory to the OS now instead of carrying it as heap slack.
                _collectAfterPublish = false;
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            }
            LogPanicChange(snapshot);
            // A failed fetch (say, a publish landing between the manifest and its signature) retries next round.
            wantManifest = await WaitAsync(TimeSpan.FromSeconds(o.MirrorRefreshSeconds), stoppingToken) || !_index.IsLoaded || _manifestFailed;
        }
    }

    private RoutingSnapshot BuildAndPublish()
    {
        var snapshot = builder.Build(_index, _mirrors, _mirrorsLoadedAt, _manifestLoadedAt, holder.Current, time.GetUtcNow());
        holder.Publish(snapshot);
        return snapshot;
    }

    /// <summary>One round of the mirror table alone, built and published as <see cref="ExecuteAsync"/> does (tests).</summary>
    internal async Task<RoutingSnapshot> RefreshMirrorsOnceAsync()
    {
        await RefreshMirrorsAsync();
        return BuildAndPublish();
    }

    private void LogPanicChange(RoutingSnapshot snapshot)
    {
        if (snapshot.HeartbeatPanic == _panic)
            return;
        _panic = snapshot.HeartbeatPanic;
        var (serving, silent) = snapshot.Heartbeats;
        if (_panic)
            LogPanicOn(log, silent, serving, options.Value.HeartbeatPanicPercent);
        else if (snapshot.PanicSince is not null)
            LogPanicExpired(log, silent, serving, options.Value.HeartbeatPanicMaxSeconds);
        else
            LogPanicOff(log, silent, serving);
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
            await sub.SubscribeAsync(Keyspace.MirrorsChanged, (_, message) => OnMirrorChanged(message));
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
        _manifestFailed = result.Index is null && !result.Unchanged;
        if (result.Unchanged)
        {
            _manifestLoadedAt = time.GetUtcNow();
            NoteExpiry();
            return;
        }
        if (result.Index is not { } index)
        {
            LogManifestFailed(log, result.Error ?? "unknown error", _index.Serial);
            return;
        }
        var floor = Math.Max(_index.Serial, _highestSerial);
        if (index.Serial < floor)
        {
            // A replayed older manifest (a stale origin behind a load balancer, or an attacker) never rolls us back,
            // not even after a restart (the highest serial is kept in Redirector:StateDir). Logged once per serial.
            if (_rejectedLogged != index.Serial)
                LogManifestRejected(log, index.Serial, floor);
            _rejectedLogged = index.Serial;
            fetcher.Reset();
            return;
        }
        var now = time.GetUtcNow();
        if (index.Serial != _index.Serial && index.IsExpired(now) && _index.IsLoaded && !_index.IsExpired(now))
        {
            // Newer but already expired (an origin that stopped re-signing, or an old signed copy replayed): the
            // routed one is still within its expiry and stays, the last good one. Flagged until a fresh one comes;
            // fetched in full again each round, so that it is adopted once the routed one expires too.
            if (heldBack.Serial != index.Serial)
                LogManifestHeldBack(log, index.Serial, index.Expires, _index.Serial);
            heldBack.Serial = index.Serial;
            fetcher.Reset();
            _manifestLoadedAt = now;
            return;
        }
        heldBack.Serial = 0;
        if (index.Serial != _index.Serial || !_index.IsLoaded)
        {
            _index = index;
            _collectAfterPublish = true;
            LogManifestLoaded(log, _index.Serial, _index.Files.Count);
            if (result.Bytes is { } bytes && result.Signature is { } signature)
            {
                await saved.SaveManifestAsync(bytes, signature, stoppingToken);
                if (index.Serial > _highestSerial)
                {
                    _highestSerial = index.Serial;
                    await SaveStateAsync(stoppingToken);
                }
            }
        }
        _manifestLoadedAt = time.GetUtcNow();
        NoteExpiry();
    }

    /// <summary>A <see cref="Keyspace.MirrorsChanged"/> message: its payload is the mirror id, reloaded in full next round.</summary>
    private void OnMirrorChanged(RedisValue message)
    {
        var id = message.ToString();
        if (MirrorIds.IsValid(id) && _dirty.Count < MaxDirty)
            _dirty.Enqueue(id);
        else
            Volatile.Write(ref _reloadAll, 1);
        _signals.Writer.TryWrite(false);
    }

    /// <summary>Reads the mirror table from Redis; true when the whole table was read (a full reload).</summary>
    private async Task<bool> RefreshMirrorsAsync()
    {
        var db = redis.GetDatabase();
        var now = time.GetUtcNow();
        // Taken before reading, so a message arriving during the read is handled next round.
        var reloadAll = Interlocked.Exchange(ref _reloadAll, 0) == 1
            || now - _lastReload >= TimeSpan.FromSeconds(options.Value.MirrorReloadSeconds);
        var dirty = new List<string>();
        while (_dirty.TryDequeue(out var id))
            dirty.Add(id);
        try
        {
            var count = await MirrorStore.CountAsync(db);
            reloadAll |= count != _setCount || dirty.Exists(id => IndexOf(id) < 0);
            if (reloadAll)
            {
                _mirrors = await MirrorStore.LoadAsync(db, await MirrorStore.LoadIdsAsync(db), now);
                _setCount = count;
                _lastReload = now;
                LogRecordProblems(_mirrors, all: true);
            }
            else
            {
                var mirrors = await MirrorStore.RefreshLiveAsync(db, _mirrors, now);
                var ids = dirty.Distinct(StringComparer.Ordinal).ToArray();
                var reloaded = await MirrorStore.LoadAsync(db, ids, now);
                for (var i = 0; i < ids.Length; i++)
                    mirrors[IndexOf(ids[i])] = reloaded[i];
                _mirrors = mirrors;
                LogRecordProblems(reloaded, all: false);
            }
            // The instant that chose each mirror's usage counter key (its billing period): a reading timed later could
            // file the old period's total under a period that began during the read (a false quota forecast).
            _mirrorsLoadedAt = now;
            if (_redisFailing)
                LogMirrorsRecovered(log, _mirrors.Length);
            _redisFailing = false;
            if (saved.RoutingFromSaved)
            {
                saved.RoutingFromSaved = false;
                LogStateSuperseded(log, _mirrors.Length);
            }
            return reloadAll;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Whatever was announced meanwhile is lost with the failed round: read everything once Redis answers.
            Volatile.Write(ref _reloadAll, 1);
            if (!_redisFailing)
                LogMirrorsFailed(log, _mirrors.Length, ex.Message);
            _redisFailing = true;
            return false;
        }
    }

    /// <summary>
    /// Before the first round: routes from what <see cref="SavedState"/> kept, checked as if it came from outside (the
    /// manifest against the pinned keys and the kept highest serial, the records by the validation rules), so a
    /// restart while Redis or the origin is down still redirects to mirrors. Redis and the origin replace it as
    /// soon as they answer.
    /// </summary>
    private void StartFromSaved()
    {
        var loaded = saved.Load();
        _highestSerial = loaded.HighestSerial;
        if (loaded.Manifest is { } bytes && loaded.Signature is { } signature)
        {
            var result = fetcher.Verify(bytes, signature);
            if (result.Index is not { } index)
                LogStateManifestRefused(log, result.Error ?? "unreadable");
            else if (index.Serial < _highestSerial)
                LogStateManifestRefused(log, $"serial {index.Serial} is older than the highest accepted, {_highestSerial}");
            else
            {
                _index = index;
                _highestSerial = index.Serial;
                fetcher.Assume(signature);
            }
        }
        if (loaded.Mirrors is { } mirrors)
        {
            _mirrors = mirrors;
            saved.RoutingFromSaved = true;
            _savedFingerprint = Fingerprint(mirrors);
        }
        if (_index.IsLoaded || loaded.Mirrors is not null)
        {
            LogStateLoaded(log, _index.Serial, _mirrors.Length, _highestSerial);
            holder.Publish(builder.Build(_index, _mirrors, _mirrorsLoadedAt, _manifestLoadedAt, holder.Current, time.GetUtcNow()));
        }
    }

    /// <summary>
    /// Keeps the mirror table after a full reload from Redis when its routing fields changed (the set of mirrors, an
    /// approval, a URL...) or <see cref="RedirectorOptions.StateSaveSeconds"/> passed: the live figures move every
    /// round, and 10,000 records are megabytes, so they are not written each time.
    /// </summary>
    private async Task SaveIfDueAsync(bool reloaded, CancellationToken stoppingToken)
    {
        if (!reloaded || !saved.Enabled)
            return;
        var fingerprint = Fingerprint(_mirrors);
        if (fingerprint == _savedFingerprint && time.GetUtcNow() - _lastSave < TimeSpan.FromSeconds(options.Value.StateSaveSeconds))
            return;
        _savedFingerprint = fingerprint;
        await SaveStateAsync(stoppingToken);
    }

    private async Task SaveStateAsync(CancellationToken stoppingToken)
    {
        _lastSave = time.GetUtcNow();
        await saved.SaveAsync(_highestSerial, _mirrors, stoppingToken);
    }

    /// <summary>A hash of what routing depends on in the table, not of the live figures.</summary>
    private static int Fingerprint(IReadOnlyList<MirrorRecord> mirrors)
    {
        var hash = new HashCode();
        foreach (var m in mirrors)
        {
            hash.Add(m.Id, StringComparer.Ordinal);
            hash.Add(m.HttpUrl, StringComparer.Ordinal);
            hash.Add(m.HttpsUrl, StringComparer.Ordinal);
            hash.Add(m.Country, StringComparer.Ordinal);
            hash.Add(m.Latitude);
            hash.Add(m.Longitude);
            hash.Add(m.Asn);
            hash.Add(m.Scope);
            hash.Add(m.Status);
            hash.Add(m.Enabled);
            hash.Add(m.Draining);
            hash.Add(m.Weight);
            hash.Add(m.CapacityMbps);
            hash.Add(m.QuotaBytes);
            hash.Add(m.Sets.Count);
        }
        return hash.ToHashCode();
    }

    [LoggerMessage(EventId = RedirectorEvents.StateLoaded, Level = LogLevel.Information, Message = "Starting from the saved state: manifest serial {Serial}, {Mirrors} mirrors, highest serial accepted {Highest}; Redis and the origin replace it as soon as they answer")]
    private static partial void LogStateLoaded(ILogger logger, long serial, int mirrors, long highest);

    [LoggerMessage(EventId = RedirectorEvents.StateManifestRefused, Level = LogLevel.Warning, Message = "Saved manifest not used: {Reason}")]
    private static partial void LogStateManifestRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = RedirectorEvents.StateSuperseded, Level = LogLevel.Information, Message = "Redis answers: routing by its mirror table ({Mirrors} mirrors) instead of the saved one")]
    private static partial void LogStateSuperseded(ILogger logger, int mirrors);

    /// <summary>
    /// Logs a mirror whose approved record is missing or has fields that fail validation (those fields are left
    /// out, the rest is used): once when it appears or changes and once when it is gone, never per request.
    /// </summary>
    private void LogRecordProblems(IReadOnlyList<MirrorRecord> loaded, bool all)
    {
        foreach (var m in loaded)
        {
            var before = _recordProblems.GetValueOrDefault(m.Id, "");
            if (string.Equals(m.RecordProblem, before, StringComparison.Ordinal))
                continue;
            if (m.RecordProblem.Length > 0)
            {
                _recordProblems[m.Id] = m.RecordProblem;
                LogRecordProblem(log, m.Id, m.RecordProblem);
            }
            else
            {
                _recordProblems.Remove(m.Id);
                LogRecordFixed(log, m.Id);
            }
        }
        if (all && _recordProblems.Count > 0)
        {
            var ids = loaded.Select(m => m.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var gone in _recordProblems.Keys.Where(id => !ids.Contains(id)).ToList())
                _recordProblems.Remove(gone);
        }
    }

    /// <summary>Position of a mirror in the id-sorted table, or negative.</summary>
    private int IndexOf(string id)
    {
        int lo = 0, hi = _mirrors.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var c = string.CompareOrdinal(_mirrors[mid].Id, id);
            if (c == 0)
                return mid;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid - 1;
        }
        return -1;
    }

    [LoggerMessage(EventId = RedirectorEvents.MirrorRecordProblem, Level = LogLevel.Warning, Message = "Mirror {Id}: {Problem}")]
    private static partial void LogRecordProblem(ILogger logger, string id, string problem);

    [LoggerMessage(EventId = RedirectorEvents.MirrorRecordFixed, Level = LogLevel.Information, Message = "Mirror {Id}: its approved record is whole and valid again")]
    private static partial void LogRecordFixed(ILogger logger, string id);

    [LoggerMessage(EventId = RedirectorEvents.SubscribeFailed, Level = LogLevel.Warning, Message = "Pub/sub subscription failed, polling only for now: {Reason}")]
    private static partial void LogSubscribeFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = RedirectorEvents.ManifestFetchFailed, Level = LogLevel.Warning, Message = "Manifest refresh failed, keeping serial {Serial}: {Reason}")]
    private static partial void LogManifestFailed(ILogger logger, string reason, long serial);

    [LoggerMessage(EventId = RedirectorEvents.ManifestRejected, Level = LogLevel.Warning, Message = "Manifest serial {Serial} is older than the current {Current}; ignored")]
    private static partial void LogManifestRejected(ILogger logger, long serial, long current);

    /// <summary>Logs once per serial that the routed manifest has expired (kept, flagged by ManifestExpiry and metrics).</summary>
    private void NoteExpiry()
    {
        if (_index.IsExpired(time.GetUtcNow()) && _expiredLogged != _index.Serial)
        {
            _expiredLogged = _index.Serial;
            LogManifestExpired(log, _index.Serial, _index.Expires);
        }
    }

    [LoggerMessage(EventId = RedirectorEvents.ManifestHeldBack, Level = LogLevel.Warning, Message = "Manifest serial {Serial} arrived already expired (at {Expires:O}); still routing with serial {Current}, flagged degraded")]
    private static partial void LogManifestHeldBack(ILogger logger, long serial, DateTimeOffset expires, long current);

    [LoggerMessage(EventId = RedirectorEvents.ManifestExpired, Level = LogLevel.Warning, Message = "Manifest serial {Serial} expired at {Expires:O}; still routing with it (flagged degraded) until the origin publishes a newer one")]
    private static partial void LogManifestExpired(ILogger logger, long serial, DateTimeOffset expires);

    [LoggerMessage(EventId = RedirectorEvents.ManifestLoaded, Level = LogLevel.Information, Message = "Manifest serial {Serial} loaded ({Files} files)")]
    private static partial void LogManifestLoaded(ILogger logger, long serial, int files);

    [LoggerMessage(EventId = RedirectorEvents.MirrorsLoadFailed, Level = LogLevel.Warning, Message = "Mirror table reload from Redis failed; redirecting from the last good table of {Mirrors} mirrors: {Reason}")]
    private static partial void LogMirrorsFailed(ILogger logger, int mirrors, string reason);

    [LoggerMessage(EventId = RedirectorEvents.HeartbeatPanicOn, Level = LogLevel.Warning, Message = "{Silent} of {Serving} serving mirrors lost their heartbeat at once (over {Percent}%): most likely Redis or the way to it, not the mirrors; a missing heartbeat excludes nobody until they report again, health probes still do")]
    private static partial void LogPanicOn(ILogger logger, int silent, int serving, int percent);

    [LoggerMessage(EventId = RedirectorEvents.HeartbeatPanicOff, Level = LogLevel.Information, Message = "Mirrors report again ({Silent} of {Serving} serving mirrors without a heartbeat): a missing heartbeat excludes a mirror again")]
    private static partial void LogPanicOff(ILogger logger, int silent, int serving);

    [LoggerMessage(EventId = RedirectorEvents.HeartbeatPanicExpired, Level = LogLevel.Error, Message = "{Silent} of {Serving} serving mirrors are still silent after {MaxSeconds} s: they are excluded again (Redirector:HeartbeatPanicMaxSeconds); check Redis and the mirrors' way to it")]
    private static partial void LogPanicExpired(ILogger logger, int silent, int serving, double maxSeconds);

    [LoggerMessage(EventId = RedirectorEvents.SnapshotBuilt, Level = LogLevel.Information, Message = "Mirror table reloaded from Redis again ({Mirrors} mirrors)")]
    private static partial void LogMirrorsRecovered(ILogger logger, int mirrors);
}
