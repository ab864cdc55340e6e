using System.Collections.Frozen;
using Downloads.Contracts.Manifests;
using Downloads.Redirector.Counting;

namespace Downloads.Redirector.Snapshots;

/// <summary>A verified manifest indexed for the request path: path → file entry, and a bit per set.</summary>
internal sealed class ManifestIndex
{
    private ManifestIndex(Manifest? manifest, FrozenDictionary<string, FileEntry> files, FrozenDictionary<string, int> sets)
    {
        Manifest = manifest;
        Files = files;
        Sets = sets;
        FilesBySpan = files.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>No manifest yet: every path is unknown.</summary>
    public static ManifestIndex Empty { get; } = new(null, FrozenDictionary<string, FileEntry>.Empty, FrozenDictionary<string, int>.Empty);

    public Manifest? Manifest { get; }

    public long Serial => Manifest?.Serial ?? 0;

    public FrozenDictionary<string, FileEntry> Files { get; }

    /// <summary>Lookup by a slice of the request path, so finding a file allocates nothing.</summary>
    public FrozenDictionary<string, FileEntry>.AlternateLookup<ReadOnlySpan<char>> FilesBySpan { get; }

    /// <summary>Set name → bit index (0–63).</summary>
    public FrozenDictionary<string, int> Sets { get; }

    public static ManifestIndex Build(Manifest manifest, CounterRegistry counters)
    {
        var sets = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var file in manifest.Files)
        {
            var set = file.Set;
            if (!sets.ContainsKey(set) && sets.Count < 64)
                sets[set] = sets.Count;
        }
        var files = new Dictionary<string, FileEntry>(manifest.Files.Count, StringComparer.Ordinal);
        foreach (var file in manifest.Files)
        {
            var hash = Convert.FromHexString(file.Sha256);
            var b64 = Convert.ToBase64String(hash);
            files[file.Path] = new FileEntry
            {
                File = file,
                UrlPath = EscapePath(file.Path),
                SetBit = sets.TryGetValue(file.Set, out var bit) ? 1UL << bit : 0,
                Digest = "SHA-256=" + b64,
                ReprDigest = "sha-256=:" + b64 + ":",
                Downloads = counters.File(file.Path),
            };
        }
        return new ManifestIndex(manifest, files.ToFrozenDictionary(StringComparer.Ordinal), sets.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>"/" + each segment percent-escaped, so names with spaces or '#' survive in a Location header.</summary>
    public static string EscapePath(string path)
    {
        var segments = path.Split('/');
        for (var i = 0; i < segments.Length; i++)
            segments[i] = Uri.EscapeDataString(segments[i]);
        return "/" + string.Join('/', segments);
    }
}
