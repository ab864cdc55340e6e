using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;
using MathNet.Numerics.Distributions;
using static Downloads.Redirector.Tests.Routing;

namespace Downloads.Redirector.Tests.Selection;

/// <summary>
/// The mirror list's chances (<see cref="MirrorSelector.Explain"/>) are the draw's (<see cref="MirrorSelector.Select"/>),
/// on seeded random tables: mirrors at random distances (some at the client's own spot, some far), random
/// fullness, own-redirect estimates, quotas, ASNs, scopes, sets and serials. Every seed gives the same tables
/// and draws, so each assertion either always holds or always fails.
/// </summary>
public class ExplainMatchesSelectTests
{
    private const string Path = "noobs/a.zip";
    private const long ClientAsn = 64500;

    /// <summary>Tables in the frequency test, draws per table, and the significance level of each table's chi-square test.</summary>
    private const int Tables = 60;
    private const int Draws = 4000;
    private const double P = 0.001;

    private static RedirectorOptions Options(bool account) =>
        new() { AccountOwnRedirects = account, AssumedClientMbps = 50, AssumedMinTransferSeconds = 1 };

    /// <summary>
    /// A random table of 1–24 mirrors around <paramref name="client"/> (one in ten: 80–119, so that the near set can
    /// outgrow what the draw collects in one scan), with our own redirects already counted against some.
    /// </summary>
    private static RoutingSnapshot RandomTable(Random random, ClientLocation client, RedirectorOptions options)
    {
        var count = random.Next(10) == 0 ? 80 + random.Next(40) : random.Next(1, 25);
        var records = new MirrorRecord[count];
        for (var i = 0; i < count; i++)
        {
            // Distance: the client's own spot, a few hundred km, a country or two away, or another continent.
            var (lat, lon) = random.Next(5) switch
            {
                0 => (client.Latitude, client.Longitude),
                1 => (client.Latitude + random.NextDouble() * 5 - 2.5, client.Longitude + random.NextDouble() * 5 - 2.5),
                2 => (client.Latitude + random.NextDouble() * 20 - 10, client.Longitude + random.NextDouble() * 20 - 10),
                3 => (random.NextDouble() * 140 - 60, random.NextDouble() * 360 - 180),
                _ => (client.Latitude + random.NextDouble() * 1 - 0.5, client.Longitude + random.NextDouble() * 1 - 0.5),
            };
            var capacity = 100 + random.Next(900);
            var quota = random.Next(4) == 0 ? 1_000_000_000L : 0;
            records[i] = Mirror($"m{i:D3}", lat, lon, random.Next(4) == 0 ? "FR" : "GB") with
            {
                CapacityMbps = capacity,
                // Fullness as reported: idle to a little over capacity (those are out: full).
                RateBps = Bandwidth.BytesPerSecond(capacity) * random.NextDouble() * 1.1,
                Weight = random.Next(6) == 0 ? 0 : 50 + random.Next(150),
                QuotaBytes = quota,
                MonthBytes = quota > 0 && random.Next(2) == 0 ? quota : quota / 2,
                Asn = random.Next(5) == 0 ? ClientAsn : 64_501 + random.Next(3),
                Serial = random.Next(8) == 0 ? 3 : 10,
                Sets = random.Next(8) == 0 ? ["os"] : [],
                Scope = random.Next(8) == 0 ? MirrorScope.Country : MirrorScope.World,
                HttpsUrl = random.Next(8) == 0 ? "" : $"https://m{i}.example",
                Alive = random.Next(12) != 0,
                Healthy = random.Next(12) != 0,
            };
        }
        var snapshot = Snapshot(records, options: options);
        // Our own redirects since the last report: none, some, or more than the mirror's spare (full by the estimate).
        foreach (var mirror in snapshot.Mirrors)
        {
            if (random.Next(5) < 2 && mirror.SpareBps > 0)
                mirror.Assigned.Add((long)(mirror.SpareBps * random.NextDouble() * 1.3));
        }
        return snapshot;
    }

