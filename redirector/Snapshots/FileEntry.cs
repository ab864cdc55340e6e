using Downloads.Redirector.Counting;

namespace Downloads.Redirector.Snapshots;

/// <summary>
/// One manifest file, compact (hashes as raw bytes, no per-file lists) since a snapshot may hold
/// 100,000 of them. The digest header values the redirect path sends are built on the file's first
/// redirect and kept: computed up front they were ~270 bytes a file (~27 MB at 100,000 files), most of
/// them for files nobody asks for; built lazily, a file's later redirects still allocate nothing.
/// </summary>
internal sealed class FileEntry
{
    private const string DigestPrefix = "SHA-256=";
    private const string ReprDigestPrefix = "sha-256=:";

    /// <summary>Base64 length of a 32-byte hash.</summary>
    private const int Base64Length = 44;

    private readonly CounterRegistry _counters;
    private OutcomeCounts? _counts;
    private string? _digest;
    private string? _reprDigest;

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

    /// <summary><c>SHA-256=base64</c> (RFC 3230 Digest), built on first use; racing first uses keep one instance.</summary>
    public string Digest => _digest ?? Interlocked.CompareExchange(ref _digest, Header(this, DigestPrefix, ""), null) ?? _digest;

    /// <summary><c>sha-256=:base64:</c> (RFC 9530 Repr-Digest), built on first use; racing first uses keep one instance.</summary>
    public string ReprDigest => _reprDigest ?? Interlocked.CompareExchange(ref _reprDigest, Header(this, ReprDigestPrefix, ":"), null) ?? _reprDigest;

    public string Sha256Hex => Convert.ToHexStringLower(Hashes.AsSpan(0, 32));

    public int ChunkCount => Hashes.Length / 32 - 1;

    public string ChunkHex(int chunk) => Convert.ToHexStringLower(Hashes.AsSpan(32 + chunk * 32, 32));

    /// <summary><paramref name="prefix"/>, the whole-file hash in base64, <paramref name="suffix"/>: one allocation.</summary>
    private static string Header(FileEntry entry, string prefix, string suffix) =>
        string.Create(prefix.Length + Base64Length + suffix.Length, (entry.Hashes, prefix, suffix), static (span, state) =>
        {
            state.prefix.CopyTo(span);
            Convert.TryToBase64Chars(state.Hashes.AsSpan(0, 32), span[state.prefix.Length..], out _);
            state.suffix.CopyTo(span[^state.suffix.Length..]);
        });

    /// <summary>Requests for this file by outcome; the counters are created on first use so unrequested files cost nothing.</summary>
    public OutcomeCounts Counts => _counts ?? Interlocked.CompareExchange(ref _counts, _counters.File(Path), null) ?? _counts;
}
