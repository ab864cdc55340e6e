using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Snapshots;
using Downloads.Redirector.Staging;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Selection;

/// <summary>
/// Turns mirror records and a manifest index into a <see cref="RoutingSnapshot"/>; all the per-mirror arithmetic
/// happens here, once. Its tables hold only the mirrors <see cref="Eligibility"/> admits whatever the file or
/// client, so the request path applies only the per-request rules. It lives with the rules rather than in
/// Snapshots/ so that Snapshots/ (the state) does not depend on Selection/ (the policy); the refresher reaches
/// it through <see cref="ISnapshotBuilder"/>.
/// </summary>
internal sealed class SnapshotBuilder(IOptions<RedirectorOptions> options, CounterRegistry counters, ReleaseWatch releases) : ISnapshotBuilder
{
    public RoutingSnapshot Build(ManifestIndex index, IReadOnlyList<MirrorRecord> records, DateTimeOffset mirrorsLoadedAt,
        DateTimeOffset manifestLoadedAt, RoutingSnapshot previous, DateTimeOffset now) =>
        Build(index, records, options.Value, counters, mirrorsLoadedAt, manifestLoadedAt, previous, now, releases.Current);

    /// <summary>
    /// Builds a snapshot and closes a round of every mirror's <see cref="AssignedLoad"/> (carried over
    /// from <paramref name="previous"/> by mirror id; <paramref name="now"/> defaults to
    /// <paramref name="mirrorsLoadedAt"/>). With <paramref name="previous"/> (the one being replaced, built with the same
    /// options), an entry whose record is the very same instance is reused, and when no record changed
    /// and the index is the same the tables are reused too: a quiet round allocates next to nothing.
    /// <paramref name="releases"/> are the manifest's files released from staging (<see cref="ReleaseWatch"/>).
    /// </summary>
    public static RoutingSnapshot Build(ManifestIndex index, IReadOnlyList<MirrorRecord> records, RedirectorOptions options,
        CounterRegistry counters, DateTimeOffset mirrorsLoadedAt, DateTimeOffset manifestLoadedAt, RoutingSnapshot? previous = null,
        DateTimeOffset? now = null, IReadOnlyList<StagedRelease>? releases = null)
    {
        var at = now ?? mirrorsLoadedAt;
        var maxAge = TimeSpan.FromSeconds(options.OwnRedirectsMaxAgeSeconds);
        var heartbeats = HeartbeatPanic.Count(records);
        DateTimeOffset? panicSince = HeartbeatPanic.IsOn(heartbeats, options.HeartbeatPanicPercent) ? previous?.PanicSince ?? at : null;
        var panic = panicSince is { } since && at - since <= TimeSpan.FromSeconds(options.HeartbeatPanicMaxSeconds);
        // While silent mirrors are kept, our redirects to them are never "settled" by a report: keep
        // counting them instead of dropping the estimate after OwnRedirectsMaxAgeSeconds.
        TimeSpan MaxAge(MirrorRecord r) => panic && !r.Alive ? TimeSpan.MaxValue : maxAge;
        var reuse = previous is not null && previous.Mirrors.Length == records.Count && previous.HeartbeatPanic == panic ? previous.Mirrors : null;
        if (reuse is not null && ReferenceEquals(previous!.Index, index) && SameRecords(reuse, records, options, at))
        {
            foreach (var entry in reuse)
            {
                entry.Assigned.Roll(reported: false, at, MaxAge(entry.Record));
                Read(entry.Usage, entry.Record, options, mirrorsLoadedAt);
            }
            return new RoutingSnapshot
            {
                Index = index,
                Mirrors = reuse,
                Http = previous.Http,
                Https = previous.Https,
                MirrorsLoadedAt = mirrorsLoadedAt,
                ManifestLoadedAt = manifestLoadedAt,
                HeartbeatPanic = panic,
                PanicSince = panicSince,
                Heartbeats = heartbeats,
                Releases = Releases(index, reuse, previous.Http, previous.Https, releases, options, at),
            };
        }
        var mirrors = new MirrorEntry[records.Count];
        var http = new List<int>(records.Count);
        var https = new List<int>(records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            MirrorEntry entry;
            if (reuse is not null && ReferenceEquals(reuse[i].Record, r) && reuse[i].Pace.Equals(Eligibility.Pace(r, options, at)))
            {
                entry = reuse[i];
                entry.Assigned.Roll(reported: false, at, MaxAge(r));
                Read(entry.Usage, r, options, mirrorsLoadedAt);
            }
            else
            {
                var before = Find(previous, r.Id);
                var load = before?.Assigned ?? new AssignedLoad(at);
                load.Roll(before is not null && Reported(before.Record, r), at, MaxAge(r));
                var usage = before?.Usage ?? new UsageWindow();
                Read(usage, r, options, mirrorsLoadedAt);
                entry = Entry(r, options, counters, load, usage, at);
            }
            mirrors[i] = entry;
            if (Eligibility.Standing(r, entry.SpareBps, panic, entry.Pace) != Exclusion.None)
                continue;
            if (Eligibility.SpeaksScheme(r, https: false))
                http.Add(i);
            if (Eligibility.SpeaksScheme(r, https: true))
                https.Add(i);
        }
        var httpTable = Table(http, mirrors, index);
        var httpsTable = Table(https, mirrors, index);
        return new RoutingSnapshot
        {
            Index = index,
            Mirrors = mirrors,
            Http = httpTable,
            Https = httpsTable,
            MirrorsLoadedAt = mirrorsLoadedAt,
            ManifestLoadedAt = manifestLoadedAt,
            HeartbeatPanic = panic,
            PanicSince = panicSince,
            Heartbeats = heartbeats,
            Releases = Releases(index, mirrors, httpTable, httpsTable, releases, options, at),
        };
    }

