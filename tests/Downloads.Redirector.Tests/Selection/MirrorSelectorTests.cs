using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Selection;
using static Downloads.Redirector.Tests.Routing;

namespace Downloads.Redirector.Tests.Selection;

public class MirrorSelectorTests
{
    private static readonly MirrorRecord Lon = Mirror("lon", 51.51, -0.12);
    private static readonly MirrorRecord Par = Mirror("par", 48.86, 2.35, "FR");
    private static readonly MirrorRecord Fra = Mirror("fra", 50.11, 8.68, "DE");
    private static readonly MirrorRecord Nyc = Mirror("nyc", 40.71, -74.0, "US");
    private static readonly MirrorRecord Tyo = Mirror("tyo", 35.68, 139.69, "JP");

    private static MirrorSelector Selector(int seed = 1, double nearKm = 300, double nearFactor = 1.5) =>
        new(new RedirectorOptions { NearDistanceKm = nearKm, NearFactor = nearFactor }, new Random(seed));

    private static string[] Pick(MirrorSelector selector, Redirector.Snapshots.RoutingSnapshot snapshot, ClientLocation client,
        string path = "noobs/a.zip", bool https = false, int max = 5)
    {
        Span<int> picks = stackalloc int[max];
        var n = selector.Select(snapshot, snapshot.Entry(path), client, https, picks);
        return snapshot.Ids(picks[..n]);
    }

    [Fact]
    public void Candidates_rank_by_great_circle_distance()
    {
        var snapshot = Snapshot([Tyo, Nyc, Fra, Par, Lon]);
        Assert.Equal(["lon", "par", "fra", "nyc", "tyo"], Pick(Selector(), snapshot, London));
        Assert.Equal(["tyo", "fra", "lon", "par", "nyc"], Pick(Selector(), snapshot, new ClientLocation(35.0, 135.0, "JP", "AS", 0)));
        Assert.Equal(["nyc", "lon", "par", "fra", "tyo"], Pick(Selector(), snapshot, new ClientLocation(42.36, -71.06, "US", "NA", 0)));
    }

    [Fact]
    public void Same_ASN_comes_before_any_distance()
    {
        var tyoSameNetwork = Tyo with { Asn = 64500 };
        var snapshot = Snapshot([Lon, Par, tyoSameNetwork]);
        var client = London with { Asn = 64500 };
        Assert.Equal(["tyo", "lon", "par"], Pick(Selector(), snapshot, client));
        // Without the ASN the client goes by distance again.
        Assert.Equal(["lon", "par", "tyo"], Pick(Selector(), snapshot, London));
    }

    [Fact]
    public void Unknown_client_location_uses_the_configured_default_point()
    {
        var snapshot = Snapshot([Tyo, Lon]);
        var tokyoDefault = new MirrorSelector(new RedirectorOptions { DefaultLatitude = 35, DefaultLongitude = 139 }, new Random(1));
        Assert.Equal(["tyo", "lon"], Pick(tokyoDefault, snapshot, ClientLocation.Unknown));
        var londonDefault = new MirrorSelector(new RedirectorOptions { DefaultLatitude = 51.5, DefaultLongitude = 0 }, new Random(1));
        Assert.Equal(["lon", "tyo"], Pick(londonDefault, snapshot, ClientLocation.Unknown));
    }

    public static TheoryData<string, Func<MirrorRecord, MirrorRecord>, bool, string> Exclusions => new()
    {
        { "stale serial", m => m with { Serial = 4 }, false, "Stale" },
        { "missing set", m => m with { Sets = ["os", "rachel"] }, false, "MissingSet" },
        { "draining", m => m with { Draining = true }, false, "Draining" },
        { "disabled", m => m with { Enabled = false }, false, "Disabled" },
        { "pending", m => m with { Status = MirrorStatus.Pending }, false, "Pending" },
        { "dead heartbeat", m => m with { Alive = false }, false, "Down" },
        { "failed health check", m => m with { Healthy = false, HealthReason = "chunk 3 hash mismatch" }, false, "Unhealthy" },
        { "over quota", m => m with { QuotaBytes = 1000, MonthBytes = 1000 }, false, "OverQuota" },
        { "at capacity", m => m with { CapacityMbps = 100, RateBps = 100 * 125_000 }, false, "Full" },
        { "no https url", m => m with { HttpsUrl = "" }, true, "Scheme" },
        { "no http url", m => m with { HttpUrl = "" }, false, "Scheme" },
        { "other country only", m => m with { Scope = MirrorScope.Country, Country = "FR" }, false, "OutOfScope" },
        { "other continent only", m => m with { Scope = MirrorScope.Continent, Continent = "NA" }, false, "OutOfScope" },
    };

