using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;
using HashAlgorithm = NSec.Cryptography.HashAlgorithm;

namespace Downloads.Contracts.Checksums;

/// <summary>
/// Minisign's file formats (https://jedisct1.github.io/minisign/) over the origin's Ed25519 key, so that a stock
/// <c>minisign -V</c> (Debian's <c>minisign</c> package) verifies what the network signs, with no key of its own.
/// Signatures are minisign's default, prehashed kind (algorithm <c>ED</c>: Ed25519 over the BLAKE2b-512 of the
/// file), which every minisign since 0.8 verifies, also with <c>-H</c> that refuses the legacy kind.
/// </summary>
public static class Minisign
{
    /// <summary>Bytes of the key id minisign puts in keys and signatures.</summary>
    public const int KeyIdLength = 8;

    /// <summary>Longest trusted comment minisign accepts, in bytes.</summary>
    public const int MaxTrustedCommentBytes = 8192;

    /// <summary>Bytes of <see cref="SignRaw"/>'s output: the file's signature and its global signature.</summary>
    public const int RawLength = 2 * SignatureLength;

    /// <summary>Longest signature file this code writes or accepts, in characters (a full trusted comment and the fixed lines).</summary>
    public const int MaxSignatureLength = MaxTrustedCommentBytes + 512;

    private const string UntrustedPrefix = "untrusted comment: ";
    private const string TrustedPrefix = "trusted comment: ";
    private const int SignatureLength = 64;
    private const int PublicKeyLength = 32;

    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;

    /// <summary>"Ed": the public key's algorithm, and the legacy signature kind over the raw file.</summary>
    private static ReadOnlySpan<byte> Ed => "Ed"u8;

    /// <summary>"ED": a signature over the file's BLAKE2b-512 (minisign's default since 0.10).</summary>
    private static ReadOnlySpan<byte> Prehashed => "ED"u8;

    /// <summary>
    /// The key id of a raw Ed25519 public key. A minisign key pair gets a random id when it is made; the network's key
    /// was made without one, so the id is derived from the public key (its SHA-256's first 8 bytes): the origin that
    /// signs and the redirector that publishes the key get the same id with nothing more to configure.
    /// </summary>
    public static byte[] KeyId(ReadOnlySpan<byte> publicKey) => SHA256.HashData(publicKey)[..KeyIdLength];

    /// <summary>The key id as minisign prints it (upper-case hex of the id read as a little-endian number).</summary>
    public static string KeyIdText(ReadOnlySpan<byte> keyId) =>
        BinaryPrimitives.ReadUInt64LittleEndian(keyId).ToString("X16", CultureInfo.InvariantCulture);

    /// <summary>
    /// The public key line minisign takes with <c>-P</c> (base64 of "Ed", key id, key) for a base64 raw Ed25519 public
    /// key (<c>Redirector:PublicKey</c>, <c>Mirror:PublicKey</c>); null when that is not a 32-byte key.
    /// </summary>
    public static string? PublicKeyLine(string publicKeyBase64)
    {
        if (RawPublicKey(publicKeyBase64) is not { } key)
            return null;
        var blob = new byte[2 + KeyIdLength + PublicKeyLength];
        Ed.CopyTo(blob);
        KeyId(key).CopyTo(blob, 2);
        key.CopyTo(blob, 2 + KeyIdLength);
        return Convert.ToBase64String(blob);
    }

    /// <summary>A <c>minisign.pub</c> file (the form <c>-p FILE</c> reads) for a base64 raw Ed25519 public key; null when it is not one.</summary>
    public static string? PublicKeyFile(string publicKeyBase64) =>
        PublicKeyLine(publicKeyBase64) is { } line
            ? $"{UntrustedPrefix}minisign public key {KeyIdText(KeyId(RawPublicKey(publicKeyBase64)))}\n{line}\n"
            : null;

    /// <summary>
    /// A detached signature file (<c>FILE.minisig</c>) of <paramref name="data"/>: prehashed, with
    /// <paramref name="trustedComment"/> signed along (one line, at most <see cref="MaxTrustedCommentBytes"/> bytes).
    /// </summary>
    public static string Sign(ReadOnlySpan<byte> data, Key key, string trustedComment) =>
        File(SignRaw(data, key, trustedComment), KeyId(key.PublicKey.Export(KeyBlobFormat.RawPublicKey)), trustedComment);

    /// <summary>
    /// The two signatures a signature file carries, and nothing it can be rebuilt without (<see cref="RawLength"/> bytes:
    /// the prehashed signature of <paramref name="data"/>, then the global signature over it and <paramref name="trustedComment"/>).
    /// <see cref="File"/> makes the file again from them, the key id and the same trusted comment.
    /// </summary>
    public static byte[] SignRaw(ReadOnlySpan<byte> data, Key key, string trustedComment)
    {
        if (key.Algorithm != Ed25519)
            throw new ArgumentException("minisign signs with an Ed25519 key", nameof(key));
        if (trustedComment.Contains('\n', StringComparison.Ordinal) || trustedComment.Contains('\r', StringComparison.Ordinal)
            || Encoding.UTF8.GetByteCount(trustedComment) > MaxTrustedCommentBytes)
            throw new ArgumentException($"a trusted comment is one line of at most {MaxTrustedCommentBytes} bytes", nameof(trustedComment));
        var raw = new byte[RawLength];
        Ed25519.Sign(key, HashAlgorithm.Blake2b_512.Hash(data), raw.AsSpan(0, SignatureLength));
        Ed25519.Sign(key, GlobalMessage(raw.AsSpan(0, SignatureLength), trustedComment), raw.AsSpan(SignatureLength));
        return raw;
    }