    /// <summary>
    /// The overlays of the files released from staging that some mirror holds without having reported their serial
    /// (<see cref="Eligibility.HoldsRelease"/>); none, without allocating, when no release is pending.
    /// </summary>
    private static IReadOnlyDictionary<FileEntry, ReleaseOverlay> Releases(ManifestIndex index, MirrorEntry[] mirrors, MirrorTable http,
        MirrorTable https, IReadOnlyList<StagedRelease>? releases, RedirectorOptions options, DateTimeOffset now)
    {
        if (releases is null || releases.Count == 0)
            return ReleaseOverlay.None;
        Dictionary<FileEntry, ReleaseOverlay>? result = null;
        foreach (var release in releases)
        {
            if (!Eligibility.ReleaseCurrent(release, options, now) || !index.Files.TryGetValue(release.Path, out var file))
                continue;
            HashSet<string>? holders = null;
            foreach (var m in mirrors)
            {
                if (Eligibility.HoldsRelease(m.Record, release.Id, file))
                    (holders ??= new HashSet<string>(StringComparer.Ordinal)).Add(m.Record.Id);
            }
            if (holders is null)
                continue;
            (result ??= [])[file] = new ReleaseOverlay
            {
                Id = release.Id,
                Holders = holders,
                HttpSerial = Serials(http, mirrors, holders, file),
                HttpsSerial = Serials(https, mirrors, holders, file),
            };
        }
        return result ?? ReleaseOverlay.None;
    }

    private static long[] Serials(MirrorTable table, MirrorEntry[] mirrors, HashSet<string> holders, FileEntry file)
    {
        var serial = (long[])table.Serial.Clone();
        for (var row = 0; row < serial.Length; row++)
        {
            if (table.Entry[row] >= 0 && holders.Contains(mirrors[table.Entry[row]].Record.Id))
                serial[row] = Math.Max(serial[row], file.ChangedAt);
        }
        return serial;
    }

    // Same record instances, and no quota pace moved with the clock (an idle paced mirror's record does not change).
    private static bool SameRecords(MirrorEntry[] entries, IReadOnlyList<MirrorRecord> records, RedirectorOptions options, DateTimeOffset now)
    {
        for (var i = 0; i < entries.Length; i++)
        {
            if (!ReferenceEquals(entries[i].Record, records[i]) || !entries[i].Pace.Equals(Eligibility.Pace(records[i], options, now)))
                return false;
        }
        return true;
    }

