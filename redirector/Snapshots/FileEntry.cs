using Downloads.Redirector.Counting;

namespace Downloads.Redirector.Snapshots;

/// <summary>
/// One manifest file, compact (hashes as raw bytes, no per-file lists) since a snapshot may hold
/// 100,000 of them, with the header values the redirect path needs computed once per manifest.
/// </summary>
internal sealed class FileEntry
{
    private readonly CounterRegistry _counters;
    private Counter? _downloads;

    public FileEntry(CounterRegistry counters) => _counters = counters;

    /// <summary>Manifest path, e.g. <c>noobs/NOOBS v4.zip</c>.</summary>
    public required string Path { get; init; }

    /// <summary>The path with each segment percent-escaped (the same instance as <see cref="Path"/> when nothing needs escaping).</summary>
    public required string EscapedPath { get; init; }

    public long Size { get; init; }

    /// <summary>The serial at which the content last changed: mirrors below it are stale for this file.</summary>
    public long ChangedAt { get; init; }

    /// <summary>The file's set (shared string instance).</summary>
    public required string Set { get; init; }

    /// <summary>Bit of the file's set in <see cref="MirrorTable.SetMask"/>; 0 when the set has no bit (more than 64 sets).</summary>
    public ulong SetBit { get; init; }

    /// <summary>The whole-file SHA-256 (32 bytes) followed by each chunk's SHA-256.</summary>
    public required byte[] Hashes { get; init; }

    /// <summary><c>SHA-256=base64</c> (RFC 3230 Digest).</summary>
    public required string Digest { get; init; }

    /// <summary><c>sha-256=:base64:</c> (RFC 9530 Repr-Digest).</summary>
    public required string ReprDigest { get; init; }

    public string Sha256Hex => Convert.ToHexStringLower(Hashes.AsSpan(0, 32));

    public int ChunkCount => Hashes.Length / 32 - 1;

    public string ChunkHex(int chunk) => Convert.ToHexStringLower(Hashes.AsSpan(32 + chunk * 32, 32));

    /// <summary>Redirects for this file; the counter is created on first use so unrequested files cost nothing.</summary>
    public Counter Downloads => _downloads ?? Interlocked.CompareExchange(ref _downloads, _counters.File(Path), null) ?? _downloads;
}
