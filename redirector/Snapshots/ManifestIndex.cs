using System.Collections.Frozen;
using Downloads.Contracts.Manifests;
using Downloads.Redirector.Counting;

namespace Downloads.Redirector.Snapshots;

/// <summary>
/// A verified manifest indexed for the request path: path → compact file entry, and a bit per set.
/// The parsed <see cref="Manifest"/> is not kept: its per-file objects cost several times more.
/// </summary>
internal sealed class ManifestIndex
{
    private ManifestIndex(bool loaded, long serial, DateTimeOffset published, int chunkSize,
        FrozenDictionary<string, FileEntry> files, FrozenDictionary<string, int> sets)
    {
        IsLoaded = loaded;
        Serial = serial;
        Published = published;
        ChunkSize = chunkSize;
        Files = files;
        Sets = sets;
        FilesBySpan = files.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>No manifest yet: every path is unknown.</summary>
    public static ManifestIndex Empty { get; } = new(false, 0, default, ManifestDefaults.ChunkSize,
        FrozenDictionary<string, FileEntry>.Empty, FrozenDictionary<string, int>.Empty);

    /// <summary>Whether a verified manifest has been loaded.</summary>
    public bool IsLoaded { get; }

    public long Serial { get; }

    public DateTimeOffset Published { get; }

    public int ChunkSize { get; }

    public FrozenDictionary<string, FileEntry> Files { get; }

    /// <summary>Lookup by a slice of the request path, so finding a file allocates nothing.</summary>
    public FrozenDictionary<string, FileEntry>.AlternateLookup<ReadOnlySpan<char>> FilesBySpan { get; }

    /// <summary>Set name → bit index (0–63).</summary>
    public FrozenDictionary<string, int> Sets { get; }

    public static ManifestIndex Build(Manifest manifest, CounterRegistry counters)
    {
        var sets = new Dictionary<string, int>(StringComparer.Ordinal);
        var setNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in manifest.Files)
        {
            var set = file.Set;
            if (!setNames.ContainsKey(set))
                setNames[set] = set;
            if (!sets.ContainsKey(set) && sets.Count < 64)
                sets[set] = sets.Count;
        }
        var files = new Dictionary<string, FileEntry>(manifest.Files.Count, StringComparer.Ordinal);
        foreach (var file in manifest.Files)
        {
            var hashes = new byte[32 * (1 + file.Chunks.Count)];
            Convert.FromHexString(file.Sha256, hashes.AsSpan(0, 32), out _, out _);
            for (var i = 0; i < file.Chunks.Count; i++)
                Convert.FromHexString(file.Chunks[i], hashes.AsSpan(32 * (i + 1), 32), out _, out _);
            var set = setNames[file.Set];
            files[file.Path] = new FileEntry(counters)
            {
                Path = file.Path,
                EscapedPath = EscapePath(file.Path),
                Size = file.Size,
                ChangedAt = file.ChangedAt,
                Set = set,
                SetBit = sets.TryGetValue(set, out var bit) ? 1UL << bit : 0,
                Hashes = hashes,
            };
        }
        return new ManifestIndex(true, manifest.Serial, manifest.Published, manifest.ChunkSize,
            files.ToFrozenDictionary(StringComparer.Ordinal), sets.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>Each segment percent-escaped so names with spaces or '#' survive in a Location header; the same instance when nothing changes.</summary>
    public static string EscapePath(string path)
    {
        var segments = path.Split('/');
        var changed = false;
        for (var i = 0; i < segments.Length; i++)
        {
            var escaped = Uri.EscapeDataString(segments[i]);
            changed |= !ReferenceEquals(escaped, segments[i]) && escaped != segments[i];
            segments[i] = escaped;
        }
        return changed ? string.Join('/', segments) : path;
    }
}
