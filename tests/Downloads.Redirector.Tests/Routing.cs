using Downloads.Contracts.Manifests;
using Downloads.Contracts.Mirrors;
using Downloads.Redirector;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Tests;

/// <summary>Builds manifests, mirror records and snapshots for selection tests.</summary>
internal static class Routing
{
    public static readonly ClientLocation London = new(51.5074, -0.1278, "GB", "EU", 0);
    public static readonly ClientLocation Paris = new(48.8566, 2.3522, "FR", "EU", 0);

    public static ManifestFile File(string path, long changedAt = 5) => new()
    {
        Path = path,
        Size = 10,
        Sha256 = new string('a', 64),
        ChangedAt = changedAt,
        Chunks = [new string('b', 64)],
    };

    public static Manifest Manifest(long serial = 10, params ManifestFile[] files) => new()
    {
        Serial = serial,
        Published = DateTimeOffset.UnixEpoch,
        Files = files.Length > 0 ? files : [File("noobs/a.zip", 5), File("os/b.img", 3), File("rachel/c.zip", 1)],
    };

    /// <summary>An approved, alive, healthy, synced, roomy mirror at a point.</summary>
    public static MirrorRecord Mirror(string id, double lat, double lon, string country = "GB") => new()
    {
        Id = id,
        Name = id.ToUpperInvariant(),
        HttpUrl = $"http://{id}.example",
        HttpsUrl = $"https://{id}.example",
        Latitude = lat,
        Longitude = lon,
        Country = country,
        Continent = "EU",
        Status = MirrorStatus.Approved,
        Alive = true,
        Serial = 10,
        CapacityMbps = 1000,
    };

    public static RoutingSnapshot Snapshot(IReadOnlyList<MirrorRecord> mirrors, Manifest? manifest = null, RedirectorOptions? options = null)
    {
        var counters = new CounterRegistry();
        var index = ManifestIndex.Build(manifest ?? Manifest(), counters);
        return SnapshotBuilder.Build(index, mirrors, options ?? new RedirectorOptions(), counters, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);
    }

    public static FileEntry Entry(this RoutingSnapshot snapshot, string path) => snapshot.Index.Files[path];

    /// <summary>Mirror ids in pick order.</summary>
    public static string[] Ids(this RoutingSnapshot snapshot, ReadOnlySpan<int> picks)
    {
        var ids = new string[picks.Length];
        for (var i = 0; i < picks.Length; i++)
            ids[i] = snapshot.Mirrors[picks[i]].Record.Id;
        return ids;
    }
}
