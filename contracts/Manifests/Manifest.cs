using System.Text.Json.Serialization;

namespace Downloads.Contracts.Manifests;

/// <summary>
/// The origin's signed description of every published file. Serialised as JSON
/// (<see cref="ManifestCodec"/>) and signed detached with Ed25519 (<see cref="ManifestSigner"/>).
/// </summary>
public sealed record Manifest
{
    /// <summary>Format version of the document; readers refuse a version they do not know.</summary>
    public int Version { get; init; } = 1;

    /// <summary>Monotonically increasing publication number.</summary>
    public long Serial { get; init; }

    /// <summary>When the origin published this serial (UTC).</summary>
    public DateTimeOffset Published { get; init; }

    /// <summary>
    /// Until when this serial may be trusted as current (UTC, signed with the rest, as TUF's <c>expires</c>): the origin
    /// re-signs as the next serial before it lapses. A reader keeps using an expired manifest (it never stops serving for
    /// it) but flags it. A document without <c>expires</c> (written before it existed) reads as expired at
    /// <see cref="DateTimeOffset.MinValue"/>: never trusted as fresh.
    /// </summary>
    public DateTimeOffset Expires { get; init; }

    /// <summary>True when this manifest is past <see cref="Expires"/> at <paramref name="now"/>.</summary>
    public bool IsExpired(DateTimeOffset now) => now >= Expires;

    /// <summary>Size of every chunk but the last of a file, in bytes.</summary>
    public int ChunkSize { get; init; } = ManifestDefaults.ChunkSize;

    /// <summary>Every file, sorted by ordinal path.</summary>
    public IReadOnlyList<ManifestFile> Files { get; init; } = [];

    /// <summary>
    /// Per-folder signatures of the generated checksum lists (<see cref="Checksums.Sha256Sums"/>), sorted by ordinal
    /// path; absent from manifests written before them (and then not written, so such a manifest reads back the same).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ManifestFolder>? Folders { get; init; }
}

/// <summary>A folder's signed checksum list.</summary>
public sealed record ManifestFolder
{
    /// <summary>The folder's relative path, e.g. <c>noobs</c> or <c>os/lite</c>.</summary>
    public required string Path { get; init; }

    /// <summary>
    /// Base64 of the two Ed25519 signatures of the folder's generated <c>SHA256SUMS</c> (<see cref="Checksums.Minisign.SignRaw"/>),
    /// made with the manifest's key: the redirector serves them as <c>{path}/SHA256SUMS.minisig</c>, the rest of that file
    /// rebuilt (<see cref="Checksums.FolderSignatures.SignatureFile"/>). Only the signatures travel: 172 characters a folder.
    /// </summary>
    public required string SumsSignature { get; init; }
}

/// <summary>One published file.</summary>
public sealed record ManifestFile
{
    /// <summary>Relative path with '/' separators, e.g. <c>noobs/NOOBS_v4_0.zip</c>.</summary>
    public required string Path { get; init; }

    /// <summary>Size in bytes.</summary>
    public long Size { get; init; }

    /// <summary>Lower-case hex SHA-256 of the whole file.</summary>
    public required string Sha256 { get; init; }

    /// <summary>The serial at which this file's content last changed.</summary>
    public long ChangedAt { get; init; }

    /// <summary>Last modification time at the origin (UTC), served as Last-Modified.</summary>
    public DateTimeOffset Modified { get; init; }

    /// <summary>Lower-case hex SHA-256 of each chunk of <see cref="Manifest.ChunkSize"/> bytes.</summary>
    public IReadOnlyList<string> Chunks { get; init; } = [];

    /// <summary>The set (top-level folder) the file belongs to.</summary>
    public string Set => ManifestPaths.SetOf(Path);
}

/// <summary>Constants of the manifest format.</summary>
public static class ManifestDefaults
{
    /// <summary>4 MiB: large enough to keep the manifest small, small enough to resume cheaply.</summary>
    public const int ChunkSize = 4 * 1024 * 1024;

    /// <summary>Where origin and mirrors serve the manifest.</summary>
    public const string ManifestPath = "/-/manifest.json";

    /// <summary>Where origin and mirrors serve the detached signature of the manifest.</summary>
    public const string SignaturePath = "/-/manifest.json.sig";

    /// <summary>
    /// Most bytes a manifest may have (readers refuse more, whatever the server says): 512 MiB, about
    /// 2 million files at the 270 bytes a file takes. A body is never buffered past it.
    /// </summary>
    public const long MaxManifestBytes = 512L * 1024 * 1024;

    /// <summary>Most bytes a detached signature may have: base64 of 64 bytes and a line end, with room to spare.</summary>
    public const long MaxSignatureBytes = 4 * 1024;
}
