using Downloads.Contracts.Redis;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;
using static Downloads.Redirector.Tests.Network.TestNetwork;

namespace Downloads.Redirector.Tests.Snapshots;

/// <summary>Redis goes away: the redirector keeps redirecting from its last good snapshot and keeps counting, then flushes.</summary>
public class RedisOutageTests
{
    private const string London = "81.2.69.142";

    [Fact]
    public async Task Redis_stopped_still_redirects_and_counts_are_flushed_after_it_returns()
    {
        using var redis = new RedisServer();
        await using var net = await StartAsync(redis);
        await net.StartRedirectorAsync();
        var path = "/" + Escaped(OsPath);
        Assert.StartsWith(net.London.Url, (await net.GetAsync(path, London)).Headers.Location!.OriginalString, StringComparison.Ordinal);
        var day = DateTimeOffset.UtcNow;
        await Eventually.TrueAsync(async () => (await net.Db.HashGetAsync(Keyspace.StatsMirrors(day), "lon")) == 1,
            TimeSpan.FromSeconds(10), "first redirect counted in Redis");

        redis.Stop();
        // Several refresh rounds (0.2 s each) fail while Redis is down: the mirror table ages.
        await Eventually.TrueAsync(async () =>
        {
            using var health = System.Text.Json.JsonDocument.Parse(await net.Http.GetStringAsync(net.Url + "/-/health"));
            return health.RootElement.GetProperty("mirrorsAgeSeconds").GetDouble() >= 1;
        }, TimeSpan.FromSeconds(10), "the redirector runs from a mirror table a second old");
        for (var i = 0; i < 20; i++)
        {
            var response = await net.GetAsync(path, London);
            Assert.Equal(System.Net.HttpStatusCode.Found, response.StatusCode);
            Assert.StartsWith(net.London.Url, response.Headers.Location!.OriginalString, StringComparison.Ordinal);
        }
        await Eventually.TrueAsync(async () => await net.MetricAsync("downloads_stats_pending_redirects") == 20, TimeSpan.FromSeconds(10),
            "a flush of the 20 redirects fails and keeps them");

        // Redis comes back empty (no persistence): the 20 redirects made during the outage still arrive.
        redis.Start();
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                var db = redis.Admin.GetDatabase();
                return await db.HashGetAsync(Keyspace.StatsMirrors(day), "lon") == 20
                    && await db.HashGetAsync(Keyspace.StatsFiles(day), OsPath) == 20
                    && await db.HashGetAsync(Keyspace.StatsCountries(day), "GB") == 20
                    && await db.HyperLogLogLengthAsync(Keyspace.StatsAddresses(day)) == 1;
            }
            catch (StackExchange.Redis.RedisConnectionException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "counts made during the outage are flushed once Redis is back");
    }
}