    /// <summary>The previous snapshot's entry of a mirror (entries are sorted by id), or null.</summary>
    private static MirrorEntry? Find(RoutingSnapshot? previous, string id)
    {
        if (previous is null)
            return null;
        var mirrors = previous.Mirrors;
        int lo = 0, hi = mirrors.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var c = string.CompareOrdinal(mirrors[mid].Record.Id, id);
            if (c == 0)
                return mirrors[mid];
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid - 1;
        }
        return null;
    }

    /// <summary>Whether the mirror's state moved between two reads: a new report, which includes what we sent it before.</summary>
    private static bool Reported(MirrorRecord before, MirrorRecord after) =>
        !ReferenceEquals(before, after) && (!before.RateBps.Equals(after.RateBps) || before.BytesServed != after.BytesServed
            || before.Requests != after.Requests || before.Connections != after.Connections || before.Serial != after.Serial);

    /// <summary>
    /// Adds the round's reading of the mirror's usage counter to its window (the forecast), timed when the table was read
    /// from Redis: a table routed from saved state or kept through an outage is not a new reading.
    /// </summary>
    private static void Read(UsageWindow usage, MirrorRecord r, RedirectorOptions options, DateTimeOffset mirrorsLoadedAt) =>
        usage.Add(mirrorsLoadedAt, r.MonthBytes, Eligibility.Budget(r, options), TimeSpan.FromSeconds(options.QuotaForecastWindowSeconds));

    private static MirrorEntry Entry(MirrorRecord r, RedirectorOptions options, CounterRegistry counters, AssignedLoad load,
        UsageWindow usage, DateTimeOffset now)
    {
        var pace = Eligibility.Pace(r, options, now);
        var spare = Eligibility.SpareBps(r, options.DefaultCapacityMbps, pace);
        return new MirrorEntry
        {
            Record = r,
            Pace = pace,
            Usage = usage,
            BuiltPeriodEnd = QuotaPeriod.At(now, r.BillingDay).End,
            SpareBps = spare,
            LotteryWeight = Math.Max(0, spare) * r.Weight / 100,
            CountryLower = r.Country.ToLowerInvariant(),
            Redirects = counters.Mirror(r.Id),
            Assigned = load,
        };
    }

    private static MirrorTable Table(List<int> rows, MirrorEntry[] mirrors, ManifestIndex index)
    {
        var x = new double[rows.Count];
        var y = new double[rows.Count];
        var z = new double[rows.Count];
        var placed = new bool[rows.Count];
        var asn = new long[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            var r = mirrors[rows[i]].Record;
            (x[i], y[i], z[i]) = UnitVector(r.Latitude, r.Longitude);
            placed[i] = r.Scope == MirrorScope.World;
            asn[i] = r.Asn;
        }
        var cells = MirrorCells.Lay(x, y, z, placed, asn);
        var scoped = new List<int>();
        var scopedMasks = new List<ulong>();
        for (var row = 0; row < cells.Layout.Length; row++)
        {
            var source = cells.Layout[row];
            if (source >= 0 && !placed[source])
            {
                scoped.Add(row);
                scopedMasks.Add(SetMask(mirrors[rows[source]].Record, index));
            }
        }
        var table = new MirrorTable(rows.Count, cells) { Scoped = [.. scoped], ScopedSetMask = [.. scopedMasks] };
        for (var row = 0; row < cells.Layout.Length; row++)
        {
            var source = cells.Layout[row];
            if (source < 0)
                continue;
            var entry = mirrors[rows[source]];
            var r = entry.Record;
            (table.X[row], table.Y[row], table.Z[row]) = (x[source], y[source], z[source]);
            table.Weight[row] = entry.LotteryWeight;
            table.Spare[row] = entry.SpareBps;
            table.Scale[row] = r.Weight / 100;
            table.Load[row] = entry.Assigned;
            table.Serial[row] = r.Serial;
            table.Asn[row] = r.Asn;
            table.SetMask[row] = r.Scope == MirrorScope.World ? SetMask(r, index) : 0;
            table.Entry[row] = rows[source];
        }
        return table;
    }

    /// <summary>Point on the unit sphere; (0,0,0) for an unknown location, which ranks like a mirror a quarter of the world away.</summary>
    public static (double X, double Y, double Z) UnitVector(double latitude, double longitude)
    {
        if (double.IsNaN(latitude) || double.IsNaN(longitude))
            return (0, 0, 0);
        const double rad = Math.PI / 180;
        var (sinLat, cosLat) = Math.SinCos(latitude * rad);
        var (sinLon, cosLon) = Math.SinCos(longitude * rad);
        return (cosLat * cosLon, cosLat * sinLon, sinLat);
    }

    private static ulong SetMask(MirrorRecord r, ManifestIndex index)
    {
        if (r.Sets.Count == 0)
            return ulong.MaxValue;
        ulong mask = 0;
        for (var i = 0; i < r.Sets.Count; i++)
        {
            if (index.Sets.TryGetValue(r.Sets[i], out var bit))
                mask |= 1UL << bit;
        }
        return mask;
    }
}
