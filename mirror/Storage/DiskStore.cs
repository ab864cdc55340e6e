using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using Downloads.Contracts.Hosting;
using Downloads.Contracts.Manifests;

namespace Downloads.Mirror.Storage;

/// <summary>
/// The mirror's data folder. Layout (see docs/sync.md):
/// <list type="bullet">
/// <item><c>objects/ab/abcd…</c> — verified files, named by their SHA-256 (content-addressed, write-once);</item>
/// <item><c>partial/{sha}.part</c> + <c>{sha}.chunks</c> — a file being fetched and its record of verified chunks;</item>
/// <item><c>live.json</c> — the pointer to the live serial (signed manifest, signature, retired files).</item>
/// </list>
/// Why content-addressed: a new serial needs no copy or hard link of unchanged files, an object is
/// only ever created by renaming a fully verified partial into place, and swapping <c>live.json</c>
/// (one rename) switches every path of a serial at once. Clients can only reach an object through
/// the live snapshot, so a partial or unverified file is never served.
/// </summary>
public sealed class DiskStore : IDisposable
{
    private readonly FileStream _lock;

    /// <summary>Creates the store over <paramref name="dataDir"/>; one mirror process per folder (a lock file enforces it).</summary>
    public DiskStore(string dataDir)
    {
        Root = Path.GetFullPath(dataDir);
        Directory.CreateDirectory(ObjectsDir);
        Directory.CreateDirectory(PartialDir);
        try
        {
            _lock = new FileStream(Path.Combine(Root, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException($"Mirror:DataDir '{Root}' is in use by another mirror process; give each mirror its own folder.", ex);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _lock.Dispose();

    /// <summary>The data folder.</summary>
    public string Root { get; }

    private string ObjectsDir => Path.Combine(Root, "objects");

    /// <summary>Folder of partial downloads.</summary>
    public string PartialDir => Path.Combine(Root, "partial");

    private string LivePath => Path.Combine(Root, "live.json");

    /// <summary>Where the verified bytes of <paramref name="sha256"/> live.</summary>
    public string ObjectPath(string sha256) => Path.Combine(ObjectsDir, sha256[..2], sha256);

    /// <summary>Whether a verified object with this hash and size is on disk.</summary>
    public bool HasObject(string sha256, long size)
    {
        var info = new FileInfo(ObjectPath(sha256));
        return info.Exists && info.Length == size;
    }

    /// <summary>Moves a fully verified partial into the object store (atomic rename).</summary>
    public void CommitObject(string sha256, string verifiedPath)
    {
        var target = ObjectPath(sha256);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Move(verifiedPath, target, overwrite: true);
    }

    /// <summary>Creates an empty object (a zero-byte file has no chunks to fetch).</summary>
    public void CommitEmptyObject(string sha256)
    {
        var target = ObjectPath(sha256);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.WriteAllBytes(target, []);
    }

    /// <summary>Reads the live record; null when none, unreadable, or signed by neither of <paramref name="keys"/>.</summary>
    internal (LiveRecord Record, Manifest Manifest, byte[] Bytes, PinnedKey Key)? LoadLive(PinnedKeys keys, out string? error)
    {
        error = null;
        if (!File.Exists(LivePath))
            return null;
        try
        {
            var record = JsonSerializer.Deserialize(File.ReadAllBytes(LivePath), LiveRecordJsonContext.Default.LiveRecord);
            if (record is null)
            {
                error = "live.json is empty";
                return null;
            }
            var bytes = Convert.FromBase64String(record.ManifestBase64);
            var key = keys.Verify(bytes, record.Signature);
            if (key == PinnedKey.None)
            {
                error = "live.json's manifest is signed by neither pinned key (key changed?)";
                return null;
            }
            var manifest = ManifestCodec.TryParse(bytes, out error);
            return manifest is null ? null : (record, manifest, bytes, key);
        }
        catch (Exception ex) when (ex is IOException or JsonException or FormatException)
        {
            error = $"live.json cannot be read: {ex.Message}";
            return null;
        }
    }

    /// <summary>Atomically replaces the live record.</summary>
    internal Task SaveLiveAsync(LiveRecord record, CancellationToken cancellationToken) =>
        AtomicFile.WriteAllBytesAsync(LivePath, JsonSerializer.SerializeToUtf8Bytes(record, LiveRecordJsonContext.Default.LiveRecord), cancellationToken);

    /// <summary>
    /// The servable view of a record: the carried files of the manifest whose objects are on disk,
    /// plus retired files still in their grace period.
    /// </summary>
    internal LiveSnapshot BuildSnapshot(LiveRecord record, Manifest manifest, byte[] manifestBytes, IReadOnlyList<string> sets, DateTimeOffset now, bool checkObjects)
    {
        var files = new Dictionary<string, LiveFile>(manifest.Files.Count, StringComparer.Ordinal);
        foreach (var retired in record.Retired)
        {
            if (retired.Until > now && (!checkObjects || HasObject(retired.File.Sha256, retired.File.Size)))
                files[retired.File.Path] = new LiveFile(retired.File, ObjectPath(retired.File.Sha256), retired.Until);
        }
        foreach (var file in manifest.Files)
        {
            if (!Carries(sets, file.Path) || (checkObjects && !HasObject(file.Sha256, file.Size)))
                continue;
            files[file.Path] = new LiveFile(file, ObjectPath(file.Sha256));
        }
        return new LiveSnapshot(manifest, manifestBytes, Encoding.ASCII.GetBytes(record.Signature), files.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>Whether a mirror configured for <paramref name="sets"/> (empty: all) carries <paramref name="path"/>.</summary>
    public static bool Carries(IReadOnlyList<string> sets, string path)
    {
        if (sets.Count == 0)
            return true;
        var set = ManifestPaths.SetOf(path);
        for (var i = 0; i < sets.Count; i++)
        {
            if (string.Equals(sets[i], set, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    /// <summary>
    /// Deletes the objects and the partial downloads whose hash is not in <paramref name="keep"/> (what the live
    /// serial references: an object is named by its hash, a partial by the hash it is becoming); returns how many files went.
    /// </summary>
    public int CollectGarbage(IReadOnlySet<string> keep)
    {
        var removed = 0;
        foreach (var file in Directory.EnumerateFiles(ObjectsDir, "*", SearchOption.AllDirectories))
        {
            if (!keep.Contains(Path.GetFileName(file)))
            {
                File.Delete(file);
                removed++;
            }
        }
        foreach (var file in Directory.EnumerateFiles(PartialDir))
        {
            var name = Path.GetFileName(file);
            var dot = name.IndexOf('.', StringComparison.Ordinal);
            if (dot <= 0 || !keep.Contains(name[..dot]))
            {
                File.Delete(file);
                removed++;
            }
        }
        return removed;
    }
}
