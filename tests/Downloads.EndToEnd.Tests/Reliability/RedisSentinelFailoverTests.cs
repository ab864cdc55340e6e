using System.Net;
using Downloads.Contracts.Redis;
using Downloads.Testing;
using StackExchange.Redis;

namespace Downloads.EndToEnd.Tests.Reliability;

/// <summary>
/// Redis high availability with real processes: 1 master + 1 replica + 3 sentinels; the redirector and
/// ops connect through the sentinels (<c>serviceName=dl</c>). The master is SIGKILLed in the middle of
/// a load of redirects.
/// </summary>
public sealed class RedisSentinelFailoverTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int MaxRequests = 100_000;

    [Fact]
    public async Task Master_killed_mid_load_redirects_never_stop_and_every_count_reaches_the_new_master()
    {
        using var group = new RedisSentinelGroup();
        using var ops = await ConnectionMultiplexer.ConnectAsync(group.Configuration);
        // The per-client limit is off: this load is a few clients at full speed, and the test is about Redis.
        await using var rig = await RedirectorRig.StartAsync(ops.GetDatabase(), group.Configuration, null, "--RateLimit:Enabled=false", "--Redirector:CounterFlushSeconds=1");
        var day = DateTimeOffset.UtcNow;

        var sent = 0;
        var failed = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        async Task WorkerAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref sent);
                if (n > MaxRequests)
                {
                    Interlocked.Decrement(ref sent);
                    return;
                }
                using var response = await rig.GetAsync("/" + RedirectorRig.PathOf(n % RedirectorRig.FileCount), $"81.2.69.{(n % 250) + 1}");
                var location = response.Headers.Location?.OriginalString ?? "";
                if (response.StatusCode != HttpStatusCode.Found || !(location.StartsWith("http://lon.example/", StringComparison.Ordinal) || location.StartsWith("http://par.example/", StringComparison.Ordinal)))
                {
                    Interlocked.Increment(ref failed);
                    failures.Enqueue($"{(int)response.StatusCode} {location}");
                }
                // Paced (~1 ms a request per client): leave the sentinels some of the two cores to fail over with.
                await Task.Delay(1);
            }
        }
        var load = Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(WorkerAsync)));

        // Kill right after a flush has reached both servers (flushes are 1 s apart here, and the check polls
        // every 10 ms), so the test measures failover, not the documented asynchronous-replication window
        // of a write acknowledged a moment before the crash.
        var key = Keyspace.StatsMirrors(day);
        using (var master = RedisSentinelGroup.Direct(group.MasterPort))
        using (var replica = RedisSentinelGroup.Direct(group.ReplicaPort))
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            var seen = await SumAsync(master.GetDatabase(), key);
            while (true)
            {
                Assert.True(DateTime.UtcNow < deadline, "no replicated flush seen within 30 s");
                await Task.Delay(10);
                var m = await SumAsync(master.GetDatabase(), key);
                if (m > 500 && m != seen && m == await SumAsync(replica.GetDatabase(), key))
                    break;
                seen = m;
            }
        }
        var killedAt = System.Diagnostics.Stopwatch.StartNew();
        var sentAtKill = Volatile.Read(ref sent);
        var killed = group.KillMaster();
        Assert.Equal(group.MasterPort, killed);

        // Failover: the sentinels promote the replica; ops writes and the redirector's reads follow.
        await Eventually.TrueAsync(() => group.CurrentMasterPort() == group.ReplicaPort, TimeSpan.FromSeconds(20), "sentinels promote the replica");
        var promoted = killedAt.Elapsed;
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await RedirectorRig.AddMirrorAsync(ops.GetDatabase(), "ams", "http://ams.example", 52.37, 4.9, "NL");
                return true;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20), "a mirror reports to the new master");
        await Eventually.TrueAsync(async () =>
        {
            using var health = await rig.Http.GetAsync(rig.Url + "/-/health");
            return (await health.Content.ReadAsStringAsync()).Contains("\"httpCandidates\":3", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(20), "the redirector reads the mirror table from the new master");
        await stop.CancelAsync();
        await load;
        output.WriteLine($"{sent} redirects ({sentAtKill} before the kill); replica promoted {promoted.TotalSeconds:F1} s after the kill; " +
            $"new master in the redirector's table {killedAt.Elapsed.TotalSeconds:F1} s after it");

        Assert.True(failed == 0, $"{failed} of {sent} redirects failed, e.g. {string.Join("; ", failures.Take(3))}");
        using var newMaster = RedisSentinelGroup.Direct(group.ReplicaPort);
        var db = newMaster.GetDatabase();
        long counted = 0;
        try
        {
            await Eventually.TrueAsync(async () => (counted = await SumAsync(db, key)) == sent, TimeSpan.FromSeconds(30),
                $"all {sent} redirects counted on the new master");
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{counted} of {sent} redirects counted on the new master after 30 s");
        }
        Assert.Equal(sent, await SumAsync(db, Keyspace.StatsFiles(day)));
        Assert.Equal(sent, (long)await db.HashGetAsync(Keyspace.StatsCountries(day), "GB"));
        Assert.Equal(sent, await SumAsync(db, Keyspace.StatsOutcomes(day))); // every request by outcome, the same batches
    }

    private static async Task<long> SumAsync(IDatabase db, RedisKey key)
    {
        try
        {
            long total = 0;
            foreach (var value in await db.HashValuesAsync(key))
                total += (long)value;
            return total;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return -1;
        }
    }
}
