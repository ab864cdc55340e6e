using System.Collections.Frozen;
using Downloads.Contracts.Manifests;

namespace Downloads.Mirror.Storage;

/// <summary>
/// What the mirror serves right now: one verified serial, swapped atomically by the sync engine
/// once every file of that serial is verified on disk. Serving reads <see cref="Current"/> without
/// locks; nothing outside a published <see cref="LiveSnapshot"/> is ever served.
/// </summary>
public sealed class LiveTree
{
    private LiveSnapshot _current = LiveSnapshot.Empty;

    /// <summary>The snapshot being served.</summary>
    public LiveSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Raised after a new snapshot is published.</summary>
    public event Action<LiveSnapshot>? Published;

    /// <summary>Makes <paramref name="snapshot"/> the served one.</summary>
    public void Publish(LiveSnapshot snapshot)
    {
        Volatile.Write(ref _current, snapshot);
        Published?.Invoke(snapshot);
    }
}

/// <summary>An immutable view of one verified serial on disk.</summary>
public sealed class LiveSnapshot
{
    /// <summary>Nothing synced yet: serves no file and no manifest.</summary>
    public static readonly LiveSnapshot Empty = new(null, [], [], FrozenDictionary<string, LiveFile>.Empty);

    /// <summary>Creates a snapshot.</summary>
    public LiveSnapshot(Manifest? manifest, byte[] manifestBytes, byte[] signatureBytes, FrozenDictionary<string, LiveFile> files)
    {
        Manifest = manifest;
        ManifestBytes = manifestBytes;
        SignatureBytes = signatureBytes;
        Files = files;
    }

    /// <summary>The verified manifest, or null before the first sync.</summary>
    public Manifest? Manifest { get; }

    /// <summary>Serial of <see cref="Manifest"/>, 0 before the first sync.</summary>
    public long Serial => Manifest?.Serial ?? 0;

    /// <summary>The exact manifest bytes as signed upstream, re-served to tier-2 mirrors.</summary>
    public byte[] ManifestBytes { get; }

    /// <summary>The detached signature of <see cref="ManifestBytes"/>.</summary>
    public byte[] SignatureBytes { get; }

    /// <summary>Servable files by relative path: the current serial's, plus deleted ones still in their grace period.</summary>
    public FrozenDictionary<string, LiveFile> Files { get; }
}

/// <summary>One servable, verified file.</summary>
/// <param name="Entry">Its manifest entry.</param>
/// <param name="PhysicalPath">Absolute path of the verified bytes on disk.</param>
/// <param name="RetiredUntil">For a file deleted upstream and kept for the grace period: when it goes; else null.</param>
public sealed record LiveFile(ManifestFile Entry, string PhysicalPath, DateTimeOffset? RetiredUntil = null);
