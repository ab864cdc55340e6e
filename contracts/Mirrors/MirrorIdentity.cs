using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Downloads.Contracts.Manifests;

namespace Downloads.Contracts.Mirrors;

/// <summary>
/// A mirror's own identity, made on the mirror's host at enrollment: an Ed25519 key pair and a Redis
/// password. The private key and the password never leave the host; enrollment sends the public key and
/// the SHA-256 of the password, from which ops' approval creates the mirror's Redis user
/// (<c>ACL SETUSER dl-m-{id} on #sha256 …</c>). docs/membership.md.
/// </summary>
public static class MirrorIdentity
{
    /// <summary>A new random Redis password: 32 random bytes as 64 hex digits.</summary>
    public static string NewPassword() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>A new Ed25519 key pair as (privateSeedBase64, publicKeyBase64).</summary>
    public static (string PrivateKey, string PublicKey) NewKeyPair() => ManifestSigner.GenerateKeyPair();

    /// <summary>The lower-case hex SHA-256 of a password, the form Redis takes after <c>#</c> in <c>ACL SETUSER</c>.</summary>
    public static string PasswordSha256(string password) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(password)));

    /// <summary>Whether <paramref name="hash"/> is exactly 64 lower-case hex digits (nothing else may follow <c>#</c> in an ACL rule).</summary>
    public static bool IsPasswordSha256([NotNullWhen(true)] string? hash)
    {
        if (hash is not { Length: 64 })
            return false;
        foreach (var c in hash)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
                return false;
        }
        return true;
    }

    /// <summary>Whether <paramref name="publicKey"/> is the base64 of a 32-byte Ed25519 public key (44 characters).</summary>
    public static bool IsPublicKey([NotNullWhen(true)] string? publicKey)
    {
        if (publicKey is not { Length: 44 })
            return false;
        Span<byte> bytes = stackalloc byte[33];
        return Convert.TryFromBase64String(publicKey, bytes, out var length) && length == 32
            && NSec.Cryptography.PublicKey.TryImport(NSec.Cryptography.SignatureAlgorithm.Ed25519, bytes[..32],
                NSec.Cryptography.KeyBlobFormat.RawPublicKey, out _);
    }
}
