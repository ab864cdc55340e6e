using System.Globalization;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;
using StackExchange.Redis;
using static Downloads.Redirector.Tests.Network.TestNetwork;

namespace Downloads.Redirector.Tests.Snapshots;

/// <summary>
/// The two-speed mirror refresh: live fields (state, heartbeat, health) every round; ops config and
/// declared info only on a <c>dl:mirrors:changed</c> message or the slow reload; joins and departures
/// through the set's size. Each test changes Redis behind the redirector's back and watches where a
/// London client is sent.
/// </summary>
public class MirrorRefreshTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private const string London = "81.2.69.142";
    private static readonly string Path = "/" + Escaped(OsPath);

    private static async Task<TestNetwork> StartAsync(RedisServer redis, double reloadSeconds)
    {
        var net = await TestNetwork.StartAsync(redis);
        await net.StartRedirectorAsync(extra: [$"--Redirector:MirrorReloadSeconds={reloadSeconds.ToString(CultureInfo.InvariantCulture)}"]);
        Assert.StartsWith(net.London.Url, await LocationAsync(net), StringComparison.Ordinal);
        return net;
    }

    private static async Task<string> LocationAsync(TestNetwork net) =>
        (await net.GetAsync(Path, London)).Headers.Location!.OriginalString;

    private static Task GoesToAsync(TestNetwork net, string url, string because) =>
        Eventually.TrueAsync(async () => (await LocationAsync(net)).StartsWith(url, StringComparison.Ordinal), TimeSpan.FromSeconds(10), because);

    [Fact]
    public async Task State_heartbeat_and_health_are_read_every_round_without_any_message()
    {
        await using var net = await StartAsync(redis, reloadSeconds: 3600);

        // A report at an older serial than the file's: London is stale, Tokyo gets the client.
        await net.ReportAsync("lon", serial: 5);
        await GoesToAsync(net, net.Tokyo.Url, "a report is seen in the next round");
        Assert.Contains("stale (serial 5)", await net.Http.GetStringAsync($"{net.Url}{Path}?mirrorlist&fromip={London}"), StringComparison.Ordinal);
        await net.ReportAsync("lon", serial: 7);
        await GoesToAsync(net, net.London.Url, "the next report is seen too");

        // A failed health verdict written without a pub/sub message.
        await net.Db.HashSetAsync(Keyspace.MirrorHealth("lon"), [new(Keyspace.HealthFields.Ok, "0"), new(Keyspace.HealthFields.Reason, "bad bytes")]);
        await GoesToAsync(net, net.Tokyo.Url, "a health verdict is seen in the next round");
        // The public list says a check failed, never the probe's own words (those are for ops).
        var list = await net.Http.GetStringAsync($"{net.Url}{Path}?mirrorlist&fromip={London}");
        Assert.Contains("unhealthy (failed health check)", list, StringComparison.Ordinal);
        Assert.DoesNotContain("bad bytes", list, StringComparison.Ordinal);
        Assert.DoesNotContain("bad bytes", await net.Http.GetStringAsync($"{net.Url}{Path}?json&fromip={London}"), StringComparison.Ordinal);
        await net.Db.HashSetAsync(Keyspace.MirrorHealth("lon"), [new(Keyspace.HealthFields.Ok, "1"), new(Keyspace.HealthFields.Reason, "")]);
        await GoesToAsync(net, net.London.Url, "readmission is seen in the next round");

        // The heartbeat key goes away (expiry): London is down.
        await net.Db.KeyDeleteAsync(Keyspace.MirrorAlive("lon"));
        await GoesToAsync(net, net.Tokyo.Url, "a lost heartbeat is seen in the next round");
    }

    [Fact]
    public async Task Every_heartbeat_gone_at_once_keeps_the_mirrors_but_one_gone_among_reporting_ones_is_down()
    {
        // Three mirrors; a Redis failover whose new master dropped every heartbeat that expired meanwhile.
        await using var net = await TestNetwork.StartAsync(redis);
        await net.AddMirrorAsync("par", net.Tokyo.Url, 48.85, 2.35, "FR", "EU");
        await net.StartRedirectorAsync();
        await Eventually.TrueAsync(async () => (await net.Http.GetStringAsync(net.Url + "/-/health")).Contains("\"mirrors\":3", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), "three mirrors loaded");
        Assert.StartsWith(net.London.Url, await LocationAsync(net), StringComparison.Ordinal);

        await net.Db.KeyDeleteAsync([Keyspace.MirrorAlive("lon"), Keyspace.MirrorAlive("tyo"), Keyspace.MirrorAlive("par")]);
        await Eventually.TrueAsync(async () => (await net.Http.GetStringAsync(net.Url + "/-/health")).Contains("\"heartbeatPanic\":true", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), "the redirector sees every heartbeat gone");
        for (var i = 0; i < 20; i++)
            Assert.StartsWith(net.London.Url, await LocationAsync(net), StringComparison.Ordinal); // not the origin
        Assert.Contains("downloads_heartbeat_panic 1", await net.Http.GetStringAsync(net.Url + "/-/metrics"), StringComparison.Ordinal);
        var list = await net.Http.GetStringAsync($"{net.Url}{Path}?mirrorlist&fromip={London}");
        Assert.Contains("Most mirrors lost their heartbeat at once", list, StringComparison.Ordinal);
        Assert.Contains("no heartbeat: kept while most mirrors are silent", list, StringComparison.Ordinal);

        // The other two report again, London stays silent: now that is London's own problem.
        await net.ReportAsync("tyo", serial: 7);
        await net.ReportAsync("par", serial: 7);
        await GoesToAsync(net, net.Tokyo.Url, "a lone silent mirror is down again (Paris, on the Tokyo host, takes London's clients)");
        Assert.Contains("\"heartbeatPanic\":false", await net.Http.GetStringAsync(net.Url + "/-/health"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_is_read_on_the_message_naming_the_mirror_not_every_round()
    {
        await using var net = await StartAsync(redis, reloadSeconds: 3600);

        // Ops config written without the message: the frequent rounds do not read config, so nothing changes…
        await net.Db.HashSetAsync(Keyspace.MirrorConfig("lon"), Keyspace.ConfigFields.Draining, "1");
        var rounds = await RoundsAsync(net, 5);
        Assert.StartsWith(net.London.Url, await LocationAsync(net), StringComparison.Ordinal);
        Assert.True(rounds >= 5, $"only {rounds} rounds ran");

        // …until the message naming the mirror.
        await net.Db.PublishAsync(Keyspace.MirrorsChanged, "lon");
        await GoesToAsync(net, net.Tokyo.Url, "the config of the mirror named in the message is reloaded");

        // A new address the mirror writes into its own info is only a request: London keeps its approved URL…
        await MirrorStore.WriteInfoAsync(net.Db, "lon", [new(Keyspace.InfoFields.HttpUrl, "http://moved.example/")]);
        await MirrorStore.SetConfigAsync(net.Db, "lon", (Keyspace.ConfigFields.Draining, "0"));
        await GoesToAsync(net, net.London.Url, "undrained, on its approved URL, not the one it asked for");
        // …until ops approve it (the approved record is written and announced).
        await TestMirrors.ApproveInfoAsync(net.Db, "lon");
        await GoesToAsync(net, "http://moved.example/", "the approved change is reloaded on the message");
    }

    [Fact]
    public async Task Config_written_without_a_message_is_read_by_the_slow_reload()
    {
        await using var net = await StartAsync(redis, reloadSeconds: 1);
        await net.Db.HashSetAsync(Keyspace.MirrorConfig("lon"), Keyspace.ConfigFields.Enabled, "0");
        await GoesToAsync(net, net.Tokyo.Url, "the slow reload reads config nobody announced");
    }

    [Fact]
    public async Task A_mirror_that_joins_or_leaves_the_set_is_seen_without_a_message()
    {
        await using var net = await StartAsync(redis, reloadSeconds: 3600);

        // A third mirror in Paris, written key by key with no message (as an old tool or a script would).
        var db = net.Db;
        await db.HashSetAsync(Keyspace.MirrorApproved("par"), [new(Keyspace.InfoFields.HttpUrl, "http://par.example"),
            new(Keyspace.InfoFields.Latitude, "48.86"), new(Keyspace.InfoFields.Longitude, "2.35")]);
        await db.HashSetAsync(Keyspace.MirrorInfo("par"), Keyspace.InfoFields.CapacityMbps, "1000");
        await db.HashSetAsync(Keyspace.MirrorConfig("par"), Keyspace.ConfigFields.Status, "approved");
        await net.ReportAsync("par", serial: 7);
        await db.SetAddAsync(Keyspace.Mirrors, "par");
        await Eventually.TrueAsync(async () => (await HealthAsync(net)).Contains("\"mirrors\":3", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), "a new member of dl:mirrors is loaded");
        Assert.Contains("par.example", await net.Http.GetStringAsync($"{net.Url}{Path}?json&fromip={London}"), StringComparison.Ordinal);

        // London leaves the set (keys left behind on purpose: membership is the set).
        await db.SetRemoveAsync(Keyspace.Mirrors, "lon");
        await Eventually.TrueAsync(async () => (await HealthAsync(net)).Contains("\"mirrors\":2", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), "a removed member is dropped");
        Assert.DoesNotContain(net.London.Url, await net.Http.GetStringAsync($"{net.Url}{Path}?json&fromip={London}"), StringComparison.Ordinal);
        Assert.StartsWith("http://par.example/", await LocationAsync(net), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_quiet_round_reads_three_commands_a_mirror_and_keeps_unchanged_records()
    {
        // Own server: INFO commandstats counts only this test's commands.
        using var own = new RedisServer();
        var db = own.Admin.GetDatabase();
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < 50; i++)
        {
            var id = $"m{i:00}";
            await MirrorStore.AddAsync(db, id);
            await MirrorStore.WriteInfoAsync(db, id, [new(Keyspace.InfoFields.HttpUrl, $"http://{id}.example")]);
            await TestMirrors.ApproveInfoAsync(db, id);
            await MirrorStore.ReportAsync(db, id, [new(Keyspace.StateFields.Serial, "7"), new(Keyspace.StateFields.RateBps, "100")], TimeSpan.FromMinutes(5), 10, now);
        }
        var full = await MirrorStore.LoadAsync(db, await MirrorStore.LoadIdsAsync(db), now);
        await MirrorStore.ReportAsync(db, "m07", [new(Keyspace.StateFields.Serial, "8")], TimeSpan.FromMinutes(5), 5, now);
        var server = own.Admin.GetServers()[0];
        await server.ExecuteAsync("CONFIG", "RESETSTAT");

        var live = await MirrorStore.RefreshLiveAsync(db, full, now);

        var stats = await CommandStatsAsync(server);
        Assert.Equal(100, stats.GetValueOrDefault("hmget"));
        Assert.Equal(50, stats.GetValueOrDefault("mget"));
        Assert.Equal(0, stats.GetValueOrDefault("hgetall"));
        Assert.Equal(0, stats.GetValueOrDefault("smembers"));
        for (var i = 0; i < full.Length; i++)
        {
            if (full[i].Id == "m07")
                Assert.NotSame(full[i], live[i]);
            else
                Assert.Same(full[i], live[i]);
        }
        var m07 = live.Single(m => m.Id == "m07");
        Assert.Equal((8L, 15L, true, "http://m07.example"), (m07.Serial, m07.MonthBytes, m07.Alive, m07.HttpUrl));
    }

    private static async Task<Dictionary<string, long>> CommandStatsAsync(IServer server)
    {
        var info = (await server.InfoAsync("commandstats")).SelectMany(g => g);
        // cmdstat_hmget: calls=100,usec=…
        return info.ToDictionary(kv => kv.Key["cmdstat_".Length..],
            kv => long.Parse(kv.Value.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture));
    }

    private static async Task<string> HealthAsync(TestNetwork net) => await net.Http.GetStringAsync(net.Url + "/-/health");

    /// <summary>Waits until the redirector has completed at least <paramref name="count"/> more rounds (its mirror table age resets each round).</summary>
    private static async Task<int> RoundsAsync(TestNetwork net, int count)
    {
        var seen = 0;
        var last = double.MaxValue;
        for (var i = 0; i < 200 && seen < count; i++)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(await HealthAsync(net));
            var age = doc.RootElement.GetProperty("mirrorsAgeSeconds").GetDouble();
            if (age < last)
                seen++;
            last = age;
            await Task.Delay(50);
        }
        return seen;
    }
}
