using Downloads.Contracts.Redis;
using Downloads.Redirector.Metrics;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Redirector.Counting;

/// <summary>
/// Moves the in-memory counters to Redis exactly once. Every tick drains the live counters into a
/// per-day <see cref="DayBatch"/> (counts and a HyperLogLog of addresses) whether or not Redis is up, so
/// counting never stops and memory stays bounded during an outage. One batch at a time is sealed with
/// an id and written in a single MULTI/EXEC that also sets an acknowledgement key, guarded by "that
/// key does not exist yet". A failure keeps the sealed batch and retries it with the same id: if the
/// earlier attempt did reach Redis (a timeout after the server applied it), the guard fails and the
/// retry is dropped; if it did not, the retry applies it. Nothing is lost, nothing is counted twice.
/// Replication is asynchronous, so a batch the master acknowledged is dropped from memory only once a
/// replica has it too (<c>WAIT 1</c>, bounded by <see cref="RedirectorOptions.CounterReplicaWaitMilliseconds"/>)
/// when the master has connected replicas (<c>ROLE</c>); unconfirmed, it is kept and re-sent with the same
/// id, which a surviving master ignores (ack key) and a newly promoted one that never got it applies.
/// </summary>
internal sealed partial class CounterFlusher(
    CounterRegistry counters, IConnectionMultiplexer redis, IOptions<RedirectorOptions> options,
    TimeProvider time, RedirectorMetrics metrics, ILogger<CounterFlusher> log, RedirectorInstance? instance = null) : BackgroundService
{
    // Never disposed: the container disposes this service when the host is, which can be while the last
    // flush still waits on Redis (a shutdown during a failover); it must then end as a failed flush that
    // keeps its batch, not throw from a disposed gate. Without a wait handle it holds no resource.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SortedDictionary<DateTimeOffset, DayBatch> _open = [];
    private readonly string _instance = (instance ?? new RedirectorInstance()).Id;
    private DayBatch? _sealed;
    private long _sequence;
    private bool _failing;
    private bool _unreplicated;

    /// <summary>Redirects counted here and not yet acknowledged by Redis.</summary>
    public long PendingRedirects { get; private set; }

    /// <summary>Requests of every outcome counted here and not yet acknowledged by Redis.</summary>
    public long PendingRequests { get; private set; }

    /// <summary>Whether the last flush reached Redis.</summary>
    public bool Healthy => !_failing;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.CounterFlushSeconds), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                await FlushAsync();
        }
        catch (OperationCanceledException)
        {
        }
        // One last try on shutdown so a clean stop loses nothing.
        await FlushAsync();
    }

    /// <summary>Drains the counters and writes every pending batch; false when Redis did not take them all (they stay pending).</summary>
    public async Task<bool> FlushAsync()
    {
        await _gate.WaitAsync();
        try
        {
            Collect();
            // Bounded: one batch per day held, plus the sealed one.
            for (var i = 0; i <= _open.Count + 1; i++)
            {
                if (_sealed is null)
                {
                    if (_open.Count == 0)
                        break;
                    var (day, batch) = _open.First();
                    _open.Remove(day);
                    batch.Id = $"{_instance}-{++_sequence}";
                    _sealed = batch;
                }
                if (!await CommitAsync(_sealed))
                    return false;
                _sealed = null;
            }
            return true;
        }
        finally
        {
            UpdatePending();
            _gate.Release();
        }
    }

    /// <summary>Drains the live counters into today's open batch; also feeds the Prometheus counters.</summary>
    private void Collect()
    {
        var today = new DateTimeOffset(time.GetUtcNow().UtcDateTime.Date, TimeSpan.Zero);
        if (!_open.TryGetValue(today, out var batch))
            _open[today] = batch = new DayBatch(today);
        foreach (var (id, counter) in counters.Mirrors)
        {
            var delta = counter.Drain();
            if (delta == 0)
                continue;
            DayBatch.Add(batch.Mirrors, id, delta);
            metrics.MirrorRedirects(id, delta);
        }
        foreach (var (path, counts) in counters.Files)
        {
            foreach (var outcome in Outcomes.All)
            {
                // A plain read first: most files see nothing in most flushes, and an exchange is a locked instruction.
                if (Outcomes.IsPerFile(outcome) && counts.Peek(outcome) != 0)
                    batch.AddFile(outcome, path, counts.Drain(outcome));
            }
        }
        foreach (var (country, counts) in counters.Countries)
        {
            foreach (var outcome in Outcomes.All)
            {
                if (counts.Peek(outcome) != 0)
                    batch.AddCountry(outcome, country, counts.Drain(outcome));
            }
        }
        foreach (var outcome in Outcomes.All)
        {
            if (counters.HasAddresses(outcome))
                counters.DrainAddressesInto(outcome, batch.Addresses(outcome));
        }
        if (batch.IsEmpty)
            _open.Remove(today);
    }

    private async Task<bool> CommitAsync(DayBatch batch)
    {
        var day = batch.Day;
        try
        {
            var db = redis.GetDatabase();
            var tran = db.CreateTransaction();
            var ack = Keyspace.StatsFlushAck(day, batch.Id);
            tran.AddCondition(Condition.KeyNotExists(ack));
            Increment(tran, Keyspace.StatsMirrors(day), batch.Mirrors);
            Increment(tran, Keyspace.StatsFiles(day), batch.Files);
            Increment(tran, Keyspace.StatsCountries(day), batch.Countries);
            IncrementOutcomes(tran, day, batch);
            var scratch = Keyspace.StatsScratch(day, batch.Id);
            var downloaders = Keyspace.StatsAddresses(day);
            foreach (var outcome in Outcomes.All)
            {
                if (batch.AddressesOf(outcome) is not { IsEmpty: false } sketch)
                    continue;
                // One scratch key, set, merged and deleted in turn for each outcome: the commands run in order.
                var addrs = Keyspace.StatsOutcomeAddresses(day, Outcomes.Name(outcome));
                _ = tran.StringSetAsync(scratch, sketch.ToRedisDense(), Keyspace.StatsScratchTtl);
                _ = tran.HyperLogLogMergeAsync(addrs, [addrs, scratch]);
                _ = tran.KeyExpireAsync(addrs, Keyspace.StatsRetention);
                if (Outcomes.IsDownload(outcome))
                {
                    _ = tran.HyperLogLogMergeAsync(downloaders, [downloaders, scratch]);
                    _ = tran.KeyExpireAsync(downloaders, Keyspace.StatsRetention);
                }
                _ = tran.KeyDeleteAsync(scratch);
            }
            _ = tran.StringSetAsync(ack, 1, Keyspace.StatsAckRetention);
            if (!await tran.ExecuteAsync())
            {
                // Not executed: normally the guard found the ack (an earlier attempt landed). Trust only the
                // ack itself, so an abort for any other reason keeps the batch for the next try.
                if (!await db.KeyExistsAsync(ack))
                    throw new RedisException($"counter batch {batch.Id} was not applied and has no acknowledgement");
                if (!batch.AwaitingReplica)
                    LogAlreadyApplied(log, batch.Id);
            }
            if (_failing)
                LogFlushRecovered(log, batch.Id);
            _failing = false;
            return await ReplicatedAsync(db, batch);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            metrics.FlushFailed();
            if (!_failing)
                LogFlushFailed(log, batch.Requests, ex.Message);
            _failing = true;
            return false;
        }
    }

    /// <summary>
    /// True when the master has no connected replica or one confirms the batch within the bounded wait;
    /// false keeps the batch (already applied on this master) for a re-send on the next flush.
    /// </summary>
    private async Task<bool> ReplicatedAsync(IDatabase db, DayBatch batch)
    {
        if (ConnectedReplicas(await db.ExecuteAsync("ROLE")) == 0)
            return Confirmed(batch);
        var waitMs = options.Value.CounterReplicaWaitMilliseconds;
        if ((long)await db.ExecuteAsync("WAIT", 1, waitMs) >= 1)
            return Confirmed(batch);
        batch.AwaitingReplica = true;
        if (!_unreplicated)
            LogReplicaUnconfirmed(log, batch.Id, batch.Requests, waitMs);
        _unreplicated = true;
        return false;
    }

    private bool Confirmed(DayBatch batch)
    {
        if (_unreplicated)
            LogReplicaConfirmed(log, batch.Id);
        _unreplicated = false;
        return true;
    }

    /// <summary>Online replicas in a <c>ROLE</c> reply of a master (<c>master</c>, offset, [[ip, port, offset]…]); 0 for anything else.</summary>
    internal static int ConnectedReplicas(RedisResult role)
    {
        if (role.Resp2Type != ResultType.Array || role.Length < 3 || (string?)role[0] != "master")
            return 0;
        var replicas = role[2];
        return replicas.Resp2Type == ResultType.Array ? replicas.Length : 0;
    }

    /// <summary>Requests per outcome, and per file and per country of each outcome.</summary>
    private static void IncrementOutcomes(ITransaction tran, DateTimeOffset day, DayBatch batch)
    {
        var totals = Keyspace.StatsOutcomes(day);
        var any = false;
        foreach (var outcome in Outcomes.All)
        {
            var total = batch.Totals[(int)outcome];
            if (total == 0)
                continue;
            var name = Outcomes.Name(outcome);
            _ = tran.HashIncrementAsync(totals, name, total);
            any = true;
            if (batch.FilesOf(outcome) is { } files)
                Increment(tran, Keyspace.StatsOutcomeFiles(day, name), files);
            if (batch.CountriesOf(outcome) is { } countries)
                Increment(tran, Keyspace.StatsOutcomeCountries(day, name), countries);
        }
        if (any)
            _ = tran.KeyExpireAsync(totals, Keyspace.StatsRetention);
    }

    private static void Increment(ITransaction tran, RedisKey key, Dictionary<string, long> deltas)
    {
        if (deltas.Count == 0)
            return;
        foreach (var (field, delta) in deltas)
            _ = tran.HashIncrementAsync(key, field, delta);
        _ = tran.KeyExpireAsync(key, Keyspace.StatsRetention);
    }

    private void UpdatePending()
    {
        long redirects = _sealed?.Redirects ?? 0, requests = _sealed?.Requests ?? 0;
        foreach (var b in _open.Values)
        {
            redirects += b.Redirects;
            requests += b.Requests;
        }
        PendingRedirects = redirects;
        PendingRequests = requests;
        metrics.SetPending(redirects);
    }

    [LoggerMessage(EventId = RedirectorEvents.CounterFlushFailed, Level = LogLevel.Warning,
        Message = "Counter flush failed ({Requests} requests in the batch); counting goes on in memory and the batch is retried with the same id: {Reason}")]
    private static partial void LogFlushFailed(ILogger logger, long requests, string reason);

    [LoggerMessage(EventId = RedirectorEvents.CounterFlushRecovered, Level = LogLevel.Information,
        Message = "Counter flush works again (batch {Batch}); counts kept in memory are merged")]
    private static partial void LogFlushRecovered(ILogger logger, string batch);

    [LoggerMessage(EventId = RedirectorEvents.CounterBatchAlreadyApplied, Level = LogLevel.Information,
        Message = "Counter batch {Batch} was already applied by an earlier attempt that looked failed; not counted again")]
    private static partial void LogAlreadyApplied(ILogger logger, string batch);

    [LoggerMessage(EventId = RedirectorEvents.CounterReplicaUnconfirmed, Level = LogLevel.Warning,
        Message = "Counter batch {Batch} ({Requests} requests) was applied by the Redis master but no replica confirmed it within {WaitMs} ms; it stays in memory and is re-sent with the same id (not counted twice) until one does")]
    private static partial void LogReplicaUnconfirmed(ILogger logger, string batch, long requests, int waitMs);

    [LoggerMessage(EventId = RedirectorEvents.CounterReplicaConfirmed, Level = LogLevel.Information,
        Message = "A Redis replica confirms counter batches again (batch {Batch})")]
    private static partial void LogReplicaConfirmed(ILogger logger, string batch);
}
