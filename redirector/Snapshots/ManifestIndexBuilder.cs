using System.Collections.Frozen;
using Downloads.Contracts.Checksums;
using Downloads.Contracts.Manifests;
using Downloads.Redirector.Counting;

namespace Downloads.Redirector.Snapshots;

/// <summary>
/// Collects a manifest's files as <see cref="ManifestReader"/> hands them over: path → compact entry, and a
/// bit per set in order of first appearance (the first 64 sets; later ones get no bit), and the folders that get a
/// generated checksum list.
/// </summary>
internal sealed class ManifestIndexBuilder(CounterRegistry counters)
{
    private readonly Dictionary<string, FileEntry> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _sets = new(StringComparer.Ordinal);

    /// <summary>Every set name once, so 100,000 entries share a few strings; looked up by a slice of the path.</summary>
    private readonly HashSet<string> _setNames = new(StringComparer.Ordinal);

    public void Add(ManifestEntry file)
    {
        // The reader accepts only paths with a set ("set/…"), so the slice is never empty.
        var slash = file.Path.IndexOf('/', StringComparison.Ordinal);
        var names = _setNames.GetAlternateLookup<ReadOnlySpan<char>>();
        if (!names.TryGetValue(file.Path.AsSpan(0, Math.Max(slash, 0)), out var set))
        {
            set = ManifestPaths.SetOf(file.Path);
            _setNames.Add(set);
            if (_sets.Count < 64)
                _sets[set] = _sets.Count;
        }
        _files[file.Path] = new FileEntry(counters)
        {
            Path = file.Path,
            EscapedPath = ManifestIndex.EscapePath(file.Path),
            Size = file.Size,
            ChangedAt = file.ChangedAt,
            Set = set,
            SetBit = _sets.TryGetValue(set, out var bit) ? 1UL << bit : 0,
            Hashes = file.Hashes,
        };
    }

    public ManifestIndex Build(ManifestHeader header) =>
        new(true, header.Serial, header.Published, header.ChunkSize,
            _files.ToFrozenDictionary(StringComparer.Ordinal), _sets.ToFrozenDictionary(StringComparer.Ordinal), Folders(header))
        {
            Expires = header.Expires,
        };

    /// <summary>The folders that get a generated checksum list, each with the origin's signature of it when the manifest has one.</summary>
    private FrozenDictionary<string, FolderEntry> Folders(ManifestHeader header)
    {
        var signatures = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var folder in header.Folders ?? [])
        {
            // The reader has checked each is base64 of the right length.
            if (FolderSignatures.Decode(folder.SumsSignature) is { } raw)
                signatures[folder.Path] = raw;
        }
        var folders = new Dictionary<string, FolderEntry>(StringComparer.Ordinal);
        foreach (var (path, files) in Sha256Sums.Folders(_files.Values, static f => f.Path))
            folders[path] = new FolderEntry
            {
                Path = path,
                Files = [.. files],
                Signature = signatures.GetValueOrDefault(path),
            };
        return folders.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
