using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;
using static Downloads.Redirector.Tests.Routing;

namespace Downloads.Redirector.Tests.Snapshots;

/// <summary>
/// The redirect path keys only the cells near a client (<see cref="MirrorCells"/>); these tests hold it to
/// the answer a pass over every mirror gives (<see cref="MirrorSelector.Explain(RoutingSnapshot, FileEntry, in ClientLocation, bool)"/>
/// ranks all of them) on clustered, sparse and odd tables.
/// </summary>
public class MirrorCellsTests
{
    [Fact]
    public void A_cell_bounds_the_nearness_of_every_mirror_it_holds()
    {
        var random = new Random(11);
        var mirrors = Clustered(random, 3000);
        var snapshot = Snapshot(mirrors);
        var table = snapshot.Http;
        var cells = table.Cells;
        Assert.InRange(cells.Count, 20, 6 * MirrorCells.MaxGrid * MirrorCells.MaxGrid);
        // Padding stays a small share of the rows.
        Assert.InRange(table.Serial.Length, table.Count, table.Count * 3 / 2);
        var checkedRows = 0;
        for (var trial = 0; trial < 200; trial++)
        {
            var (cx, cy, cz) = SnapshotBuilder.UnitVector(random.NextDouble() * 180 - 90, random.NextDouble() * 360 - 180);
            for (var c = 0; c < cells.Count; c++)
            {
                var bound = cells.UpperBound(c, cx, cy, cz);
                for (var row = cells.Start[c]; row < cells.End[c]; row++)
                {
                    if (table.Entry[row] < 0)
                        continue;
                    Assert.True(table.X[row] * cx + table.Y[row] * cy + table.Z[row] * cz <= bound + 1e-12, $"cell {c} row {row}");
                    checkedRows++;
                }
            }
        }
        Assert.True(checkedRows >= 200 * (table.Count - table.Cells.AlwaysEnd));
        // Every row is laid out exactly once.
        Assert.Equal(table.Count, table.Entry.Count(e => e >= 0));
        Assert.Equal(table.Count, table.Entry.Where(e => e >= 0).Distinct().Count());
    }

    [Fact]
    public void Reach_keeps_every_cell_whose_bound_meets_the_floor_and_prunes_the_rest()
    {
        var random = new Random(12);
        var table = Snapshot(Clustered(random, 3000)).Http;
        var cells = table.Cells;
        var dots = new double[cells.Padded];
        var (kept, pruned) = (0, 0);
        for (var trial = 0; trial < 300; trial++)
        {
            var (cx, cy, cz) = SnapshotBuilder.UnitVector(random.NextDouble() * 180 - 90, random.NextDouble() * 360 - 180);
            cells.Dots(cx, cy, cz, dots);
            var floor = trial % 10 == 0 ? double.NegativeInfinity : random.NextDouble() * 2 - 1;
            var reach = new MirrorCells.Reach(floor);
            for (var c = 0; c < cells.Count; c++)
            {
                var bound = cells.UpperBound(c, cx, cy, cz);
                var includes = reach.Includes(cells, c, dots[c]);
                if (bound >= floor + 1e-9)
                    Assert.True(includes, $"cell {c}: bound {bound} meets floor {floor} but is left out");
                else if (bound < floor - 1e-9)
                    Assert.False(includes, $"cell {c}: bound {bound} is below floor {floor} but is kept");
                if (includes) kept++; else pruned++;
            }
            for (var c = 0; c < cells.Padded; c += System.Numerics.Vector<double>.Count)
            {
                var any = false;
                for (var j = c; j < c + System.Numerics.Vector<double>.Count; j++)
                    any |= reach.Includes(cells, j, dots[j]);
                Assert.Equal(any, reach.IncludesAny(cells, c, dots));
            }
            // Padding cells and keyed ones (−∞) are never reached.
            for (var c = cells.Count; c < cells.Padded; c++)
                Assert.False(reach.Includes(cells, c, dots[c]));
            Assert.False(reach.Includes(cells, 0, double.NegativeInfinity));
        }
        Assert.True(kept > 0 && pruned > 0, $"kept {kept}, pruned {pruned}");
    }

    [Theory]
    [InlineData(1, 3000, false)]
    [InlineData(2, 400, false)]
    [InlineData(3, 60, false)]
    [InlineData(4, 3000, true)]
    public void Select_over_the_near_cells_picks_as_a_pass_over_every_mirror_would(int seed, int count, bool https)
    {
        var random = new Random(seed);
        var mirrors = Clustered(random, count);
        var snapshot = Snapshot(mirrors);
        var selector = new MirrorSelector(new RedirectorOptions { AccountOwnRedirects = false }, new Random(seed));
        var file = snapshot.Entry("noobs/a.zip");
        Span<int> picks = stackalloc int[5];
        var fromCells = 0;
        for (var trial = 0; trial < 1500; trial++)
        {
            var client = Client(random, mirrors);
            var n = selector.Select(snapshot, file, client, https, picks);
            var verdicts = selector.Explain(snapshot, file, client, https);
            var candidates = verdicts.Where(v => v.Exclusion == Exclusion.None).ToList();
            Assert.Equal(Math.Min(5, candidates.Count), n);
            if (n == 0)
                continue;
            var chosen = snapshot.Mirrors[picks[0]].Record.Id;
            var near = candidates.Where(v => v.Near).Select(v => v.Mirror.Record.Id).ToHashSet();
            Assert.True(near.Contains(chosen), $"trial {trial}: {chosen} is not near {client}");
            // The alternates are the best-ranked of the rest: compare keys, so mirrors at one spot may swap.
            var expected = candidates.Where(v => v.Mirror.Record.Id != chosen).Take(n - 1).Select(v => v.Key).ToArray();
            var keyOf = candidates.ToDictionary(v => v.Mirror.Record.Id, v => v.Key);
            for (var i = 1; i < n; i++)
                Assert.Equal(expected[i - 1], keyOf[snapshot.Mirrors[picks[i]].Record.Id], 9);
            if (client.Asn == 0)
                fromCells++;
        }
        Assert.True(fromCells > 1000);
    }

