using Downloads.Contracts.Manifests;
using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;
using Microsoft.Extensions.Time.Testing;
using static Downloads.Redirector.Tests.Routing;

namespace Downloads.Redirector.Tests.Selection;

/// <summary>
/// The redirector's own redirects since a mirror's last report count against its spare bandwidth
/// (<see cref="AssignedLoad"/>): rounds of the mirror table are simulated by building snapshots in turn
/// with a fake clock, a "report" is a record whose reported state changed.
/// </summary>
public class OwnRedirectsTests
{
    private const string Big = "os/big.img";
    private const string Empty = "os/empty.img";
    private const double Mbit = 125_000;

    // Three mirrors in one spot near London, 100 Mbit/s each and idle: equal spare, equal chance.
    private static readonly MirrorRecord[] Three =
    [
        Mirror("a", 51.5, -0.1) with { CapacityMbps = 100 },
        Mirror("b", 51.5, -0.1) with { CapacityMbps = 100 },
        Mirror("c", 51.5, -0.1) with { CapacityMbps = 100 },
    ];

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-26T03:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly CounterRegistry _counters = new();
    private readonly ManifestIndex _index;

    public OwnRedirectsTests() =>
        _index = ManifestIndex.Build(Manifest(10, File(Big) with { Size = 4_000_000_000 }, File(Empty) with { Size = 0 }), _counters);

    /// <summary>One table round: a snapshot built from <paramref name="records"/> after the previous one, <paramref name="seconds"/> later.</summary>
    private RoutingSnapshot Round(IReadOnlyList<MirrorRecord> records, RedirectorOptions options, RoutingSnapshot? previous, double seconds = 2)
    {
        _time.Advance(TimeSpan.FromSeconds(seconds));
        var now = _time.GetUtcNow();
        return SnapshotBuilder.Build(_index, records, options, _counters, now, now, previous, now);
    }

    private static string Pick(MirrorSelector selector, RoutingSnapshot snapshot, string path = Big)
    {
        Span<int> picks = stackalloc int[3];
        var n = selector.Select(snapshot, snapshot.Entry(path), London, https: false, picks);
        return n == 0 ? "" : snapshot.Mirrors[picks[0]].Record.Id;
    }

    private static MirrorEntry EntryOf(RoutingSnapshot snapshot, string id) => snapshot.Mirrors.Single(m => m.Record.Id == id);

    private static double ChanceOf(MirrorSelector selector, RoutingSnapshot snapshot, string id) =>
        selector.Explain(snapshot, snapshot.Entry(Big), London, https: false).Single(v => v.Mirror.Record.Id == id).Chance;

    private static Exclusion CheckOf(RoutingSnapshot snapshot, string id) =>
        Eligibility.Check(snapshot, EntryOf(snapshot, id), snapshot.Entry(Big), London, https: false);

    /// <summary>A new report: the mirror's counters moved.</summary>
    private static MirrorRecord[] Reported(IReadOnlyList<MirrorRecord> records, double rateBps = 0) =>
        [.. records.Select(r => r with { BytesServed = r.BytesServed + 1, RateBps = rateBps })];

    [Fact]
    public void A_redirect_adds_the_assumed_client_rate_bounded_by_size_over_the_minimum_transfer_time()
    {
        var selector = new MirrorSelector(new RedirectorOptions { AssumedClientMbps = 50, AssumedMinTransferSeconds = 2 }, new Random(1));
        Assert.Equal(50 * 125_000, selector.AssumedBps(4_000_000_000));
        Assert.Equal(500_000, selector.AssumedBps(1_000_000)); // 1 MB spread over 2 s
        Assert.Equal(0, selector.AssumedBps(0));
    }

    [Fact]
    public void Redirects_since_the_last_report_lower_a_mirrors_chance_accordingly()
    {
        // Each redirect is taken to add 10 Mbit/s: a tenth of a mirror's spare.
        var options = new RedirectorOptions { AccountOwnRedirects = true, AssumedClientMbps = 10 };
        var snapshot = Round(Three, options, previous: null);
        var selector = new MirrorSelector(options, new Random(7));
        Assert.Equal(1.0 / 3, ChanceOf(selector, snapshot, "a"), 6);

        var sent = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0, ["c"] = 0 };
        for (var i = 0; i < 12; i++)
            sent[Pick(selector, snapshot)]++;
        Assert.Equal(12, sent.Values.Sum());

