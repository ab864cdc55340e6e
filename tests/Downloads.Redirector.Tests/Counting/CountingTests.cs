using System.Net;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;
using StackExchange.Redis;

namespace Downloads.Redirector.Tests.Counting;

/// <summary>
/// Counting in every mode: redirects answered while Redis is away are counted in memory and merged
/// exactly once when it returns — including the case where a flush timed out but the server applied it.
/// </summary>
public sealed class CountingTests : IAsyncLifetime
{
    private readonly RedisServer _redis = new();
    private TestNetwork _net = null!;

    public async Task InitializeAsync() => _net = await TestNetwork.StartAsync(_redis);

    public async Task DisposeAsync()
    {
        // Null-safe: when InitializeAsync threw, the server must still go.
        try
        {
            if (_net is not null)
                await _net.DisposeAsync();
        }
        finally
        {
            _redis.Dispose();
        }
    }

    private const string FlushFailures = "downloads_stats_flush_failures_total";
    private const string Pending = "downloads_stats_pending_redirects";

    private static string Address(int i) => $"100.{64 + i / 65536}.{i / 256 % 256}.{i % 256}";

    private async Task RedirectAsync(int from, int count, int distinct)
    {
        for (var i = from; i < from + count; i++)
        {
            using var answer = await _net.GetAsync("/" + TestNetwork.Escaped(TestNetwork.OsPath), Address(i % distinct));
            Assert.Equal(HttpStatusCode.Found, answer.StatusCode);
        }
    }

    /// <summary>Sums of today's (and, across midnight, yesterday's) hashes: mirrors, files, countries, and every outcome's requests.</summary>
    private async Task<(long Mirrors, long Files, long Countries, long Addresses, long Requests)> TotalsAsync()
    {
        var db = _redis.Admin.GetDatabase();
        var now = DateTimeOffset.UtcNow;
        long m = 0, f = 0, c = 0, r = 0;
        foreach (var day in new[] { now, now.AddDays(-1) })
        {
            m += (await db.HashValuesAsync(Keyspace.StatsMirrors(day))).Sum(v => (long)v);
            f += (await db.HashValuesAsync(Keyspace.StatsFiles(day))).Sum(v => (long)v);
            c += (await db.HashValuesAsync(Keyspace.StatsCountries(day))).Sum(v => (long)v);
            r += (await db.HashValuesAsync(Keyspace.StatsOutcomes(day))).Sum(v => (long)v);
        }
        var a = await db.HyperLogLogLengthAsync([Keyspace.StatsAddresses(now), Keyspace.StatsAddresses(now.AddDays(-1))]);
        return (m, f, c, a, r);
    }

    private async Task ExpectTotalsAsync(long n, string what)
    {
        var last = "";
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                try
                {
                    var t = await TotalsAsync();
                    last = t.ToString();
                    return t.Mirrors == n && t.Files == n && t.Countries == n && t.Requests == n;
                }
                catch (RedisException e)
                {
                    last = e.Message;
                    return false;
                }
            }, TimeSpan.FromSeconds(45), what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; last totals (mirrors, files, countries, addresses, requests): {last}", e);
        }
    }

    [Fact]
    public async Task Redirects_counted_while_Redis_is_down_are_merged_once_when_it_returns()
    {
        await _net.StartRedirectorAsync();
        const int distinct = 2000;
        await RedirectAsync(0, 1000, distinct);
        await ExpectTotalsAsync(1000, "the first 1000 redirects reach Redis");

        // Down: persist what Redis holds, kill it; the redirector keeps redirecting and counting.
        await _redis.Admin.GetDatabase().ExecuteAsync("SAVE");
        _redis.Stop();
        var failures = await _net.MetricAsync(FlushFailures);
        await RedirectAsync(1000, 1000, distinct);
        await Eventually.TrueAsync(async () => await _net.MetricAsync(FlushFailures) >= failures + 2
            && await _net.MetricAsync(Pending) == 1000, TimeSpan.FromSeconds(20), "several flushes of the 1000 redirects fail; they are kept");
        _redis.Start();
        await RedirectAsync(2000, 1000, distinct);

        await ExpectTotalsAsync(3000, "all 3000 redirects counted after recovery");
        // A sleep that shows nothing happens: more flush rounds run, and nothing is counted twice.
        await Task.Delay(1500);
        var totals = await TotalsAsync();
        Assert.Equal((3000L, 3000L, 3000L, 3000L), (totals.Mirrors, totals.Files, totals.Countries, totals.Requests));
        // 2000 distinct addresses; HyperLogLog's standard error is 0.81 %: allow 3 sigma.
        Assert.InRange(totals.Addresses, distinct * 0.975, distinct * 1.025);
    }

    [Fact]
    public async Task A_flush_that_times_out_but_lands_later_is_not_counted_again()
    {
        await _net.StartRedirectorAsync();
        await RedirectAsync(0, 200, 200);
        await ExpectTotalsAsync(200, "the first 200 redirects reach Redis");

        // Writes stall on the server for 4.5 s, longer than the services' 2 s command timeout: the flush
        // times out on the client, yet the server applies it when the pause ends.
        await _redis.Admin.GetDatabase().ExecuteAsync("CLIENT", "PAUSE", "4500", "WRITE");
        var failures = await _net.MetricAsync(FlushFailures);
        await RedirectAsync(200, 300, 200);
        await Eventually.TrueAsync(async () => await _net.MetricAsync(FlushFailures) > failures, TimeSpan.FromSeconds(20),
            "a flush times out on the client while the server is paused");

        await ExpectTotalsAsync(500, "all 500 redirects counted");
        // A sleep that shows nothing happens: more flush rounds run after the paused one landed, and nothing is counted twice.
        await Task.Delay(1500);
        var totals = await TotalsAsync();
        Assert.Equal((500L, 500L, 500L, 500L), (totals.Mirrors, totals.Files, totals.Countries, totals.Requests));
        Assert.InRange(totals.Addresses, 195, 205);

        // The ambiguous path was really taken: at least one flush failed on the client.
        Assert.True(await _net.MetricAsync(FlushFailures) >= 1);
    }
}
