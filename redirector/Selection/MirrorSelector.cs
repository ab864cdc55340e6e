using System.Buffers;
using Downloads.Contracts.Geo;
using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Selection;

/// <summary>
/// The selection policy, all of it. A candidate is a mirror without a standing exclusion (approved,
/// enabled, not draining, alive, healthy, under quota, with spare bandwidth — see
/// <see cref="SnapshotBuilder.StandingExclusion"/>) that speaks the request's scheme, carries the
/// file's set, is synced at or past the file's changed-at serial, and serves the client's
/// country/continent if it is scoped. Candidates rank by same ASN first, then great-circle distance.
/// The target is drawn among the near ones (within <see cref="RedirectorOptions.NearFactor"/> or
/// <see cref="RedirectorOptions.NearDistanceKm"/> of the nearest) weighted by spare bandwidth × weight,
/// so a surge spills over smoothly instead of flattening the nearest host; the alternates are the
/// next best by rank.
/// </summary>
internal sealed class MirrorSelector
{
    /// <summary>Added to a same-ASN mirror's key: a dot product is at most 1, so these rank above every other.</summary>
    private const double AsnBonus = 4;

    private readonly Random _random;
    private readonly double _nearFactor;
    private readonly double _nearRadians;
    private readonly (double X, double Y, double Z) _default;

    public MirrorSelector(RedirectorOptions options, Random random)
    {
        _random = random;
        _nearFactor = options.NearFactor;
        _nearRadians = options.NearDistanceKm / GreatCircle.EarthRadiusKm;
        _default = SnapshotBuilder.UnitVector(options.DefaultLatitude, options.DefaultLongitude);
    }

    /// <summary>
    /// Writes the chosen mirror's index in <see cref="RoutingSnapshot.Mirrors"/> to <c>picks[0]</c> and
    /// the alternates after it; returns how many were written (0: no candidate). Allocates nothing.
    /// </summary>
    public int Select(RoutingSnapshot snapshot, FileEntry file, in ClientLocation client, bool https, Span<int> picks)
    {
        var points = https ? snapshot.HttpsPoints : snapshot.HttpPoints;
        if (points.Length == 0 || picks.IsEmpty)
            return 0;
        var (cx, cy, cz) = client.HasCoordinates ? SnapshotBuilder.UnitVector(client.Latitude, client.Longitude) : _default;
        var keys = ArrayPool<double>.Shared.Rent(points.Length);
        var positions = ArrayPool<int>.Shared.Rent(points.Length);
        try
        {
            // Pass 1: filter and key every mirror (a dot product ranks like the distance, without trigonometry).
            var asn = client.Asn;
            var setBit = file.SetBit;
            var changedAt = file.File.ChangedAt;
            var n = 0;
            var best = double.NegativeInfinity;
            for (var i = 0; i < points.Length; i++)
            {
                ref readonly var p = ref points[i];
                if (p.Serial < changedAt)
                    continue;
                if ((p.SetMask & setBit) == 0 && (setBit != 0 || !snapshot.Mirrors[p.Entry].Record.Carries(file.File.Set)))
                    continue;
                if (p.Scoped && !InScope(snapshot.Mirrors[p.Entry].Record, client))
                    continue;
                var key = p.X * cx + p.Y * cy + p.Z * cz;
                if (asn != 0 && p.Asn == asn)
                    key += AsnBonus;
                keys[n] = key;
                positions[n] = i;
                n++;
                if (key > best)
                    best = key;
            }
            if (n == 0)
                return 0;
            if (n == 1)
            {
                picks[0] = points[positions[0]].Entry;
                return 1;
            }

            // Pass 2: the lottery among the near ones, weighted by spare bandwidth × weight.
            var threshold = NearThreshold(best);
            double total = 0;
            for (var j = 0; j < n; j++)
            {
                if (keys[j] >= threshold)
                    total += points[positions[j]].Weight;
            }
            var ticket = _random.NextDouble() * total;
            var chosen = -1;
            for (var j = 0; j < n; j++)
            {
                if (keys[j] < threshold)
                    continue;
                chosen = j;
                ticket -= points[positions[j]].Weight;
                if (ticket < 0)
                    break;
            }
            picks[0] = points[positions[chosen]].Entry;

            // Pass 3: alternates are the best-ranked of the rest, kept sorted in a tiny buffer.
            var want = Math.Min(picks.Length - 1, n - 1);
            Span<double> altKeys = stackalloc double[16];
            var count = 0;
            for (var j = 0; j < n && want > 0; j++)
            {
                if (j == chosen)
                    continue;
                var key = keys[j];
                if (count == want && key <= altKeys[count - 1])
                    continue;
                var at = count < want ? count++ : count - 1;
                while (at > 0 && altKeys[at - 1] < key)
                {
                    altKeys[at] = altKeys[at - 1];
                    picks[at + 1] = picks[at];
                    at--;
                }
                altKeys[at] = key;
                picks[at + 1] = points[positions[j]].Entry;
            }
            return 1 + count;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(keys);
            ArrayPool<int>.Shared.Return(positions);
        }
    }

