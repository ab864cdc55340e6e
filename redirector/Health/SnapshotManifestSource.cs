using Downloads.Contracts.Manifests;
using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Health;

/// <summary>
/// The health checker's view of the verified manifest, rebuilt from the routing snapshot's compact
/// index once per serial (the snapshot itself does not keep the parsed manifest, to stay small).
/// </summary>
internal sealed class SnapshotManifestSource(SnapshotHolder holder) : IManifestSource
{
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
            var files = new List<ManifestFile>(index.Files.Count);
            foreach (var entry in index.Files.Values)
            {
                var chunks = new string[entry.ChunkCount];
                for (var i = 0; i < chunks.Length; i++)
                    chunks[i] = entry.ChunkHex(i);
                files.Add(new ManifestFile { Path = entry.Path, Size = entry.Size, Sha256 = entry.Sha256Hex, ChangedAt = entry.ChangedAt, Chunks = chunks });
            }
            files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
            var manifest = new Manifest { Serial = index.Serial, Published = index.Published, ChunkSize = index.ChunkSize, Files = files };
            Volatile.Write(ref _cached, manifest);
            return manifest;
        }
    }
}
