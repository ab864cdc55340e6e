using Downloads.Contracts.Manifests;
using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Health;

/// <summary>
/// The health checker's view of the verified manifest: a small sample of it, rebuilt from the routing
/// snapshot's compact index once per serial. Probes need one random file a mirror should have, not
/// the whole catalogue — a full copy of a 100,000-file manifest would cost ~40 MB per redirector and
/// make every probe scan it. Per set, the sample keeps the oldest files (so a mirror that lags behind
/// still has files to be probed on) and an even spread of the rest.
/// </summary>
internal sealed class SnapshotManifestSource(SnapshotHolder holder) : IManifestSource
{
    /// <summary>Files kept per set: half the oldest, half spread over the rest.</summary>
    internal const int PerSet = 64;

    private Manifest? _cached;

    public Manifest? Current
    {
        get
        {
            var index = holder.Current.Index;
            if (!index.IsLoaded)
                return null;
            var cached = Volatile.Read(ref _cached);
            if (cached is not null && cached.Serial == index.Serial)
                return cached;
            var manifest = new Manifest { Serial = index.Serial, Published = index.Published, ChunkSize = index.ChunkSize, Files = Sample(index) };
            Volatile.Write(ref _cached, manifest);
            return manifest;
        }
    }

    private static List<ManifestFile> Sample(ManifestIndex index)
    {
        var bySet = new Dictionary<string, List<FileEntry>>(StringComparer.Ordinal);
        foreach (var entry in index.Files.Values)
        {
            if (entry.Size == 0)
                continue;
            if (!bySet.TryGetValue(entry.Set, out var list))
                bySet[entry.Set] = list = [];
            list.Add(entry);
        }
        var sample = new List<ManifestFile>();
        foreach (var list in bySet.Values)
        {
            list.Sort((a, b) => a.ChangedAt != b.ChangedAt ? a.ChangedAt.CompareTo(b.ChangedAt) : string.CompareOrdinal(a.Path, b.Path));
            if (list.Count <= PerSet)
            {
                foreach (var entry in list)
                    sample.Add(ToFile(entry));
                continue;
            }
            var oldest = PerSet / 2;
            for (var i = 0; i < oldest; i++)
                sample.Add(ToFile(list[i]));
            var rest = list.Count - oldest;
            var spread = PerSet - oldest;
            // Even steps from just past the oldest to the newest file, both ends included.
            for (var k = 0; k < spread; k++)
                sample.Add(ToFile(list[oldest + (int)((long)k * (rest - 1) / (spread - 1))]));
        }
        sample.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return sample;
    }

    private static ManifestFile ToFile(FileEntry entry)
    {
        var chunks = new string[entry.ChunkCount];
        for (var i = 0; i < chunks.Length; i++)
            chunks[i] = entry.ChunkHex(i);
        return new ManifestFile { Path = entry.Path, Size = entry.Size, Sha256 = entry.Sha256Hex, ChangedAt = entry.ChangedAt, Chunks = chunks };
    }
}