        // Each mirror's spare is now (100 − 10 n) Mbit/s, and the chances follow it exactly.
        var spare = sent.ToDictionary(kv => kv.Key, kv => 100.0 - 10 * kv.Value);
        var total = spare.Values.Sum();
        foreach (var (id, n) in sent)
        {
            Assert.Equal(n * 10 * Mbit, EntryOf(snapshot, id).Assigned.Bps);
            Assert.Equal(spare[id] / total, ChanceOf(selector, snapshot, id), 6);
        }

        // The draw itself follows the lowered chances: sample with an empty file, which adds no load.
        const int draws = 20_000;
        var drawn = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0, ["c"] = 0 };
        for (var i = 0; i < draws; i++)
            drawn[Pick(selector, snapshot, Empty)]++;
        foreach (var id in drawn.Keys)
        {
            var p = spare[id] / total;
            var sigma = Math.Sqrt(p * (1 - p) / draws);
            Assert.InRange(drawn[id] / (double)draws, p - 5 * sigma, p + 5 * sigma);
        }
        Assert.Equal(sent["a"] * 10 * Mbit, EntryOf(snapshot, "a").Assigned.Bps);
    }

    [Fact]
    public void Redirects_to_one_mirror_only_lower_its_chance_and_raise_the_others()
    {
        var options = new RedirectorOptions { AccountOwnRedirects = true, AssumedClientMbps = 10 };
        // "a" is nearest alone at first (b and c are out of the near set), so it takes every redirect.
        var records = new[] { Three[0], Three[1] with { Latitude = 40, Longitude = -74 }, Three[2] with { Latitude = 40, Longitude = -74 } };
        var snapshot = Round(records, options, previous: null);
        var selector = new MirrorSelector(options, new Random(3));
        for (var i = 0; i < 4; i++)
            Assert.Equal("a", Pick(selector, snapshot));

        // Next round the three are equally near (b and c moved) and "a" has not reported: 60 of 100 Mbit/s left.
        snapshot = Round(Three, options, snapshot);
        Assert.Equal(60.0 / 260, ChanceOf(selector, snapshot, "a"), 6);
        Assert.Equal(100.0 / 260, ChanceOf(selector, snapshot, "b"), 6);
    }

    [Fact]
    public void A_mirror_whose_spare_our_redirects_took_is_full_until_its_next_report()
    {
        // One redirect = 100 Mbit/s = a whole mirror's spare.
        var options = new RedirectorOptions { AccountOwnRedirects = true, AssumedClientMbps = 100 };
        var snapshot = Round(Three, options, previous: null);
        var selector = new MirrorSelector(options, new Random(5));

        var first = Pick(selector, snapshot);
        Assert.Equal(Exclusion.Full, CheckOf(snapshot, first));
        Assert.Equal(0, ChanceOf(selector, snapshot, first));
        // The other two take the next two redirects, one each.
        var next = new[] { Pick(selector, snapshot), Pick(selector, snapshot) };
        Assert.Equal(["a", "b", "c"], new[] { first, next[0], next[1] }.Order().ToArray());

        // A round without a report changes nothing (and tables are reused as they were).
        snapshot = Round(Three, options, snapshot);
        Assert.All(Three, m => Assert.Equal(Exclusion.Full, CheckOf(snapshot, m.Id)));

        // The next report includes those transfers: the estimate goes, the reported rate rules again.
        snapshot = Round(Reported(Three, rateBps: 40 * Mbit), options, snapshot);
        Assert.All(Three, m => Assert.Equal(0, EntryOf(snapshot, m.Id).Assigned.Bps));
        Assert.All(Three, m => Assert.Equal(Exclusion.None, CheckOf(snapshot, m.Id)));
        Assert.NotEqual("", Pick(selector, snapshot));
    }

    [Fact]
    public void When_our_estimate_fills_every_near_mirror_the_reported_spare_decides_rather_than_the_origin()
    {
        var options = new RedirectorOptions { AccountOwnRedirects = true, AssumedClientMbps = 100 };
        var roomy = Three[0] with { CapacityMbps = 100, RateBps = 0 };
        var busy = Three[1] with { CapacityMbps = 100, RateBps = 90 * Mbit };
        var snapshot = Round([roomy, busy], options, previous: null);
        var selector = new MirrorSelector(options, new Random(5));
        Pick(selector, snapshot);
        Pick(selector, snapshot);
        Assert.Equal(Exclusion.Full, CheckOf(snapshot, "a"));
        Assert.Equal(Exclusion.Full, CheckOf(snapshot, "b"));
        // Both full by our estimate: drawn on the reported spare (10 : 1), never none.
        var counts = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0 };
        for (var i = 0; i < 1100; i++)
            counts[Pick(selector, snapshot)]++;
        Assert.InRange(counts["a"], 900, 1050);
        Assert.InRange(counts["b"], 50, 200);
    }

    [Fact]
    public void When_our_redirects_fill_every_near_mirror_the_nearest_ones_with_room_take_the_spill()
    {
        // a and b in London are near; c in New York and d in Sydney are not. One redirect fills a mirror.
        var options = new RedirectorOptions { AccountOwnRedirects = true, AssumedClientMbps = 100 };
        MirrorRecord[] records =
        [
            Three[0], Three[1],
            Three[2] with { Latitude = 40.7, Longitude = -74 },
            Mirror("d", -33.9, 151.2) with { CapacityMbps = 100 },
        ];
        var snapshot = Round(records, options, previous: null);
        var selector = new MirrorSelector(options, new Random(9));
        Assert.Equal(["a", "b"], new[] { Pick(selector, snapshot), Pick(selector, snapshot) }.Order().ToArray());
        var london = selector.Explain(snapshot, snapshot.Entry(Big), London, https: false);
        Assert.Equal(Exclusion.Full, london.Single(v => v.Mirror.Record.Id == "a").Exclusion);

        // Both London mirrors are full by our estimate: the next ring out with room (New York) is next,
        // then Sydney, and the mirror list shows the same target the draw picks.
        Assert.Equal(1.0, london.Single(v => v.Mirror.Record.Id == "c").Chance, 6);
        Assert.Equal("c", Pick(selector, snapshot));
        Assert.Equal("d", Pick(selector, snapshot));

        // Everything full by our estimate: the reported spare decides among the near ones again (never the
        // origin), and the mirror list says so instead of showing no candidate.
        var full = selector.Explain(snapshot, snapshot.Entry(Big), London, https: false);
        Assert.Equal(["a", "b"], full.Where(v => v.Near).Select(v => v.Mirror.Record.Id).Order().ToArray());
        Assert.All(full.Where(v => v.Near), v => Assert.Equal(0.5, v.Chance, 6));
        Assert.Equal(Exclusion.None, full.Single(v => v.Mirror.Record.Id == "c").Exclusion);
        var last = Pick(selector, snapshot);
        Assert.Contains(last, new[] { "a", "b" });
    }

    [Fact]
    public void A_report_in_the_very_next_round_keeps_the_redirects_of_that_round()
    {
        // The report may have been taken before those redirects reached the mirror: they stay counted one more round.
        var options = new RedirectorOptions { AccountOwnRedirects = true, AssumedClientMbps = 100 };
        var snapshot = Round(Three, options, previous: null);
        var selector = new MirrorSelector(options, new Random(5));
        var first = Pick(selector, snapshot);

        snapshot = Round(Reported(Three), options, snapshot);
        Assert.Equal(100 * Mbit, EntryOf(snapshot, first).Assigned.Bps);
        Assert.Equal(Exclusion.Full, CheckOf(snapshot, first));

        snapshot = Round(Reported(Reported(Three)), options, snapshot);
        Assert.Equal(0, EntryOf(snapshot, first).Assigned.Bps);
        Assert.Equal(Exclusion.None, CheckOf(snapshot, first));
    }

    [Fact]
    public void Without_any_report_the_estimate_is_dropped_after_the_maximum_age()
    {
        var options = new RedirectorOptions { AccountOwnRedirects = true, AssumedClientMbps = 100, OwnRedirectsMaxAgeSeconds = 10 };
        var snapshot = Round(Three, options, previous: null);
        var selector = new MirrorSelector(options, new Random(5));
        var first = Pick(selector, snapshot);
        for (var round = 0; round < 4; round++)
        {
            snapshot = Round(Three, options, snapshot, seconds: 2);
            Assert.Equal(Exclusion.Full, CheckOf(snapshot, first));
        }
        snapshot = Round(Three, options, snapshot, seconds: 3);
        Assert.Equal(Exclusion.None, CheckOf(snapshot, first));
    }

    [Fact]
    public void Switched_off_the_reported_spare_alone_counts()
    {
        var options = new RedirectorOptions { AssumedClientMbps = 100, AccountOwnRedirects = false };
        var snapshot = Round(Three, options, previous: null);
        var selector = new MirrorSelector(options, new Random(5));
        for (var i = 0; i < 10; i++)
            Assert.NotEqual("", Pick(selector, snapshot));
        Assert.All(Three, m => Assert.Equal(0, EntryOf(snapshot, m.Id).Assigned.Bps));
    }
}
