using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;
using Downloads.Redirector.Staging;
using static Downloads.Redirector.Tests.Routing;

namespace Downloads.Redirector.Tests.Selection;

/// <summary>
/// The first seconds of a staged release (Eligibility.HoldsRelease): a mirror that holds the released file's ciphertext
/// counts as synced for that file only, until it reports the serial or StagedReleaseSeconds pass, and every other rule
/// still applies. Through the real snapshot builder and selector, on a fixed clock.
/// </summary>
public class StagedReleaseTests
{
    private const string Id = "0123456789abcdef0123456789abcdef";
    private const string Released = "os/launch.img";
    private const string Other = "noobs/new.zip";
    private static readonly DateTimeOffset Seen = new(2027, 2, 2, 9, 0, 0, TimeSpan.Zero);

    // Serial 11 released os/launch.img (staged as Id) and changed noobs/new.zip; the mirrors report 10 until they are done.
    private static readonly Contracts.Manifests.Manifest Release = Manifest(11, File(Released, 11), File(Other, 11), File("noobs/a.zip", 5));
    private static readonly MirrorRecord Lon = Mirror("lon", 51.51, -0.12) with { Staged = $"ffffffffffffffffffffffffffffffff,{Id}" };
    private static readonly MirrorRecord Par = Mirror("par", 48.86, 2.35, "FR");
    private static readonly MirrorRecord Tyo = Mirror("tyo", 35.68, 139.69, "JP") with { Serial = 11 };

    private static RoutingSnapshot Build(IReadOnlyList<MirrorRecord> mirrors, double secondsAfter = 1, RedirectorOptions? options = null)
    {
        var counters = new CounterRegistry();
        var index = ManifestIndex.Build(Release, counters);
        var now = Seen.AddSeconds(secondsAfter);
        return SnapshotBuilder.Build(index, mirrors, options ?? new RedirectorOptions(), counters, now, now, null, now,
            [new StagedRelease(Released, Id, Seen)]);
    }

    private static string[] Pick(RoutingSnapshot snapshot, string path, ClientLocation client, bool https = false)
    {
        Span<int> picks = stackalloc int[5];
        var n = new MirrorSelector(new RedirectorOptions(), new Random(1)).Select(snapshot, snapshot.Entry(path), client, https, picks);
        return snapshot.Ids(picks[..n]);
    }

    private static Exclusion Verdict(RoutingSnapshot snapshot, string path, string mirror, ClientLocation client) =>
        new MirrorSelector(new RedirectorOptions(), new Random(1)).Explain(snapshot, snapshot.Entry(path), client, https: false)
            .Single(v => v.Mirror.Record.Id == mirror).Exclusion;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_mirror_holding_the_ciphertext_takes_the_released_file_before_it_reports_the_serial(bool https)
    {
        var snapshot = Build([Lon, Par, Tyo]);
        // Paris is nearest to par, which holds nothing: skipped like any stale mirror; lon holds it and is next.
        Assert.Equal(["lon", "tyo"], Pick(snapshot, Released, Paris, https));
        Assert.Equal(["lon", "tyo"], Pick(snapshot, Released, London, https));
        Assert.Equal(Exclusion.None, Verdict(snapshot, Released, "lon", Paris));
        Assert.Equal(Exclusion.Stale, Verdict(snapshot, Released, "par", Paris));
    }

    [Fact]
    public void Only_for_the_released_file()
    {
        var snapshot = Build([Lon, Par, Tyo]);
        Assert.Equal(["tyo"], Pick(snapshot, Other, London));
        Assert.Equal(Exclusion.Stale, Verdict(snapshot, Other, "lon", London));
        // Files it has at its own serial are as before.
        Assert.Equal(["lon", "par", "tyo"], Pick(snapshot, "noobs/a.zip", London));
    }

    [Fact]
    public void Not_after_StagedReleaseSeconds()
    {
        var options = new RedirectorOptions { StagedReleaseSeconds = 30 };
        Assert.Equal(["lon", "tyo"], Pick(Build([Lon, Par, Tyo], 29.9, options), Released, London));
        var late = Build([Lon, Par, Tyo], 30, options);
        Assert.Equal(["tyo"], Pick(late, Released, London));
        Assert.Equal(Exclusion.Stale, Verdict(late, Released, "lon", London));
        Assert.Same(ReleaseOverlay.None, late.Releases);
    }

    public static TheoryData<string, Func<MirrorRecord, MirrorRecord>, string> Spoiled => new()
    {
        { "draining", m => m with { Draining = true }, "Draining" },
        { "failed health check", m => m with { Healthy = false }, "Unhealthy" },
        { "dead heartbeat", m => m with { Alive = false }, "Down" },
        { "pending", m => m with { Status = MirrorStatus.Pending }, "Pending" },
        { "over quota", m => m with { QuotaBytes = 1000, MonthBytes = 1000 }, "OverQuota" },
        { "at capacity", m => m with { CapacityMbps = 100, RateBps = 100 * 125_000 }, "Full" },
        { "other set", m => m with { Sets = ["noobs"] }, "MissingSet" },
        { "another id", m => m with { Staged = "0123456789abcdef0123456789abcdee" }, "Stale" },
        { "a longer id containing it", m => m with { Staged = Id + "0" }, "Stale" },
    };

    [Theory]
    [MemberData(nameof(Spoiled))]
    public void A_holder_is_still_held_to_every_other_rule(string rule, Func<MirrorRecord, MirrorRecord> spoil, string expected)
    {
        var snapshot = Build([spoil(Lon), Par, Tyo]);
        Assert.True(new[] { "tyo" }.SequenceEqual(Pick(snapshot, Released, London)), rule);
        Assert.Equal(Enum.Parse<Exclusion>(expected), Verdict(snapshot, Released, "lon", London));
    }

    [Fact]
    public void Once_the_mirror_reports_the_serial_no_overlay_is_left()
    {
        var snapshot = Build([Lon with { Serial = 11 }, Par, Tyo]);
        Assert.Same(ReleaseOverlay.None, snapshot.Releases);
        Assert.Equal(["lon", "tyo"], Pick(snapshot, Released, London));
        // And without any release pending, a snapshot carries none.
        Assert.Same(ReleaseOverlay.None, Snapshot([Lon, Par], Release).Releases);
    }
}