    private static ClientLocation RandomClient(Random random) =>
        new(35 + random.NextDouble() * 25, -10 + random.NextDouble() * 30, random.Next(3) == 0 ? "FR" : "GB", "EU",
            random.Next(3) == 0 ? 0 : ClientAsn);

    private static int Pick(MirrorSelector selector, RoutingSnapshot snapshot, ClientLocation client, bool https)
    {
        Span<int> picks = stackalloc int[3];
        return selector.Select(snapshot, snapshot.Entry(Path), client, https, picks) == 0 ? -1 : picks[0];
    }

    private static Dictionary<string, MirrorVerdict> Verdicts(MirrorSelector selector, RoutingSnapshot snapshot, ClientLocation client, bool https) =>
        selector.Explain(snapshot, snapshot.Entry(Path), client, https).ToDictionary(v => v.Mirror.Record.Id);

    [Fact]
    public void Every_mirror_select_picks_has_a_chance_in_explain_while_our_redirects_fill_the_mirrors()
    {
        // Accounting on: each pick adds to its mirror's estimate, so near mirrors fill and the lottery moves out.
        var options = Options(account: true);
        var random = new Random(1604);
        var picked = 0;
        for (var table = 0; table < 200; table++)
        {
            var client = RandomClient(random);
            var https = random.Next(2) == 0;
            var snapshot = RandomTable(random, client, options);
            var selector = new MirrorSelector(options, new Random(table));
            for (var draw = 0; draw < 40; draw++)
            {
                var verdicts = Verdicts(selector, snapshot, client, https);
                var chances = verdicts.Values.Where(v => v.Chance > 0).ToList();
                var pick = Pick(selector, snapshot, client, https);
                if (pick < 0)
                {
                    Assert.DoesNotContain(verdicts.Values, v => v.Exclusion == Exclusion.None);
                    break;
                }
                var id = snapshot.Mirrors[pick].Record.Id;
                Assert.True(verdicts[id].Chance > 0, $"table {table}, draw {draw}: Select picked {id}, which Explain gives no chance ({verdicts[id].Exclusion})");
                Assert.Equal(1.0, chances.Sum(v => v.Chance), 9);
                Assert.All(chances, v => Assert.True(v.Exclusion == Exclusion.None && v.Near, $"{v.Mirror.Record.Id} has a chance but is {v.Exclusion}"));
                picked++;
            }
        }
        Assert.True(picked > 4000, $"only {picked} picks: the tables are too empty to test anything");
    }

    [Fact]
    public void The_chances_explain_shows_are_the_frequencies_select_draws()
    {
        // Accounting off, so every draw of a table sees the same estimate: the frequencies must match the chances.
        var options = Options(account: false);
        var random = new Random(2026);
        var tested = 0;
        for (var table = 0; table < Tables; table++)
        {
            var client = RandomClient(random);
            var https = random.Next(2) == 0;
            var snapshot = RandomTable(random, client, options);
            var selector = new MirrorSelector(options, new Random(table));
            var verdicts = Verdicts(selector, snapshot, client, https);
            var counts = new Dictionary<string, int>();
            for (var draw = 0; draw < Draws; draw++)
            {
                var pick = Pick(selector, snapshot, client, https);
                if (pick < 0)
                    break;
                var id = snapshot.Mirrors[pick].Record.Id;
                counts[id] = counts.GetValueOrDefault(id) + 1;
            }
            if (counts.Count == 0)
            {
                Assert.DoesNotContain(verdicts.Values, v => v.Chance > 0);
                continue;
            }
            Assert.All(counts.Keys, id => Assert.True(verdicts[id].Chance > 0, $"table {table}: {id} drawn {counts[id]} times with no chance"));
            var statistic = ChiSquare(verdicts.Values.Where(v => v.Chance > 0).Select(v => (v.Chance * Draws, counts.GetValueOrDefault(v.Mirror.Record.Id))), out var df);
            if (df == 0)
                continue;
            var critical = ChiSquared.InvCDF(df, 1 - P);
            Assert.True(statistic < critical, $"table {table}: chi-square {statistic:0.0} ≥ {critical:0.0} (df {df}); chances {Describe(verdicts, counts)}");
            tested++;
        }
        Assert.True(tested >= Tables / 3, $"only {tested} tables had two or more mirrors in the lottery");
    }

