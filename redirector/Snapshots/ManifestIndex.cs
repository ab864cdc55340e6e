using System.Collections.Frozen;
using Downloads.Contracts.Manifests;
using Downloads.Redirector.Counting;

namespace Downloads.Redirector.Snapshots;

/// <summary>
/// A verified manifest indexed for the request path: path → compact file entry, and a bit per set.
/// Built from the manifest bytes file by file (<see cref="ManifestIndexBuilder"/>): a parsed
/// <see cref="Manifest"/> costs several times the index, and holding both was the redirector's peak.
/// </summary>
internal sealed class ManifestIndex
{
    internal ManifestIndex(bool loaded, long serial, DateTimeOffset published, int chunkSize,
        FrozenDictionary<string, FileEntry> files, FrozenDictionary<string, int> sets, FrozenDictionary<string, FolderEntry> folders)
    {
        IsLoaded = loaded;
        Serial = serial;
        Published = published;
        ChunkSize = chunkSize;
        Files = files;
        Sets = sets;
        FilesBySpan = files.GetAlternateLookup<ReadOnlySpan<char>>();
        Folders = folders;
        FoldersBySpan = folders.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>No manifest yet: every path is unknown.</summary>
    public static ManifestIndex Empty { get; } = new(false, 0, default, ManifestDefaults.ChunkSize,
        FrozenDictionary<string, FileEntry>.Empty, FrozenDictionary<string, int>.Empty, FrozenDictionary<string, FolderEntry>.Empty);

    /// <summary>Whether a verified manifest has been loaded.</summary>
    public bool IsLoaded { get; }

    public long Serial { get; }

    public DateTimeOffset Published { get; }

    /// <summary>The manifest's signed expiry (<see cref="Manifest.Expires"/>); past it the redirector flags it but keeps routing with it.</summary>
    public DateTimeOffset Expires { get; init; }

    /// <summary>Which pinned key verified the manifest (<see cref="PinnedKey.None"/> for an index not built from a fetch).</summary>
    public PinnedKey VerifiedBy { get; private set; }

    /// <summary>True when the manifest is loaded and past <see cref="Expires"/> at <paramref name="now"/>.</summary>
    public bool IsExpired(DateTimeOffset now) => IsLoaded && now >= Expires;

    /// <summary>Records which key verified the document; called once by the fetcher before the index is shared.</summary>
    internal ManifestIndex VerifiedWith(PinnedKey key)
    {
        VerifiedBy = key;
        return this;
    }

    public int ChunkSize { get; }

    public FrozenDictionary<string, FileEntry> Files { get; }

    /// <summary>Lookup by a slice of the request path, so finding a file allocates nothing.</summary>
    public FrozenDictionary<string, FileEntry>.AlternateLookup<ReadOnlySpan<char>> FilesBySpan { get; }

    /// <summary>Folder path → the folder's generated checksum list (<see cref="Contracts.Checksums.Sha256Sums.Folders"/>).</summary>
    public FrozenDictionary<string, FolderEntry> Folders { get; }

    /// <summary>Lookup by a slice of the request path.</summary>
    public FrozenDictionary<string, FolderEntry>.AlternateLookup<ReadOnlySpan<char>> FoldersBySpan { get; }

    /// <summary>Set name → bit index (0–63).</summary>
    public FrozenDictionary<string, int> Sets { get; }

    /// <summary>
    /// Reads verified manifest bytes straight into an index (<see cref="ManifestReader"/>'s rules): the parsed
    /// document is never held, only each file's compact entry. Null and a one-line reason when the manifest is invalid.
    /// </summary>
    public static ManifestIndex? TryRead(ReadOnlySpan<byte> json, CounterRegistry counters, out string? error)
    {
        var builder = new ManifestIndexBuilder(counters);
        return ManifestReader.TryRead(json, builder.Add, out var header, out error) ? builder.Build(header) : null;
    }

    /// <summary>An index of an already parsed manifest (tests and benchmarks build theirs this way).</summary>
    public static ManifestIndex Build(Manifest manifest, CounterRegistry counters)
    {
        var builder = new ManifestIndexBuilder(counters);
        foreach (var file in manifest.Files)
        {
            var hashes = new byte[32 * (1 + file.Chunks.Count)];
            Convert.FromHexString(file.Sha256, hashes.AsSpan(0, 32), out _, out _);
            for (var i = 0; i < file.Chunks.Count; i++)
                Convert.FromHexString(file.Chunks[i], hashes.AsSpan(32 * (i + 1), 32), out _, out _);
            builder.Add(new ManifestEntry(file.Path, file.Size, file.ChangedAt, file.Modified, hashes));
        }
        return builder.Build(new ManifestHeader(manifest.Version, manifest.Serial, manifest.Published, manifest.ChunkSize, manifest.Folders, manifest.Expires));
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
