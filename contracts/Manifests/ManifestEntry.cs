namespace Downloads.Contracts.Manifests;

/// <summary>
/// One file as <see cref="ManifestReader"/> hands it over: the hashes already decoded, so reading a
/// manifest creates no string per chunk.
/// </summary>
/// <param name="Path">Clean relative path (<see cref="ManifestPaths.IsValid"/>), e.g. <c>noobs/NOOBS_v4_0.zip</c>.</param>
/// <param name="Size">Size in bytes, never negative.</param>
/// <param name="ChangedAt">The serial at which the file's content last changed.</param>
/// <param name="Modified">Last modification time at the origin (UTC).</param>
/// <param name="Hashes">A fresh array owned by the receiver: the whole-file SHA-256 (32 bytes), then each chunk's SHA-256 (32 bytes each).</param>
public readonly record struct ManifestEntry(string Path, long Size, long ChangedAt, DateTimeOffset Modified, byte[] Hashes)
{
    /// <summary>Bytes of one SHA-256.</summary>
    public const int HashLength = 32;

    /// <summary>The whole-file SHA-256.</summary>
    public ReadOnlySpan<byte> Sha256 => Hashes.AsSpan(0, HashLength);

    /// <summary>Number of chunk hashes.</summary>
    public int ChunkCount => Hashes.Length / HashLength - 1;

    /// <summary>The SHA-256 of chunk <paramref name="index"/> (0-based).</summary>
    public ReadOnlySpan<byte> Chunk(int index) => Hashes.AsSpan(HashLength * (index + 1), HashLength);
}

/// <summary>The document-level fields of a manifest, as <see cref="ManifestReader"/> read them.</summary>
/// <param name="Version">Format version (always <see cref="ManifestCodec.CurrentVersion"/> once accepted).</param>
/// <param name="Serial">Publication number.</param>
/// <param name="Published">When the origin published this serial (UTC).</param>
/// <param name="ChunkSize">Size of every chunk but the last of a file, in bytes; positive.</param>
/// <param name="Folders">The folders' checksum-list signatures in document order, or null when the manifest has none (written before them).</param>
/// <param name="Expires">The signed expiry (<see cref="Manifest.Expires"/>); <see cref="DateTimeOffset.MinValue"/> when the document has none.</param>
public readonly record struct ManifestHeader(int Version, long Serial, DateTimeOffset Published, int ChunkSize,
    IReadOnlyList<ManifestFolder>? Folders = null, DateTimeOffset Expires = default);