    /// <summary>
    /// Lowest key still "near" the best one: within the same ASN tier, and within NearFactor × the
    /// nearest distance or NearDistanceKm beyond it, whichever is wider.
    /// </summary>
    private double NearThreshold(double best)
    {
        var tier = best > 2 ? AsnBonus : 0;
        var nearestArc = Math.Acos(Math.Clamp(best - tier, -1, 1));
        var arc = Math.Max(nearestArc * _nearFactor, nearestArc + _nearRadians);
        // The small slack keeps mirrors at exactly the same spot as the nearest inside despite rounding.
        return (arc >= Math.PI ? -1 : Math.Cos(arc)) + tier - 1e-9;
    }

    /// <summary>Whether a country- or continent-scoped mirror serves this client; a client of unknown country is out.</summary>
    public static bool InScope(MirrorRecord mirror, in ClientLocation client) => mirror.Scope switch
    {
        MirrorScope.Country => client.Country.Length > 0 && string.Equals(mirror.Country, client.Country, StringComparison.OrdinalIgnoreCase),
        MirrorScope.Continent => client.Continent.Length > 0 && string.Equals(mirror.Continent, client.Continent, StringComparison.OrdinalIgnoreCase),
        _ => true,
    };

    /// <summary>
    /// The same rules as <see cref="Select"/>, spelled out per mirror with a reason, for the mirror list.
    /// Not on the redirect path: allocates freely.
    /// </summary>
    public static Exclusion Check(MirrorEntry mirror, FileEntry file, in ClientLocation client, bool https)
    {
        if (mirror.StandingExclusion != Exclusion.None)
            return mirror.StandingExclusion;
        var r = mirror.Record;
        if ((https ? r.HttpsUrl : r.HttpUrl).Length == 0)
            return Exclusion.Scheme;
        if (!r.Carries(file.File.Set))
            return Exclusion.MissingSet;
        if (r.Serial < file.File.ChangedAt)
            return Exclusion.Stale;
        if (!InScope(r, client))
            return Exclusion.OutOfScope;
        return Exclusion.None;
    }

    /// <summary>
    /// Every mirror with its distance and, for candidates, rank order, whether it is in the lottery and
    /// its chance of being the target; excluded ones carry the reason. For the mirror list, not the
    /// redirect path: allocates freely, but ranks exactly as <see cref="Select"/> does.
    /// </summary>
    public List<MirrorVerdict> Explain(RoutingSnapshot snapshot, FileEntry file, in ClientLocation client, bool https)
    {
        var (cx, cy, cz) = client.HasCoordinates ? SnapshotBuilder.UnitVector(client.Latitude, client.Longitude) : _default;
        var verdicts = new List<MirrorVerdict>(snapshot.Mirrors.Length);
        var best = double.NegativeInfinity;
        foreach (var mirror in snapshot.Mirrors)
        {
            var r = mirror.Record;
            var (x, y, z) = SnapshotBuilder.UnitVector(r.Latitude, r.Longitude);
            var dot = x * cx + y * cy + z * cz;
            var sameAsn = client.Asn != 0 && r.Asn == client.Asn;
            var key = dot + (sameAsn ? AsnBonus : 0);
            var exclusion = Check(mirror, file, client, https);
            if (exclusion == Exclusion.None && key > best)
                best = key;
            var distance = Math.Acos(Math.Clamp(dot, -1, 1)) * GreatCircle.EarthRadiusKm;
            verdicts.Add(new MirrorVerdict(mirror, distance, sameAsn, exclusion, key, false, 0));
        }
        var threshold = NearThreshold(best);
        double total = 0;
        foreach (var v in verdicts)
        {
            if (v.Exclusion == Exclusion.None && v.Key >= threshold)
                total += v.Mirror.LotteryWeight;
        }
        for (var i = 0; i < verdicts.Count; i++)
        {
            var v = verdicts[i];
            if (v.Exclusion == Exclusion.None && v.Key >= threshold)
                verdicts[i] = v with { Near = true, Chance = total > 0 ? v.Mirror.LotteryWeight / total : 0 };
        }
        // Candidates first, in rank order; then the excluded, nearest first.
        verdicts.Sort(static (a, b) =>
        {
            bool ac = a.Exclusion == Exclusion.None, bc = b.Exclusion == Exclusion.None;
            return ac != bc ? (ac ? -1 : 1) : b.Key.CompareTo(a.Key);
        });
        return verdicts;
    }
}

/// <summary>One mirror as judged for one request (mirror list and JSON).</summary>
internal readonly record struct MirrorVerdict(
    MirrorEntry Mirror, double DistanceKm, bool SameAsn, Exclusion Exclusion, double Key, bool Near, double Chance);