    [Theory]
    [MemberData(nameof(Exclusions))]
    public void Excluded_mirror_is_never_chosen_however_near(string rule, Func<MirrorRecord, MirrorRecord> spoil, bool https, string expected)
    {
        var near = spoil(Mirror("near", 51.5, -0.13));
        var snapshot = Snapshot([near, Tyo]);
        var selector = Selector();
        for (var i = 0; i < 50; i++)
            Assert.Equal(["tyo"], Pick(selector, snapshot, London, https: https));
        var entry = Array.Find(snapshot.Mirrors, m => m.Record.Id == "near")!;
        Assert.True(Enum.Parse<Exclusion>(expected) == Eligibility.Check(snapshot, entry, snapshot.Entry("noobs/a.zip"), London, https), rule);
    }

    [Fact]
    public void Healthy_control_mirror_is_chosen_so_the_exclusion_tests_can_fail()
    {
        var snapshot = Snapshot([Mirror("near", 51.5, -0.13), Tyo]);
        Assert.Equal(["near", "tyo"], Pick(Selector(), snapshot, London, https: true));
        Assert.Equal(Exclusion.None, Eligibility.Check(snapshot, snapshot.Mirrors[0], snapshot.Entry("noobs/a.zip"), London, true));
    }

    [Fact]
    public void Freshness_is_per_file_changed_at_serial()
    {
        // Synced to serial 4: behind for noobs/a.zip (changed at 5), current for os/b.img (changed at 3).
        var snapshot = Snapshot([Lon with { Serial = 4 }, Tyo]);
        Assert.Equal(["tyo"], Pick(Selector(), snapshot, London, "noobs/a.zip"));
        Assert.Equal(["lon", "tyo"], Pick(Selector(), snapshot, London, "os/b.img"));
    }

    [Fact]
    public void Country_scoped_mirror_serves_its_own_country()
    {
        var snapshot = Snapshot([Par with { Scope = MirrorScope.Country }, Tyo]);
        Assert.Equal(["par", "tyo"], Pick(Selector(), snapshot, Paris));
        Assert.Equal(["tyo"], Pick(Selector(), snapshot, London));
        Assert.Equal(["tyo"], Pick(Selector(), snapshot, ClientLocation.Unknown));
    }

    [Fact]
    public void No_candidate_returns_zero_picks()
    {
        var snapshot = Snapshot([Lon with { Alive = false }, Par with { Draining = true }]);
        Assert.Empty(Pick(Selector(), snapshot, London));
        Assert.Empty(Pick(Selector(), Snapshot([]), London));
    }