    /// <summary>The signature file (prehashed) made of <see cref="SignRaw"/>'s bytes, the signing key's id and its trusted comment.</summary>
    public static string File(ReadOnlySpan<byte> raw, ReadOnlySpan<byte> keyId, string trustedComment)
    {
        if (raw.Length != RawLength || keyId.Length != KeyIdLength)
            throw new ArgumentException($"a raw signature is {RawLength} bytes and a key id {KeyIdLength}");
        var blob = new byte[2 + KeyIdLength + SignatureLength];
        Prehashed.CopyTo(blob);
        keyId.CopyTo(blob.AsSpan(2));
        raw[..SignatureLength].CopyTo(blob.AsSpan(2 + KeyIdLength));
        return $"{UntrustedPrefix}signature from the Downloads origin key\n{Convert.ToBase64String(blob)}\n"
            + $"{TrustedPrefix}{trustedComment}\n{Convert.ToBase64String(raw[SignatureLength..])}\n";
    }

    /// <summary>
    /// True when <paramref name="signatureFile"/> is a minisign signature of <paramref name="data"/> (prehashed or legacy)
    /// by the base64 raw Ed25519 public key, its trusted comment included: what <c>minisign -V</c> checks.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> data, string signatureFile, string publicKeyBase64)
    {
        if (RawPublicKey(publicKeyBase64) is not { } raw || !TryParse(signatureFile, out var parsed)
            || !PublicKey.TryImport(Ed25519, raw, KeyBlobFormat.RawPublicKey, out var key) || key is null)
            return false;
        var blob = parsed.Signature;
        if (!blob.AsSpan(2, KeyIdLength).SequenceEqual(KeyId(raw)))
            return false;
        var signature = blob.AsSpan(2 + KeyIdLength);
        var signed = blob.AsSpan(0, 2).SequenceEqual(Prehashed) ? HashAlgorithm.Blake2b_512.Hash(data) : data.ToArray();
        return Ed25519.Verify(key, signed, signature)
            && Ed25519.Verify(key, GlobalMessage(signature, parsed.TrustedComment), parsed.GlobalSignature);
    }

    /// <summary>True when <paramref name="signatureFile"/> has minisign's shape (four lines, the right lengths); says nothing of who signed it.</summary>
    public static bool IsWellFormed(string signatureFile) => TryParse(signatureFile, out _);

    /// <summary>The signed (trusted) comment of a well-formed signature file, else null.</summary>
    public static string? TrustedCommentOf(string signatureFile) => TryParse(signatureFile, out var parsed) ? parsed.TrustedComment : null;

    private static byte[] GlobalMessage(ReadOnlySpan<byte> signature, string trustedComment)
    {
        var message = new byte[SignatureLength + Encoding.UTF8.GetByteCount(trustedComment)];
        signature.CopyTo(message);
        Encoding.UTF8.GetBytes(trustedComment, message.AsSpan(SignatureLength));
        return message;
    }

    private static byte[]? RawPublicKey(string publicKeyBase64)
    {
        var key = new byte[PublicKeyLength];
        return Convert.TryFromBase64String(publicKeyBase64.Trim(), key, out var written) && written == PublicKeyLength ? key : null;
    }

    private readonly record struct Parsed(byte[] Signature, string TrustedComment, byte[] GlobalSignature);

    private static bool TryParse(string text, out Parsed parsed)
    {
        parsed = default;
        if (text.Length > MaxSignatureLength)
            return false;
        var lines = text.Split('\n');
        // Four lines, each ended by a newline (the split leaves one empty string after the last).
        if (lines.Length != 5 || lines[4].Length != 0 || !lines[0].StartsWith(UntrustedPrefix, StringComparison.Ordinal)
            || !lines[2].StartsWith(TrustedPrefix, StringComparison.Ordinal))
            return false;
        var blob = new byte[2 + KeyIdLength + SignatureLength];
        var global = new byte[SignatureLength];
        if (!Convert.TryFromBase64String(lines[1], blob, out var written) || written != blob.Length
            || !Convert.TryFromBase64String(lines[3], global, out written) || written != global.Length)
            return false;
        if (!blob.AsSpan(0, 2).SequenceEqual(Prehashed) && !blob.AsSpan(0, 2).SequenceEqual(Ed))
            return false;
        parsed = new Parsed(blob, lines[2][TrustedPrefix.Length..], global);
        return true;
    }
}