    [Theory]
    [InlineData(5, 3000)]
    [InlineData(6, 600)]
    public void When_our_own_redirects_filled_the_near_mirrors_the_cells_pick_as_a_pass_over_every_mirror_would(int seed, int count)
    {
        // The near set full by our own estimate: the search widens to the nearest mirror with room (MirrorSelector.Widen)
        // instead of keying every row, and must land on the lottery and alternates Explain finds over every row.
        var random = new Random(seed);
        var mirrors = Clustered(random, count);
        var selector = new MirrorSelector(new RedirectorOptions(), new Random(seed));
        Span<int> picks = stackalloc int[5];
        var widened = 0;
        for (var trial = 0; trial < 120; trial++)
        {
            var snapshot = Snapshot(mirrors);
            var file = snapshot.Entry("noobs/a.zip");
            var client = Client(random, mirrors) with { Asn = 0 };
            var before = selector.Explain(snapshot, file, client, false).Where(v => v.Exclusion == Exclusion.None).ToList();
            // Fill the nearest candidates (a random number of them, up to all) by our own redirects.
            var full = random.Next(before.Count + 1);
            foreach (var v in before.Take(full))
                v.Mirror.Assigned.Add(long.MaxValue / 4);
            var lottery = selector.Explain(snapshot, file, client, false).Where(v => v.Near).Select(v => v.Mirror.Record.Id).ToHashSet();
            var n = selector.Select(snapshot, file, client, false, picks, account: false);
            Assert.Equal(Math.Min(5, before.Count), n);
            if (n == 0)
                continue;
            var chosen = snapshot.Mirrors[picks[0]].Record.Id;
            Assert.True(lottery.Contains(chosen), $"trial {trial} ({full} of {before.Count} full): {chosen} is not in the lottery");
            // The alternates rank by nearness alone, full or not.
            var expected = before.Where(v => v.Mirror.Record.Id != chosen).Take(n - 1).Select(v => v.Key).ToArray();
            var keyOf = before.ToDictionary(v => v.Mirror.Record.Id, v => v.Key);
            for (var i = 1; i < n; i++)
                Assert.Equal(expected[i - 1], keyOf[snapshot.Mirrors[picks[i]].Record.Id], 9);
            if (full > 0 && full < before.Count)
                widened++;
        }
        Assert.True(widened > 60, $"only {widened} trials with some near mirrors full and some with room");
    }

    /// <summary>Mirrors gathered around a few dozen cities, as real ones are, with every kind of oddity mixed in.</summary>
    private static MirrorRecord[] Clustered(Random random, int count)
    {
        var cities = Enumerable.Range(0, 40).Select(_ => (Lat: random.NextDouble() * 130 - 60, Lon: random.NextDouble() * 360 - 180)).ToArray();
        var mirrors = new MirrorRecord[count];
        for (var i = 0; i < count; i++)
        {
            var (lat, lon) = cities[random.Next(cities.Length)];
            var m = Mirror($"m{i:D5}", Math.Clamp(lat + Gauss(random) * 3, -90, 90), Wrap(lon + Gauss(random) * 4));
            m = (random.Next(40)) switch
            {
                0 => m with { Latitude = double.NaN, Longitude = double.NaN },
                1 => m with { Scope = MirrorScope.Country, Country = "GB" },
                2 => m with { Scope = MirrorScope.Continent, Continent = "EU" },
                3 => m with { Serial = 4 },
                4 => m with { Sets = ["os"] },
                5 => m with { HttpsUrl = "" },
                6 => m with { Latitude = 90, Longitude = 0 },
                7 => m with { Longitude = 180 },
                _ => m,
            };
            mirrors[i] = m with { Asn = random.Next(8) == 0 ? 64_500 + random.Next(50) : 0, CapacityMbps = 100 + random.Next(2000) };
        }
        return mirrors;
    }

    private static ClientLocation Client(Random random, MirrorRecord[] mirrors)
    {
        var roll = random.Next(10);
        if (roll == 0)
            return ClientLocation.Unknown;
        double lat, lon;
        if (roll < 6)
        {
            var m = mirrors[random.Next(mirrors.Length)];
            (lat, lon) = double.IsNaN(m.Latitude) ? (0.0, 0.0) : (Math.Clamp(m.Latitude + Gauss(random), -90, 90), Wrap(m.Longitude + Gauss(random)));
        }
        else
        {
            (lat, lon) = (Math.Asin(random.NextDouble() * 2 - 1) * 180 / Math.PI, random.NextDouble() * 360 - 180);
        }
        var asn = roll == 9 ? 64_500 + random.Next(50) : 0;
        return new ClientLocation(lat, lon, random.Next(2) == 0 ? "GB" : "US", random.Next(2) == 0 ? "EU" : "NA", asn);
    }

    private static double Gauss(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static double Wrap(double lon) => lon > 180 ? lon - 360 : lon < -180 ? lon + 360 : lon;
}
