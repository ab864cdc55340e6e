using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Health;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static Downloads.Redirector.Tests.Routing;

namespace Downloads.Redirector.Tests.Selection;

/// <summary>
/// Most serving mirrors silent at once (a Redis failover drops every heartbeat that expired meanwhile):
/// the table keeps them instead of sending everything to the origin; one silent mirror is still out at once.
/// </summary>
public class HeartbeatPanicTests
{
    private static MirrorRecord[] Four(int silent) =>
    [
        .. Enumerable.Range(0, 4).Select(i => Mirror($"m{i}", 51.5, -0.1) with { Alive = i >= silent }),
    ];

    /// <summary>Table rounds built one after another from a fixed start time, as the refresher does.</summary>
    private sealed class Rounds(RedirectorOptions options)
    {
        private static readonly DateTimeOffset Start = DateTimeOffset.UnixEpoch;
        private readonly CounterRegistry _counters = new();
        private readonly ManifestIndex _index = ManifestIndex.Build(Manifest(), new CounterRegistry());
        private RoutingSnapshot? _last;

        public RoutingSnapshot At(double seconds, IReadOnlyList<MirrorRecord> records) =>
            _last = SnapshotBuilder.Build(_index, records, options, _counters, Start, Start, _last, Start.AddSeconds(seconds));
    }

    private static string[] Candidates(MirrorRecord[] records, RedirectorOptions? options = null)
    {
        var snapshot = Snapshot(records, options: options);
        return [.. snapshot.Mirrors.Where(m => Eligibility.Standing(snapshot, m) == Exclusion.None).Select(m => m.Record.Id)];
    }

    [Fact]
    public void One_silent_mirror_of_four_is_down_at_once()
    {
        var snapshot = Snapshot(Four(silent: 1));
        Assert.False(snapshot.HeartbeatPanic);
        Assert.Equal(Exclusion.Down, Eligibility.Standing(snapshot, snapshot.Mirrors.Single(m => m.Record.Id == "m0")));
        Assert.Equal(["m1", "m2", "m3"], Candidates(Four(silent: 1)));
    }

    [Fact]
    public void Half_silent_is_not_yet_a_panic_but_more_than_half_is()
    {
        Assert.False(Snapshot(Four(silent: 2)).HeartbeatPanic);
        Assert.Equal(["m2", "m3"], Candidates(Four(silent: 2)));

        var snapshot = Snapshot(Four(silent: 3));
        Assert.True(snapshot.HeartbeatPanic);
        Assert.Equal(4, snapshot.Http.Count);
        Assert.Equal(["m0", "m1", "m2", "m3"], Candidates(Four(silent: 3)));
        Assert.True(Snapshot(Four(silent: 4)).HeartbeatPanic);
    }

    [Fact]
    public void Every_other_exclusion_still_applies_in_a_panic()
    {
        MirrorRecord[] records =
        [
            .. Four(silent: 4),
            Mirror("unhealthy", 51.5, -0.1) with { Alive = false, Healthy = false },
            Mirror("draining", 51.5, -0.1) with { Alive = false, Draining = true },
            Mirror("pending", 51.5, -0.1) with { Alive = false, Status = MirrorStatus.Pending },
            Mirror("unsynced", 51.5, -0.1) with { Alive = false, Serial = 0 },
        ];
        var snapshot = Snapshot(records);
        Assert.True(snapshot.HeartbeatPanic);
        Assert.Equal(Exclusion.Unhealthy, Eligibility.Standing(snapshot, snapshot.Mirrors.Single(m => m.Record.Id == "unhealthy")));
        Assert.Equal(Exclusion.Draining, Eligibility.Standing(snapshot, snapshot.Mirrors.Single(m => m.Record.Id == "draining")));
        Assert.Equal(Exclusion.Pending, Eligibility.Standing(snapshot, snapshot.Mirrors.Single(m => m.Record.Id == "pending")));
        // Never synced: not counted as serving, and no file's serial is at or below 0 anyway.
        Assert.Equal(["m0", "m1", "m2", "m3", "unsynced"], Candidates(records));
    }

