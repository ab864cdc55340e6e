using System.Security.Cryptography;

namespace Downloads.Mirror.Storage;

/// <summary>The one check of bytes against a manifest chunk hash (lowercase hex SHA-256), without allocating.</summary>
public static class ChunkHash
{
    /// <summary>Whether the SHA-256 of <paramref name="bytes"/> is <paramref name="expectedHex"/>.</summary>
    public static bool Matches(ReadOnlySpan<byte> bytes, string expectedHex)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, hash);
        Span<char> hex = stackalloc char[SHA256.HashSizeInBytes * 2];
        Convert.TryToHexStringLower(hash, hex, out _);
        return hex.SequenceEqual(expectedHex);
    }
}
