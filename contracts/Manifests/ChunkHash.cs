using System.Security.Cryptography;

namespace Downloads.Contracts.Manifests;

/// <summary>
/// The one implementation of a manifest hash: SHA-256, written as lower-case hex (<see cref="ManifestFile.Sha256"/>,
/// <see cref="ManifestFile.Chunks"/>). The origin writes hashes with <see cref="Hex"/> (through <see cref="FileHasher"/>),
/// mirrors check chunks with <see cref="Matches"/>, the redirector's health probe checks a digest it computed
/// while streaming with <see cref="DigestMatches"/>. Nothing here allocates but <see cref="Hex"/>.
/// </summary>
public static class ChunkHash
{
    /// <summary>A SHA-256 digest as the manifest writes it.</summary>
    public static string Hex(ReadOnlySpan<byte> sha256) => Convert.ToHexStringLower(sha256);

    /// <summary>Whether the SHA-256 of <paramref name="bytes"/> is <paramref name="expectedHex"/>.</summary>
    public static bool Matches(ReadOnlySpan<byte> bytes, string expectedHex)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, hash);
        return DigestMatches(hash, expectedHex);
    }

    /// <summary>Whether a SHA-256 digest is <paramref name="expectedHex"/>.</summary>
    public static bool DigestMatches(ReadOnlySpan<byte> sha256, string expectedHex)
    {
        Span<char> hex = stackalloc char[SHA256.HashSizeInBytes * 2];
        Convert.TryToHexStringLower(sha256, hex, out var written);
        return hex[..written].SequenceEqual(expectedHex);
    }
}