    /// <summary>Pearson's statistic; bins expected fewer than 5 times are pooled, as the test requires.</summary>
    private static double ChiSquare(IEnumerable<(double Expected, int Observed)> bins, out int df)
    {
        var pooled = new List<(double Expected, int Observed)>();
        (double Expected, int Observed) small = (0, 0);
        foreach (var bin in bins)
        {
            if (bin.Expected >= 5)
                pooled.Add(bin);
            else
                small = (small.Expected + bin.Expected, small.Observed + bin.Observed);
        }
        if (small.Expected > 0)
            pooled.Add(small);
        df = pooled.Count - 1;
        return pooled.Sum(b => (b.Observed - b.Expected) * (b.Observed - b.Expected) / b.Expected);
    }

    private static string Describe(Dictionary<string, MirrorVerdict> verdicts, Dictionary<string, int> counts) =>
        string.Join(", ", verdicts.Values.Where(v => v.Chance > 0).Select(v => $"{v.Mirror.Record.Id} {v.Chance:0.000}/{counts.GetValueOrDefault(v.Mirror.Record.Id) / (double)Draws:0.000}"));

    [Fact]
    public void A_nearest_mirror_our_redirects_filled_hands_its_lottery_to_the_nearest_with_room_and_its_near_ones()
    {
        // 0 km (full by our own redirects), 250 km and 500 km from London. With room, the 0 km mirror's near
        // set reaches 300 km (NearDistanceKm): the 250 km one alone. Full, it is no candidate (DESIGN.md: a
        // candidate has bandwidth left), so the nearest candidate is the 250 km one, whose near set reaches
        // 550 km: both others share the lottery by spare bandwidth, in Select and in the mirror list alike.
        var options = Options(account: false);
        const double kmPerDegree = Math.PI * 6371.0088 / 180;
        MirrorRecord[] records =
        [
            Mirror("a0", London.Latitude, London.Longitude) with { CapacityMbps = 100 },
            Mirror("b250", London.Latitude + 250 / kmPerDegree, London.Longitude) with { CapacityMbps = 100 },
            Mirror("c500", London.Latitude + 500 / kmPerDegree, London.Longitude) with { CapacityMbps = 300 },
        ];
        var snapshot = Snapshot(records, options: options);
        snapshot.Mirrors[0].Assigned.Add((long)Bandwidth.BytesPerSecond(100));
        var selector = new MirrorSelector(options, new Random(250));

        var verdicts = Verdicts(selector, snapshot, London, https: false);
        Assert.Equal(Exclusion.Full, verdicts["a0"].Exclusion);
        Assert.Equal(0.25, verdicts["b250"].Chance, 9);
        Assert.Equal(0.75, verdicts["c500"].Chance, 9);
        Assert.InRange(verdicts["b250"].DistanceKm, 249, 251);
        Assert.InRange(verdicts["c500"].DistanceKm, 499, 501);

        var counts = new Dictionary<string, int> { ["a0"] = 0, ["b250"] = 0, ["c500"] = 0 };
        for (var i = 0; i < 4000; i++)
            counts[snapshot.Mirrors[Pick(selector, snapshot, London, https: false)].Record.Id]++;
        Assert.Equal(0, counts["a0"]);
        Assert.InRange(counts["b250"], 900, 1100);
        Assert.InRange(counts["c500"], 2900, 3100);

        // With room again (its next report), the 0 km mirror's own near set rules: the 500 km one is out of it.
        var fresh = Snapshot(records, options: options);
        var again = Verdicts(selector, fresh, London, https: false);
        Assert.Equal(0.5, again["a0"].Chance, 9);
        Assert.Equal(0.5, again["b250"].Chance, 9);
        Assert.False(again["c500"].Near);
    }
}
