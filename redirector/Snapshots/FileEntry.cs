using Downloads.Contracts.Manifests;
using Downloads.Redirector.Counting;

namespace Downloads.Redirector.Snapshots;

/// <summary>One manifest file with the header values computed once per snapshot instead of once per request.</summary>
internal sealed class FileEntry
{
    public required ManifestFile File { get; init; }

    /// <summary>"/" + the path with each segment percent-escaped, appended to a mirror's base URL.</summary>
    public required string UrlPath { get; init; }

    /// <summary>Bit of the file's set in <see cref="MirrorPoint.SetMask"/>; 0 when the set has no bit (more than 64 sets).</summary>
    public ulong SetBit { get; init; }

    /// <summary><c>SHA-256=base64</c> (RFC 3230 Digest).</summary>
    public required string Digest { get; init; }

    /// <summary><c>sha-256=:base64:</c> (RFC 9530 Repr-Digest).</summary>
    public required string ReprDigest { get; init; }

    public required Counter Downloads { get; init; }
}
