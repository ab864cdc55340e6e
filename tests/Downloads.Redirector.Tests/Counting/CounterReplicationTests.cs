using System.Net;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Downloads.Redirector.Tests.Counting;

/// <summary>
/// Counts and asynchronous replication: a batch the master acknowledged leaves the redirector's memory
/// only once a replica confirms it (<c>WAIT 1</c>), so a master dying right after the acknowledgement
/// cannot take acknowledged counts with it.
/// </summary>
public sealed class CounterReplicationTests : IAsyncLifetime
{
    private readonly RedisServer _master = new();
    private RedisServer _replica = null!;
    private TestNetwork _net = null!;

    public async Task InitializeAsync()
    {
        _replica = RedisServer.WithArgs("--replicaof", "127.0.0.1", _master.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _net = await TestNetwork.StartAsync(_master);
    }

    public async Task DisposeAsync()
    {
        // Null-safe: when InitializeAsync threw half-way, both servers must still go.
        try
        {
            if (_net is not null)
                await _net.DisposeAsync();
        }
        finally
        {
            _replica?.Dispose();
            _master.Dispose();
        }
    }

    private static async Task<long> SumAsync(IDatabase db, RedisKey key) =>
        (await db.HashValuesAsync(key)).Sum(v => (long)v);

    /// <summary>
    /// Starts the redirector with the background flush held off (an hour: the tests drive FlushAsync
    /// themselves), waits for the replica, and flushes whatever the start-up counted so the totals are the test's alone.
    /// </summary>
    private async Task<CounterFlusher> StartFlusherAsync(int replicaWaitMilliseconds)
    {
        await _net.StartRedirectorAsync(true, "--Redirector:CounterFlushSeconds=3600",
            $"--Redirector:CounterReplicaWaitMilliseconds={replicaWaitMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        var flusher = _net.App!.Services.GetRequiredService<CounterFlusher>();
        await Eventually.TrueAsync(async () => CounterFlusher.ConnectedReplicas(await _master.Admin.GetDatabase().ExecuteAsync("ROLE")) == 1,
            TimeSpan.FromSeconds(15), "the replica is in sync with the master");
        Assert.True(await flusher.FlushAsync());
        return flusher;
    }

    [Fact]
    public async Task A_flushed_batch_is_on_the_replica_before_the_flusher_drops_it_from_memory()
    {
        var flusher = await StartFlusherAsync(replicaWaitMilliseconds: 300);
        var key = Keyspace.StatsMirrors(DateTimeOffset.UtcNow);
        var before = await SumAsync(_master.Admin.GetDatabase(), key);

        for (var i = 0; i < 40; i++)
        {
            using var answer = await _net.GetAsync("/" + TestNetwork.Escaped(TestNetwork.OsPath), $"100.64.0.{i + 1}");
            Assert.Equal(HttpStatusCode.Found, answer.StatusCode);
        }

        // The replica stops acknowledging: the master applies the batch, but the flusher keeps it.
        _replica.Suspend();
        try
        {
            Assert.False(await flusher.FlushAsync());
            Assert.Equal(40, flusher.PendingRedirects);
            Assert.Equal(before + 40, await SumAsync(_master.Admin.GetDatabase(), key));
            Assert.False(await flusher.FlushAsync()); // re-sent with the same id: still one application
            Assert.Equal(before + 40, await SumAsync(_master.Admin.GetDatabase(), key));
        }
        finally
        {
            _replica.Resume();
        }

        // Confirmed: success is reported only once the replica holds the counts, read right after it (no polling).
        Assert.True(await flusher.FlushAsync());
        Assert.Equal(0, flusher.PendingRedirects);
        using var replica = ConnectionMultiplexer.Connect($"{_replica.Endpoint},allowAdmin=true");
        Assert.Equal(before + 40, await SumAsync(replica.GetDatabase(), key));
        Assert.Equal(before + 40, await SumAsync(_master.Admin.GetDatabase(), key));
    }

    [Fact]
    public async Task A_flush_in_flight_when_the_host_is_disposed_keeps_its_batch_and_throws_nothing()
    {
        // Shutting down during a failover: the last flush waits on Redis while the container disposes its
        // singletons (the host's stop timeout passed). It must end as a failed flush, not an exception.
        var flusher = await StartFlusherAsync(replicaWaitMilliseconds: 1000);
        using (var answer = await _net.GetAsync("/" + TestNetwork.Escaped(TestNetwork.OsPath), "100.64.1.1"))
            Assert.Equal(HttpStatusCode.Found, answer.StatusCode);

        _replica.Suspend();
        try
        {
            var inFlight = flusher.FlushAsync();
            Assert.False(inFlight.IsCompleted);
            flusher.Dispose(); // what the container does to the hosted service
            Assert.False(await inFlight.WaitAsync(TimeSpan.FromSeconds(15)));
            Assert.Equal(1, flusher.PendingRedirects);
        }
        finally
        {
            _replica.Resume();
        }
    }
}
