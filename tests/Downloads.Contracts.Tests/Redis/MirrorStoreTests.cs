using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Testing;
using StackExchange.Redis;

namespace Downloads.Contracts.Tests.Redis;

/// <summary>Mirror records through the shared keyspace, against a real redis-server.</summary>
public sealed class MirrorStoreTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    private IDatabase Db => redis.Admin.GetDatabase();

    /// <summary>What enrollment, ops approval and one report write for a mirror.</summary>
    private async Task WriteAsync(string id, long serial, double rateBps, long monthBytes)
    {
        await MirrorStore.AddAsync(Db, id);
        await MirrorStore.WriteInfoAsync(Db, id, new Dictionary<string, string>
        {
            [Keyspace.InfoFields.Name] = id + " mirror",
            [Keyspace.InfoFields.HttpUrl] = $"http://{id}.example.org/",
            [Keyspace.InfoFields.Latitude] = "51.5",
            [Keyspace.InfoFields.Longitude] = "-0.12",
            [Keyspace.InfoFields.Country] = "gb",
            [Keyspace.InfoFields.Sets] = "noobs, os",
            [Keyspace.InfoFields.CapacityMbps] = "400",
        });
        await MirrorStore.SetConfigAsync(Db, id, (Keyspace.ConfigFields.Status, "approved"));
        await ReportAsync(id, serial, rateBps, monthBytes);
    }

    private Task ReportAsync(string id, long serial, double rateBps, long monthBytes) =>
        MirrorStore.ReportAsync(Db, id,
        [
            new(Keyspace.StateFields.Serial, serial.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new(Keyspace.StateFields.RateBps, rateBps.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ], TimeSpan.FromSeconds(30), monthBytes, Now);

    [Fact]
    public async Task A_mirror_written_by_enrollment_ops_and_its_report_loads_back_whole()
    {
        await redis.FlushAsync();
        await WriteAsync("uk1", serial: 7, rateBps: 1000, monthBytes: 500);

        var m = Assert.Single(await MirrorStore.LoadAllAsync(Db, Now));
        Assert.Equal("uk1", m.Id);
        Assert.Equal("uk1 mirror", m.Name);
        Assert.Equal("http://uk1.example.org", m.HttpUrl); // trailing slash trimmed
        Assert.Equal((51.5, -0.12), (m.Latitude, m.Longitude));
        Assert.Equal("GB", m.Country);
        Assert.Equal(["noobs", "os"], m.Sets);
        Assert.Equal(400, m.CapacityMbps);
        Assert.Equal(MirrorStatus.Approved, m.Status);
        Assert.True(m.Enabled);
        Assert.False(m.Draining);
        Assert.True(m.Alive);
        Assert.Equal(7, m.Serial);
        Assert.Equal(1000, m.RateBps);
        Assert.Equal(500, m.MonthBytes);
    }

    [Fact]
    public async Task A_report_sets_a_heartbeat_that_expires_and_a_month_counter_that_does_not_grow_forever()
    {
        await redis.FlushAsync();
        await WriteAsync("uk1", serial: 7, rateBps: 0, monthBytes: 100);
        await ReportAsync("uk1", serial: 7, rateBps: 0, monthBytes: 50);

        var heartbeat = await Db.KeyTimeToLiveAsync(Keyspace.MirrorAlive("uk1"));
        Assert.NotNull(heartbeat);
        Assert.InRange(heartbeat.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        var month = await Db.KeyTimeToLiveAsync(Keyspace.MirrorMonthBytes("uk1", Now));
        Assert.NotNull(month);
        Assert.Equal(150, (long)await Db.StringGetAsync(Keyspace.MirrorMonthBytes("uk1", Now)));

        await Db.KeyDeleteAsync(Keyspace.MirrorAlive("uk1"));
        Assert.False(Assert.Single(await MirrorStore.LoadAllAsync(Db, Now)).Alive);
    }

    [Fact]
    public async Task Refreshing_the_live_part_keeps_an_unchanged_record_and_replaces_a_reported_one()
    {
        await redis.FlushAsync();
        await WriteAsync("uk1", serial: 7, rateBps: 1000, monthBytes: 0);
        await WriteAsync("se1", serial: 7, rateBps: 2000, monthBytes: 0);
        var before = await MirrorStore.LoadAsync(Db, ["se1", "uk1"], Now);

        await ReportAsync("uk1", serial: 8, rateBps: 3000, monthBytes: 0);
        var after = await MirrorStore.RefreshLiveAsync(Db, before, Now);

        Assert.Same(before[0], after[0]);
        Assert.NotSame(before[1], after[1]);
        Assert.Equal((8L, 3000.0), (after[1].Serial, after[1].RateBps));
        Assert.Equal(before[1].HttpUrl, after[1].HttpUrl); // the static part is carried over, not re-read
    }

    [Fact]
    public async Task Ids_load_sorted_and_an_invalid_id_in_the_table_is_skipped()
    {
        await redis.FlushAsync();
        await MirrorStore.AddAsync(Db, "se1");
        await MirrorStore.AddAsync(Db, "../uk1");
        await MirrorStore.AddAsync(Db, "de1");

        Assert.Equal(["de1", "se1"], await MirrorStore.LoadIdsAsync(Db));
        Assert.Equal(3, await MirrorStore.CountAsync(Db));
    }
}