    [Fact]
    public void Small_networks_and_a_zero_setting_never_panic()
    {
        MirrorRecord[] two = [Mirror("a", 51.5, -0.1) with { Alive = false }, Mirror("b", 51.5, -0.1) with { Alive = false }];
        Assert.False(Snapshot(two).HeartbeatPanic);
        Assert.Empty(Candidates(two));

        var off = new RedirectorOptions { HeartbeatPanicPercent = 0 };
        Assert.False(Snapshot(Four(silent: 4), options: off).HeartbeatPanic);
        Assert.Empty(Candidates(Four(silent: 4), off));
    }

    [Fact]
    public void Leaving_the_panic_rebuilds_every_entry_so_the_still_silent_ones_drop_out()
    {
        var rounds = new Rounds(new RedirectorOptions());
        var records = Four(silent: 3);
        Assert.True(rounds.At(0, records).HeartbeatPanic);

        // m1..m3 report again, m0 stays silent: the same m0 record instance must not keep its panic-time entry.
        MirrorRecord[] back = [records[0], .. records.Skip(1).Select(r => r with { Alive = true })];
        var after = rounds.At(2, back);
        Assert.False(after.HeartbeatPanic);
        Assert.Equal(Exclusion.Down, Eligibility.Standing(after, after.Mirrors.Single(m => m.Record.Id == "m0")));
        Assert.Equal(3, after.Http.Count);
    }

    [Fact]
    public void The_panic_ends_after_its_maximum_whatever_the_cause()
    {
        var rounds = new Rounds(new RedirectorOptions { HeartbeatPanicMaxSeconds = 120 });
        var records = Four(silent: 3);
        Assert.True(rounds.At(0, records).HeartbeatPanic);

        var snapshot = rounds.At(60, records);
        Assert.True(snapshot.HeartbeatPanic);
        Assert.Equal(4, snapshot.Http.Count);

        snapshot = rounds.At(121, records);
        Assert.False(snapshot.HeartbeatPanic);
        Assert.Equal(1, snapshot.Http.Count);
        Assert.False(rounds.At(200, records).HeartbeatPanic); // does not start over while the same silence lasts
    }

    [Fact]
    public void Our_redirects_to_a_kept_silent_mirror_stay_counted_until_it_reports()
    {
        // Without reports the estimate is normally dropped after OwnRedirectsMaxAgeSeconds; a silent mirror
        // kept by the panic would then look empty again every few seconds while our downloads still run.
        var rounds = new Rounds(new RedirectorOptions { OwnRedirectsMaxAgeSeconds = 10 });
        var records = Four(silent: 3);
        var snapshot = rounds.At(0, records);
        snapshot.Mirrors.Single(m => m.Record.Id == "m0").Assigned.Add(1_000_000);
        snapshot.Mirrors.Single(m => m.Record.Id == "m3").Assigned.Add(1_000_000);
        for (var s = 2; s <= 30; s += 2)
            snapshot = rounds.At(s, records);

        Assert.True(snapshot.HeartbeatPanic);
        Assert.Equal(1_000_000, snapshot.Mirrors.Single(m => m.Record.Id == "m0").Assigned.Bps); // silent: kept
        Assert.Equal(0, snapshot.Mirrors.Single(m => m.Record.Id == "m3").Assigned.Bps); // alive, no report: dropped as before
    }

    [Theory]
    [InlineData("true", 50)]
    [InlineData("false", 0)]
    public void Without_health_probes_there_is_no_panic(string healthEnabled, int expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Health:Enabled"] = healthEnabled }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.Configure<RedirectorOptions>(configuration.GetSection(RedirectorOptions.Section));
        services.AddMirrorHealthChecks();
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<RedirectorOptions>>().Value;
        Assert.Equal(expected, options.HeartbeatPanicPercent);
    }
}
