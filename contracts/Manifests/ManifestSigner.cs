using NSec.Cryptography;

namespace Downloads.Contracts.Manifests;

/// <summary>
/// Ed25519 detached signatures over the exact manifest bytes. Keys travel as base64 of the raw
/// 32-byte public key and the raw 32-byte private seed, so they fit in configuration and files.
/// </summary>
public static class ManifestSigner
{
    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;

    /// <summary>Creates a new key pair as (privateSeedBase64, publicKeyBase64).</summary>
    public static (string PrivateKey, string PublicKey) GenerateKeyPair()
    {
        using var key = Key.Create(Algorithm, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var seed = key.Export(KeyBlobFormat.RawPrivateKey);
        var pub = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        return (Convert.ToBase64String(seed), Convert.ToBase64String(pub));
    }

    /// <summary>Signs <paramref name="data"/> with a base64 private seed; returns the base64 signature.</summary>
    public static string Sign(ReadOnlySpan<byte> data, string privateKeyBase64)
    {
        using var key = Key.Import(Algorithm, Convert.FromBase64String(privateKeyBase64.Trim()), KeyBlobFormat.RawPrivateKey);
        return Convert.ToBase64String(Algorithm.Sign(key, data));
    }

    /// <summary>The signing key of a base64 private seed, for signing many documents with one import (dispose it).</summary>
    public static Key ImportPrivateKey(string privateKeyBase64) =>
        Key.Import(Algorithm, Convert.FromBase64String(privateKeyBase64.Trim()), KeyBlobFormat.RawPrivateKey);

    /// <summary>The base64 public key that belongs to a base64 private seed.</summary>
    public static string PublicKeyOf(string privateKeyBase64)
    {
        using var key = Key.Import(Algorithm, Convert.FromBase64String(privateKeyBase64.Trim()), KeyBlobFormat.RawPrivateKey);
        return Convert.ToBase64String(key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }

    /// <summary>True when <paramref name="signatureBase64"/> is a valid signature of <paramref name="data"/>.</summary>
    public static bool Verify(ReadOnlySpan<byte> data, string signatureBase64, string publicKeyBase64)
    {
        Span<byte> signature = stackalloc byte[64];
        Span<byte> publicKey = stackalloc byte[32];
        if (!Convert.TryFromBase64String(signatureBase64.Trim(), signature, out var sigLen) || sigLen != 64)
            return false;
        if (!Convert.TryFromBase64String(publicKeyBase64.Trim(), publicKey, out var keyLen) || keyLen != 32)
            return false;
        if (!PublicKey.TryImport(Algorithm, publicKey, KeyBlobFormat.RawPublicKey, out var key) || key is null)
            return false;
        return Algorithm.Verify(key, data, signature);
    }
}
