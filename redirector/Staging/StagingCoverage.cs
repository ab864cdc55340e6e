using System.Globalization;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Contracts.Staging;
using StackExchange.Redis;

namespace Downloads.Redirector.Staging;

/// <summary>Coverage of one staged id in one region (continent).</summary>
/// <param name="Region">Continent code of the mirrors' approved records ("??" when unknown).</param>
/// <param name="Mirrors">Routable mirrors in the region.</param>
/// <param name="Holding">Of them, those that hold the id complete.</param>
/// <param name="CapacityGbps">Their capacity, Gbit/s.</param>
/// <param name="HoldingGbps">Capacity of the mirrors holding it.</param>
/// <param name="ExpectedGbps">The surge ops expect there, if given.</param>
/// <param name="Verdict"><c>go</c> when the holders' capacity covers the expected surge, <c>no-go</c> when not, <c>-</c> with no figure.</param>
public sealed record RegionCoverage(string Region, int Mirrors, int Holding, double CapacityGbps, double HoldingGbps, double? ExpectedGbps, string Verdict)
{
    /// <summary>Share of the region's mirrors holding it.</summary>
    public double MirrorShare => Mirrors == 0 ? 0 : (double)Holding / Mirrors;

    /// <summary>Share of the region's capacity holding it.</summary>
    public double CapacityShare => CapacityGbps <= 0 ? 0 : HoldingGbps / CapacityGbps;
}

/// <summary>Coverage of one staged id.</summary>
public sealed record StagedCoverage(string Id, IReadOnlyList<RegionCoverage> Regions);

/// <summary>
/// Ops' view of a coming release: per staged id (opaque; the names stay at the origin) and region, the share of routable
/// mirrors and of their capacity that already hold the ciphertext (each mirror reports its ids in its state hash,
/// <see cref="Keyspace.StateFields.Staged"/>), and a go/no-go against the surge ops expect per region.
/// </summary>
public static class StagingCoverage
{
    /// <summary>
    /// Reads the <see cref="Keyspace.StateFields.Staged"/> field of each routable mirror of <paramref name="mirrors"/> (the
    /// redirector's snapshot: no other mirror data is re-read) in one pipelined batch and computes the coverage.
    /// </summary>
    public static async Task<IReadOnlyList<StagedCoverage>> ReadAsync(IDatabaseAsync db, IEnumerable<MirrorRecord> mirrors, IReadOnlyDictionary<string, double> expectedGbps)
    {
        var routable = new List<MirrorRecord>();
        foreach (var m in mirrors)
        {
            if (m.Status == MirrorStatus.Approved && m.Enabled && !m.Draining && m.Alive)
                routable.Add(m);
        }
        var reads = new Task<RedisValue>[routable.Count];
        for (var i = 0; i < routable.Count; i++)
            reads[i] = db.HashGetAsync(Keyspace.MirrorState(routable[i].Id), Keyspace.StateFields.Staged);
        await Task.WhenAll(reads);
        var held = new List<(MirrorRecord Mirror, string Staged)>(routable.Count);
        for (var i = 0; i < routable.Count; i++)
        {
            var value = reads[i].Result;
            held.Add((routable[i], value.HasValue && value.Length() <= 4096 ? value.ToString() : ""));
        }
        return Compute(held, expectedGbps);
    }

    /// <summary>The coverage of the ids the given routable mirrors report.</summary>
    public static IReadOnlyList<StagedCoverage> Compute(IReadOnlyList<(MirrorRecord Mirror, string Staged)> mirrors, IReadOnlyDictionary<string, double> expectedGbps)
    {
        var ids = new SortedSet<string>(StringComparer.Ordinal);
        var sets = new HashSet<string>[mirrors.Count];
        for (var i = 0; i < mirrors.Count; i++)
        {
            sets[i] = new HashSet<string>(StringComparer.Ordinal);
            foreach (var id in mirrors[i].Staged.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                // Exact form only: a mirror's words are never echoed to ops unchecked.
                if (StagingDefaults.IsValidId(id))
                {
                    ids.Add(id);
                    sets[i].Add(id);
                }
            }
        }
        var regions = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (m, _) in mirrors)
            regions.Add(Region(m));
        var result = new List<StagedCoverage>(ids.Count);
        foreach (var id in ids)
        {
            var rows = new List<RegionCoverage>(regions.Count);
            foreach (var region in regions)
            {
                int total = 0, holding = 0;
                double capacity = 0, holdingCapacity = 0;
                for (var i = 0; i < mirrors.Count; i++)
                {
                    if (Region(mirrors[i].Mirror) != region)
                        continue;
                    var gbps = mirrors[i].Mirror.CapacityMbps / 1000;
                    total++;
                    capacity += gbps;
                    if (sets[i].Contains(id))
                    {
                        holding++;
                        holdingCapacity += gbps;
                    }
                }
                double? expected = expectedGbps.TryGetValue(region, out var e) ? e : null;
                var verdict = expected is null ? "-" : holdingCapacity >= expected ? "go" : "no-go";
                rows.Add(new RegionCoverage(region, total, holding, capacity, holdingCapacity, expected, verdict));
            }
            result.Add(new StagedCoverage(id, rows));
        }
        return result;
    }

    /// <summary>Parses <c>EU:40,NA:20</c> (or <c>EU=40</c>) into Gbit/s per region; null and a reason when malformed.</summary>
    public static Dictionary<string, double>? ParseExpected(string? text, out string? error)
    {
        error = null;
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var part in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var sep = part.IndexOfAny([':', '=']);
            if (sep is < 1 or > 8 || !double.TryParse(part.AsSpan(sep + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var gbps)
                || gbps < 0 || double.IsNaN(gbps) || double.IsInfinity(gbps) || !part[..sep].All(char.IsAsciiLetterUpper))
            {
                error = $"'{part}' is not REGION:GBPS (e.g. EU:40)";
                return null;
            }
            result[part[..sep]] = gbps;
        }
        return result;
    }

    private static string Region(MirrorRecord m) => string.IsNullOrEmpty(m.Continent) ? "??" : m.Continent;
}
