using System.Buffers;
using System.Numerics;
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
/// <see cref="RedirectorOptions.NearDistanceKm"/> of the nearest) weighted by spare bandwidth × weight —
/// the reported spare less this redirector's own redirects since that report (<see cref="AssignedLoad"/>;
/// a near mirror they filled is skipped while another near one has room) —
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
    private readonly bool _account;
    private readonly double _clientBps;
    private readonly double _minTransferSeconds;

    public MirrorSelector(RedirectorOptions options, Random random)
    {
        _random = random;
        _nearFactor = options.NearFactor;
        _nearRadians = options.NearDistanceKm / GreatCircle.EarthRadiusKm;
        _default = SnapshotBuilder.UnitVector(options.DefaultLatitude, options.DefaultLongitude);
        _account = options.AccountOwnRedirects;
        _clientBps = options.AssumedClientMbps * 125_000;
        _minTransferSeconds = options.AssumedMinTransferSeconds;
    }

    /// <summary>The rate one redirect for a file of <paramref name="size"/> bytes is assumed to add to its mirror (see <see cref="AssignedLoad"/>).</summary>
    public long AssumedBps(long size) => (long)Math.Min(size / _minTransferSeconds, _clientBps);

    /// <summary>
    /// Writes the chosen mirror's index in <see cref="RoutingSnapshot.Mirrors"/> to <c>picks[0]</c> and
    /// the alternates after it; returns how many were written (0: no candidate). Allocates nothing.
    /// </summary>
    public int Select(RoutingSnapshot snapshot, FileEntry file, in ClientLocation client, bool https, Span<int> picks)
    {
        var table = https ? snapshot.Https : snapshot.Http;
        if (table.Count == 0 || picks.IsEmpty)
            return 0;
        var (cx, cy, cz) = client.HasCoordinates ? SnapshotBuilder.UnitVector(client.Latitude, client.Longitude) : _default;
        var length = table.Serial.Length;
        var keys = ArrayPool<double>.Shared.Rent(length);
        try
        {
            // Pass 1: a key per row, −∞ when the row does not qualify. A dot product ranks like the distance.
            var best = KeyRows(snapshot, table, file, client, cx, cy, cz, keys);
            if (double.IsNegativeInfinity(best))
                return 0;

            // Pass 2: the lottery among the near ones, weighted by spare bandwidth less our own redirects
            // since the mirror's last report, × weight: a near mirror our redirects filled is skipped, and
            // when they filled all of them the nearest ones with room take the spill.
            var chosen = Draw(table, keys, NearThreshold(best));
            picks[0] = table.Entry[chosen];
            if (_account)
                table.Load[chosen].Add(AssumedBps(file.Size));

            // Pass 3: alternates are the best-ranked of the rest, kept sorted in a tiny buffer.
            return 1 + Alternates(table, keys, chosen, picks[1..]);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(keys);
        }
    }

    private static double KeyRows(RoutingSnapshot snapshot, MirrorTable table, FileEntry file, in ClientLocation client,
        double cx, double cy, double cz, double[] keys)
    {
        var best = file.SetBit != 0
            ? KeyAll(table, file, client.Asn, cx, cy, cz, keys)
            : KeyAllScalar(snapshot, table, file, client, cx, cy, cz, keys);
        for (var s = 0; s < table.Scoped.Length; s++)
        {
            var row = table.Scoped[s];
            var r = snapshot.Mirrors[table.Entry[row]].Record;
            if (table.Serial[row] >= file.ChangedAt && Carries(table.ScopedSetMask[s], file, r) && InScope(r, client))
            {
                keys[row] = Key(table, row, client.Asn, cx, cy, cz);
                best = Math.Max(best, keys[row]);
            }
        }
        return best;
    }

    private static double KeyAll(MirrorTable t, FileEntry file, long asn, double cx, double cy, double cz, double[] keys)
    {
        var width = Vector<double>.Count;
        var vx = new Vector<double>(cx);
        var vy = new Vector<double>(cy);
        var vz = new Vector<double>(cz);
        var changedAt = new Vector<long>(file.ChangedAt);
        var setBit = new Vector<ulong>(file.SetBit);
        var clientAsn = new Vector<long>(asn == 0 ? -1 : asn);
        var bonus = new Vector<double>(AsnBonus);
        var none = new Vector<double>(double.NegativeInfinity);
        var best = none;
        for (var i = 0; i < t.Serial.Length; i += width)
        {
            var dot = new Vector<double>(t.X, i) * vx + new Vector<double>(t.Y, i) * vy + new Vector<double>(t.Z, i) * vz;
            var fresh = Vector.GreaterThanOrEqual(new Vector<long>(t.Serial, i), changedAt);
            var carries = ~Vector.Equals(new Vector<ulong>(t.SetMask, i) & setBit, Vector<ulong>.Zero);
            var sameAsn = Vector.Equals(new Vector<long>(t.Asn, i), clientAsn);
            var key = dot + Vector.ConditionalSelect(sameAsn.As<long, double>(), bonus, Vector<double>.Zero);
            key = Vector.ConditionalSelect((fresh & carries.As<ulong, long>()).As<long, double>(), key, none);
            key.CopyTo(keys, i);
            best = Vector.Max(best, key);
        }
        var max = double.NegativeInfinity;
        for (var j = 0; j < width; j++)
            max = Math.Max(max, best[j]);
        return max;
    }

    /// <summary>Row by row, for a file whose set has no bit (more than 64 sets in the manifest).</summary>
    private static double KeyAllScalar(RoutingSnapshot snapshot, MirrorTable t, FileEntry file, in ClientLocation client,
        double cx, double cy, double cz, double[] keys)
    {
        var best = double.NegativeInfinity;
        for (var row = 0; row < t.Serial.Length; row++)
        {
            keys[row] = double.NegativeInfinity;
            if (row >= t.Count || t.Serial[row] < file.ChangedAt)
                continue;
            var r = snapshot.Mirrors[t.Entry[row]].Record;
            if (r.Scope != MirrorScope.World || !r.Carries(file.Set))
                continue;
            keys[row] = Key(t, row, client.Asn, cx, cy, cz);
            best = Math.Max(best, keys[row]);
        }
        return best;
    }

    private static bool Carries(ulong mask, FileEntry file, MirrorRecord r) =>
        file.SetBit != 0 ? (mask & file.SetBit) != 0 : r.Carries(file.Set);

    private static double Key(MirrorTable t, int row, long asn, double cx, double cy, double cz) =>
        t.X[row] * cx + t.Y[row] * cy + t.Z[row] * cz + (asn != 0 && t.Asn[row] == asn ? AsnBonus : 0);

    /// <summary>
    /// Draws the target: among the rows keyed at or above <paramref name="threshold"/> (the near ones),
    /// with probability ∝ weight now (reported spare less our own redirects since that report, × ops'
    /// weight). When our redirects have filled every near row, the spill goes one ring out — to the
    /// nearest rows that still have room, drawn the same way — so no mirror is sent more than its spare
    /// bandwidth while another candidate has some (DESIGN.md: a full mirror gets no new redirects). Only
    /// when every candidate is full by that estimate do the reported figures decide among the near ones:
    /// nothing is sent to the origin that a mirror would have taken. The widening costs one more pass over
    /// the rows and happens only under saturation.
    /// </summary>
    private int Draw(MirrorTable t, double[] keys, double threshold)
    {
        var chosen = DrawAmong(t, keys, threshold, estimated: true);
        if (chosen >= 0)
            return chosen;
        var nearestWithRoom = NearestWithRoom(t, keys);
        if (!double.IsNegativeInfinity(nearestWithRoom))
        {
            chosen = DrawAmong(t, keys, NearThreshold(nearestWithRoom), estimated: true);
            if (chosen >= 0)
                return chosen;
        }
        return DrawAmong(t, keys, threshold, estimated: false);
    }

    /// <summary>Best key among the rows that still have room by our estimate, or −∞.</summary>
    private static double NearestWithRoom(MirrorTable t, double[] keys)
    {
        var best = double.NegativeInfinity;
        for (var j = 0; j < t.Count; j++)
        {
            if (keys[j] > best && t.WeightNow(j) > 0)
                best = keys[j];
        }
        return best;
    }

    /// <summary>
    /// A row keyed at or above <paramref name="threshold"/> drawn with probability ∝ its weight now
    /// (<paramref name="estimated"/>) or as reported; −1 when those weights are all 0. Returns a row
    /// even then for reported weights (the table holds no row without reported spare).
    /// </summary>
    private int DrawAmong(MirrorTable t, double[] keys, double threshold, bool estimated)
    {
        // The near set is usually a handful of rows: collect them in one vector scan, then draw among them.
        const int MaxCollected = 64;
        Span<int> near = stackalloc int[MaxCollected];
        Span<double> weights = stackalloc double[MaxCollected];
        var count = 0;
        double total = 0;
        var width = Vector<double>.Count;
        var limit = new Vector<double>(threshold);
        for (var i = 0; i < t.Serial.Length; i += width)
        {
            if (!Vector.GreaterThanOrEqualAny(new Vector<double>(keys, i), limit))
                continue;
            for (var j = i; j < i + width; j++)
            {
                if (keys[j] < threshold)
                    continue;
                var weight = estimated ? t.WeightNow(j) : t.Weight[j];
                total += weight;
                if (count < MaxCollected)
                {
                    near[count] = j;
                    weights[count] = weight;
                }
                count++;
            }
        }
        if (count == 0 || (total <= 0 && estimated))
            return -1;
        var ticket = _random.NextDouble() * total;
        if (count <= MaxCollected)
        {
            for (var k = 0; k < count; k++)
            {
                ticket -= weights[k];
                if (ticket < 0 && weights[k] > 0)
                    return near[k];
            }
            return LastWeighted(near[..count], weights[..count]); // rounding left the ticket just past the last one
        }
        var chosen = -1;
        for (var j = 0; j < t.Serial.Length; j++)
        {
            if (keys[j] < threshold)
                continue;
            var weight = estimated ? t.WeightNow(j) : t.Weight[j];
            if (weight > 0 || chosen < 0)
                chosen = j;
            ticket -= weight;
            if (ticket < 0 && weight > 0)
                return j;
        }
        return chosen;
    }

    private static int LastWeighted(ReadOnlySpan<int> rows, ReadOnlySpan<double> weights)
    {
        for (var k = rows.Length - 1; k > 0; k--)
        {
            if (weights[k] > 0)
                return rows[k];
        }
        return rows[0];
    }

    /// <summary>Fills <paramref name="alternates"/> with the best-keyed rows other than <paramref name="chosen"/>, best first.</summary>
    private static int Alternates(MirrorTable t, double[] keys, int chosen, Span<int> alternates)
    {
        var want = alternates.Length;
        if (want == 0)
            return 0;
        Span<double> altKeys = stackalloc double[16];
        var count = 0;
        var width = Vector<double>.Count;
        var floor = double.NegativeInfinity;
        for (var i = 0; i < t.Serial.Length; i += width)
        {
            // Most vectors hold nothing better than the current worst alternate: one compare skips them.
            if (!Vector.GreaterThanAny(new Vector<double>(keys, i), new Vector<double>(floor)))
                continue;
            for (var j = i; j < i + width; j++)
            {
                var key = keys[j];
                if (j == chosen || key <= floor)
                    continue;
                var at = count < want ? count++ : count - 1;
                while (at > 0 && altKeys[at - 1] < key)
                {
                    altKeys[at] = altKeys[at - 1];
                    alternates[at] = alternates[at - 1];
                    at--;
                }
                altKeys[at] = key;
                alternates[at] = t.Entry[j];
                if (count == want)
                    floor = altKeys[count - 1];
            }
        }
        return count;
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
    /// <param name="estimated">
    /// Whether our own redirects since the mirror's last report count (the usual case); without them only
    /// the reported figures do, as in <see cref="Select"/>'s last resort when every candidate is full by the estimate.
    /// </param>
    public static Exclusion Check(MirrorEntry mirror, FileEntry file, in ClientLocation client, bool https, bool estimated = true)
    {
        if (mirror.StandingExclusion != Exclusion.None)
            return mirror.StandingExclusion;
        // Spare when it reported, but taken since by our own redirects: full until its next report.
        if (estimated && mirror.SpareNowBps <= 0)
            return Exclusion.Full;
        var r = mirror.Record;
        if ((https ? r.HttpsUrl : r.HttpUrl).Length == 0)
            return Exclusion.Scheme;
        if (!r.Carries(file.Set))
            return Exclusion.MissingSet;
        if (r.Serial < file.ChangedAt)
            return Exclusion.Stale;
        if (!InScope(r, client))
            return Exclusion.OutOfScope;
        return Exclusion.None;
    }

    /// <summary>
    /// Every mirror with its distance and, for candidates, rank order, whether it is in the lottery and
    /// its chance of being the target; excluded ones carry the reason. For the mirror list, not the
    /// redirect path: allocates freely, but ranks exactly as <see cref="Select"/> does — including its last
    /// resort: when our own redirects have filled every candidate, the reported figures decide, and the
    /// list shows those chances rather than no candidate at all.
    /// </summary>
    public List<MirrorVerdict> Explain(RoutingSnapshot snapshot, FileEntry file, in ClientLocation client, bool https)
    {
        var verdicts = Explain(snapshot, file, client, https, estimated: true);
        // No candidate, and some only because our redirects filled them: Select's last resort applies.
        return verdicts.Count > 0 && verdicts[0].Exclusion != Exclusion.None && verdicts.Exists(v => v.Exclusion == Exclusion.Full)
            ? Explain(snapshot, file, client, https, estimated: false)
            : verdicts;
    }

    private List<MirrorVerdict> Explain(RoutingSnapshot snapshot, FileEntry file, in ClientLocation client, bool https, bool estimated)
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
            var exclusion = Check(mirror, file, client, https, estimated);
            if (exclusion == Exclusion.None && key > best)
                best = key;
            var distance = Math.Acos(Math.Clamp(dot, -1, 1)) * GreatCircle.EarthRadiusKm;
            verdicts.Add(new MirrorVerdict(mirror, distance, sameAsn, exclusion, key, false, 0));
        }
        var threshold = NearThreshold(best);
        double Weight(MirrorEntry m) => estimated ? m.LotteryWeightNow : m.LotteryWeight;
        double total = 0;
        foreach (var v in verdicts)
        {
            if (v.Exclusion == Exclusion.None && v.Key >= threshold)
                total += Weight(v.Mirror);
        }
        for (var i = 0; i < verdicts.Count; i++)
        {
            var v = verdicts[i];
            if (v.Exclusion == Exclusion.None && v.Key >= threshold)
                verdicts[i] = v with { Near = true, Chance = total > 0 ? Weight(v.Mirror) / total : 0 };
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
