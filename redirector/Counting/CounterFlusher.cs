using Downloads.Contracts.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Redirector.Counting;

/// <summary>
/// Writes the in-memory counters to Redis every few seconds in one pipelined batch (HINCRBY per
/// counter, PFADD for addresses). A failed flush puts every delta back, so nothing is lost while
/// Redis is down; it goes out with the next flush that works.
/// </summary>
internal sealed partial class CounterFlusher(
    CounterRegistry counters, IConnectionMultiplexer redis, IOptions<RedirectorOptions> options,
    TimeProvider time, ILogger<CounterFlusher> log) : BackgroundService
{
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

    /// <summary>Drains and writes every counter; returns false (after restoring the deltas) when Redis did not take them.</summary>
    public async Task<bool> FlushAsync()
    {
        var mirrors = Drain(counters.Mirrors);
        var files = Drain(counters.Files);
        var countries = Drain(counters.Countries);
        var addresses = counters.DrainAddresses().ToArray();
        if (mirrors.Count == 0 && files.Count == 0 && countries.Count == 0 && addresses.Length == 0)
            return true;
        var now = time.GetUtcNow();
        try
        {
            var db = redis.GetDatabase();
            var batch = db.CreateBatch();
            var tasks = new List<Task>();
            Increment(batch, tasks, Keyspace.StatsMirrors(now), mirrors);
            Increment(batch, tasks, Keyspace.StatsFiles(now), files);
            Increment(batch, tasks, Keyspace.StatsCountries(now), countries);
            if (addresses.Length > 0)
            {
                var values = new RedisValue[addresses.Length];
                for (var i = 0; i < addresses.Length; i++)
                    values[i] = addresses[i].ToString();
                var key = Keyspace.StatsAddresses(now);
                tasks.Add(batch.HyperLogLogAddAsync(key, values));
                tasks.Add(batch.KeyExpireAsync(key, Keyspace.StatsRetention));
            }
            batch.Execute();
            await Task.WhenAll(tasks);
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            Restore(mirrors, files, countries, addresses);
            LogFlushFailed(log, mirrors.Count + files.Count + countries.Count, addresses.Length, ex.Message);
            return false;
        }
    }

    private static List<(string Id, Counter Counter, long Delta)> Drain(IEnumerable<KeyValuePair<string, Counter>> source)
    {
        var list = new List<(string, Counter, long)>();
        foreach (var (id, counter) in source)
        {
            var delta = counter.Drain();
            if (delta != 0)
                list.Add((id, counter, delta));
        }
        return list;
    }

    private static void Increment(IBatch batch, List<Task> tasks, RedisKey key, List<(string Id, Counter Counter, long Delta)> deltas)
    {
        if (deltas.Count == 0)
            return;
        foreach (var (id, _, delta) in deltas)
            tasks.Add(batch.HashIncrementAsync(key, id, delta));
        tasks.Add(batch.KeyExpireAsync(key, Keyspace.StatsRetention));
    }

    private void Restore(List<(string, Counter, long)> mirrors, List<(string, Counter, long)> files,
        List<(string, Counter, long)> countries, System.Net.IPAddress[] addresses)
    {
        foreach (var list in new[] { mirrors, files, countries })
        {
            foreach (var (_, counter, delta) in list)
                counter.Add(delta);
        }
        counters.Restore(addresses);
    }

    [LoggerMessage(EventId = RedirectorEvents.CounterFlushFailed, Level = LogLevel.Warning,
        Message = "Counter flush failed ({Counters} counters, {Addresses} addresses kept for the next try): {Reason}")]
    private static partial void LogFlushFailed(ILogger logger, int counters, int addresses, string reason);
}
