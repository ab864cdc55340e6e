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
        await TestMirrors.ApproveInfoAsync(Db, id);
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
    public async Task The_staged_ids_a_mirror_reports_are_read_with_the_live_part_and_an_oversized_value_is_dropped()
    {
        await redis.FlushAsync();
        await WriteAsync("uk1", serial: 7, rateBps: 1000, monthBytes: 0);
        var id = new string('a', 32);
        var before = await MirrorStore.LoadAsync(Db, ["uk1"], Now);
        Assert.False(before[0].HoldsStaged(id));

        await Db.HashSetAsync(Keyspace.MirrorState("uk1"), Keyspace.StateFields.Staged, $"{new string('b', 32)},{id}");
        var reported = await MirrorStore.RefreshLiveAsync(Db, before, Now);
        Assert.True(reported[0].HoldsStaged(id));
        Assert.False(reported[0].HoldsStaged(id[..31]));
        // Unchanged: the very same record.
        Assert.Same(reported[0], (await MirrorStore.RefreshLiveAsync(Db, reported, Now))[0]);

        await Db.HashSetAsync(Keyspace.MirrorState("uk1"), Keyspace.StateFields.Staged, id + "," + new string('c', 5000));
        var bloated = await MirrorStore.RefreshLiveAsync(Db, reported, Now);
        Assert.Equal("", bloated[0].Staged);
        Assert.False(bloated[0].HoldsStaged(id));
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

    [Fact]
    public async Task What_a_mirror_writes_into_its_own_info_is_not_used_until_ops_approve_it()
    {
        await redis.FlushAsync();
        await WriteAsync("uk1", serial: 7, rateBps: 0, monthBytes: 0);
        // The mirror's own user rewrites its info: another host, another country, a big ISP's AS, world scope.
        await MirrorStore.WriteInfoAsync(Db, "uk1", new Dictionary<string, string>
        {
            [Keyspace.InfoFields.HttpUrl] = "http://elsewhere.example",
            [Keyspace.InfoFields.Country] = "US",
            [Keyspace.InfoFields.Asn] = "7922",
            [Keyspace.InfoFields.CapacityMbps] = "200",
        });

        var m = Assert.Single(await MirrorStore.LoadAllAsync(Db, Now));
        Assert.Equal(("http://uk1.example.org", "GB", 0L), (m.HttpUrl, m.Country, m.Asn));
        Assert.Equal("", m.RecordProblem);
        Assert.Equal(200, m.CapacityMbps); // its declared capacity only limits itself: taken as it is

        await TestMirrors.ApproveInfoAsync(Db, "uk1");
        m = Assert.Single(await MirrorStore.LoadAllAsync(Db, Now));
        Assert.Equal(("http://elsewhere.example", "US", 7922L), (m.HttpUrl, m.Country, m.Asn));
    }

    [Fact]
    public async Task An_approved_mirror_without_an_approved_record_has_no_url_and_says_why()
    {
        await redis.FlushAsync();
        await MirrorStore.AddAsync(Db, "old1");
        await MirrorStore.WriteInfoAsync(Db, "old1", [new(Keyspace.InfoFields.HttpUrl, "http://old1.example")]);
        await MirrorStore.SetConfigAsync(Db, "old1", (Keyspace.ConfigFields.Status, "approved"));

        var m = Assert.Single(await MirrorStore.LoadAllAsync(Db, Now));
        Assert.Equal(("", ""), (m.HttpUrl, m.HttpsUrl));
        Assert.Contains("no approved record", m.RecordProblem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_approved_fields_are_left_out_one_by_one_and_named()
    {
        await redis.FlushAsync();
        await WriteAsync("uk1", serial: 7, rateBps: 0, monthBytes: 0);
        await TestMirrors.WriteApprovedRawAsync(Db, "uk1", (Keyspace.InfoFields.Country, "ÖS"), (Keyspace.InfoFields.HttpsUrl, "javascript:alert(1)"),
            (Keyspace.InfoFields.Continent, "Europe"), (Keyspace.InfoFields.Latitude, "91"), (Keyspace.InfoFields.Asn, "-5"),
            (Keyspace.InfoFields.Sets, "noobs,../etc"), (Keyspace.InfoFields.Name, "bell\a"));

        var m = Assert.Single(await MirrorStore.LoadAllAsync(Db, Now));
        Assert.Equal("http://uk1.example.org", m.HttpUrl); // the valid fields stay in use
        Assert.Equal(("", "", "", 0L), (m.HttpsUrl, m.Country, m.Continent, m.Asn));
        Assert.True(double.IsNaN(m.Latitude) && double.IsNaN(m.Longitude), "a lone longitude is no location");
        Assert.Equal(["noobs"], m.Sets); // the valid set names stay, the bad one goes
        Assert.Equal("uk1", m.Name);
        foreach (var field in new[] { "country", "httpsUrl", "continent", "lat", "asn", "sets", "name" })
            Assert.Contains(field, m.RecordProblem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bloated_info_hash_and_huge_values_change_nothing_the_reader_loads()
    {
        // A mirror may write its own info and state hashes: 100,000 extra fields and 1 MB values.
        using var own = new RedisServer();
        var db = own.Admin.GetDatabase();
        await MirrorStore.AddAsync(db, "fat");
        await MirrorStore.WriteInfoAsync(db, "fat", [new(Keyspace.InfoFields.HttpUrl, "http://fat.example"), new(Keyspace.InfoFields.CapacityMbps, "300")]);
        await TestMirrors.ApproveInfoAsync(db, "fat");
        await MirrorStore.SetConfigAsync(db, "fat", (Keyspace.ConfigFields.Status, "approved"));
        var before = Assert.Single(await MirrorStore.LoadAllAsync(db, Now));
        for (var start = 0; start < 100_000; start += 10_000)
            await db.HashSetAsync(Keyspace.MirrorInfo("fat"), [.. Enumerable.Range(start, 10_000).Select(i => new HashEntry($"junk{i}", "x"))]);
        var megabyte = new string('9', 1 << 20);
        await db.HashSetAsync(Keyspace.MirrorInfo("fat"), Keyspace.InfoFields.QuotaBytes, megabyte);
        await db.HashSetAsync(Keyspace.MirrorState("fat"), Keyspace.StateFields.LastError, megabyte);
        Assert.Equal(100_003, await db.HashLengthAsync(Keyspace.MirrorInfo("fat")));
        var server = own.Admin.GetServers()[0];
        await server.ExecuteAsync("CONFIG", "RESETSTAT");

        var after = Assert.Single(await MirrorStore.LoadAllAsync(db, Now));

        // Known fields only (HMGET, never HGETALL), and the 1 MB values are not kept: the record is as before.
        var stats = (await server.InfoAsync("commandstats")).SelectMany(g => g).Select(kv => kv.Key).ToList();
        Assert.DoesNotContain("cmdstat_hgetall", stats);
        Assert.Contains("cmdstat_hmget", stats);
        Assert.Equal((before.Name, before.HttpUrl, before.Status, before.Sets.Count), (after.Name, after.HttpUrl, after.Status, after.Sets.Count));
        Assert.Equal((300.0, 0L, ""), (after.CapacityMbps, after.QuotaBytes, after.LastError));
        Assert.All(new[] { after.Name, after.HttpUrl, after.HttpsUrl, after.Country, after.Continent, after.LastError, after.HealthReason, after.RecordProblem },
            text => Assert.True(text.Length <= MirrorInfoValidation.MaxValueLength, $"{text.Length} characters kept"));

        // The same for one mirror as ops read it, field by field.
        var fields = await MirrorStore.ReadFieldsAsync(db, Keyspace.MirrorInfo("fat"), MirrorInfoValidation.RequestFields);
        Assert.Equal([Keyspace.InfoFields.CapacityMbps, Keyspace.InfoFields.HttpUrl], fields.Keys.Order(StringComparer.Ordinal));
    }
}