    [Fact]
    public void Spill_over_splits_by_spare_bandwidth_two_to_one_to_zero()
    {
        // Three mirrors in one place, 100 Mbit/s each, sending 0, 50 and 100 Mbit/s: spare 100/50/0.
        var a = Mirror("a", 51.5, -0.1) with { CapacityMbps = 100, RateBps = 0 };
        var b = Mirror("b", 51.5, -0.1) with { CapacityMbps = 100, RateBps = 50 * 125_000 };
        var c = Mirror("c", 51.5, -0.1) with { CapacityMbps = 100, RateBps = 100 * 125_000 };
        var snapshot = Snapshot([a, b, c]);
        var selector = Selector(seed: 12345);
        var counts = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0, ["c"] = 0 };
        const int n = 10_000;
        for (var i = 0; i < n; i++)
            counts[Pick(selector, snapshot, London)[0]]++;
        Assert.Equal(0, counts["c"]);
        // p(a) = 2/3; five standard deviations of a binomial share is ±0.024 at n = 10,000.
        var share = counts["a"] / (double)n;
        var sigma = Math.Sqrt(2.0 / 3 * (1.0 / 3) / n);
        Assert.InRange(share, 2.0 / 3 - 5 * sigma, 2.0 / 3 + 5 * sigma);
    }

    [Fact]
    public void Spill_over_reaches_near_mirrors_but_not_far_ones()
    {
        // London and Paris (344 km) share London's load; New York never gets the 302, only a Link.
        var snapshot = Snapshot([Lon with { CapacityMbps = 100 }, Par with { CapacityMbps = 100 }, Nyc]);
        var selector = Selector(seed: 7, nearKm: 400);
        var first = new Dictionary<string, int> { ["lon"] = 0, ["par"] = 0, ["nyc"] = 0 };
        for (var i = 0; i < 2000; i++)
            first[Pick(selector, snapshot, London)[0]]++;
        Assert.Equal(0, first["nyc"]);
        Assert.InRange(first["lon"], 800, 1200);
        Assert.InRange(first["par"], 800, 1200);
    }

    [Fact]
    public void A_large_near_set_spreads_over_every_member()
    {
        // More near mirrors than the selector collects on its fast path.
        var mirrors = Enumerable.Range(0, 100).Select(i => Mirror($"m{i:D3}", 51.5, -0.1) with { CapacityMbps = 100 }).ToArray();
        var snapshot = Snapshot(mirrors);
        var selector = Selector(seed: 5);
        var hits = new Dictionary<string, int>();
        for (var i = 0; i < 20_000; i++)
        {
            var id = Pick(selector, snapshot, London)[0];
            hits[id] = hits.GetValueOrDefault(id) + 1;
        }
        Assert.Equal(100, hits.Count);
        Assert.All(hits.Values, h => Assert.InRange(h, 120, 280));
    }

    [Fact]
    public void Weight_scales_the_lottery()
    {
        var a = Mirror("a", 51.5, -0.1) with { CapacityMbps = 100, Weight = 300 };
        var b = Mirror("b", 51.5, -0.1) with { CapacityMbps = 100, Weight = 100 };
        var snapshot = Snapshot([a, b]);
        var selector = Selector(seed: 99);
        var hitsA = 0;
        for (var i = 0; i < 4000; i++)
            hitsA += Pick(selector, snapshot, London)[0] == "a" ? 1 : 0;
        Assert.InRange(hitsA, 2800, 3200);
    }

    [Fact]
    public void Alternates_are_distinct_and_capped()
    {
        var snapshot = Snapshot([Lon, Par, Fra, Nyc, Tyo]);
        var picks = Pick(Selector(), snapshot, London, max: 3);
        Assert.Equal(3, picks.Length);
        Assert.Equal(3, picks.Distinct().Count());
    }

    [Fact]
    public void Explain_agrees_with_select()
    {
        var snapshot = Snapshot([Lon with { CapacityMbps = 100 }, Par with { CapacityMbps = 300 }, Fra with { Draining = true }, Nyc]);
        var selector = Selector(nearKm: 400);
        var verdicts = selector.Explain(snapshot, snapshot.Entry("noobs/a.zip"), London, false);
        Assert.Equal(["lon", "par", "nyc", "fra"], verdicts.Select(v => v.Mirror.Record.Id));
        Assert.Equal([true, true, false], verdicts.Take(3).Select(v => v.Near));
        Assert.Equal(0.25, verdicts[0].Chance, 3);
        Assert.Equal(0.75, verdicts[1].Chance, 3);
        Assert.Equal(Exclusion.Draining, verdicts[3].Exclusion);
        Assert.InRange(verdicts[1].DistanceKm, 330, 350);
        for (var i = 0; i < 200; i++)
            Assert.Contains(Pick(selector, snapshot, London)[0], new[] { "lon", "par" });
    }

    [Fact]
    public void Selection_allocates_nothing()
    {
        var mirrors = Enumerable.Range(0, 1000).Select(i => Mirror($"m{i}", -60 + i % 120, -180 + i * 7 % 360)).ToArray();
        var snapshot = Snapshot(mirrors);
        var selector = Selector();
        var file = snapshot.Entry("noobs/a.zip");
        Span<int> picks = stackalloc int[5];
        selector.Select(snapshot, file, London, false, picks);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var total = 0;
        for (var i = 0; i < 1000; i++)
            total += selector.Select(snapshot, file, London, false, picks);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(5000, total);
        Assert.Equal(0, allocated);
    }
}
