using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Downloads.Contracts.Mirrors;

/// <summary>
/// Proof that a request to a mirror is a redirector's health probe, so the mirror serves it even when
/// client load has used up its connection limits (a full mirror must not fail its checks and flap).
/// </summary>
/// <remarks>
/// Each mirror makes a random key at start and publishes it in its own state hash
/// (<see cref="Redis.Keyspace.StateFields.ProbeKey"/>), which only the mirror itself, redirectors and ops can
/// read (a mirror's ACL user reads no other mirror's keys); clients never see Redis. A probe carries
/// <c>Downloads-Probe: {unixSeconds}.{nonce}.{mac}</c>, the HMAC-SHA256 under that key of the time, a random
/// nonce, the method and the request target. The mirror accepts it within <see cref="MaxSkew"/> of its
/// clock, once per nonce. A token grants only the exemption: without one, or with a bad one, a probe is
/// served like any client, so a key change (a restarted mirror) never fails a probe by itself.
/// </remarks>
public static class ProbeToken
{
    /// <summary>Request header carrying the token.</summary>
    public const string Header = "Downloads-Probe";

    /// <summary>Key length, bytes.</summary>
    public const int KeyBytes = 32;

    /// <summary>
    /// How far a token's time may be from the mirror's clock, either way: donated hosts' clocks drift, and a
    /// replay inside the window is stopped by the nonce.
    /// </summary>
    public static readonly TimeSpan MaxSkew = TimeSpan.FromMinutes(5);

    private const int NonceBytes = 16;
    private const int MaxTokenLength = 20 + 1 + 32 + 1 + 64;

    /// <summary>A new random key.</summary>
    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(KeyBytes);

    /// <summary>The key as published in Redis (base64url, no padding).</summary>
    public static string EncodeKey(ReadOnlySpan<byte> key) => Base64Url.EncodeToString(key);

    /// <summary>The key read from Redis, or null when absent or not a key.</summary>
    public static byte[]? DecodeKey(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length > 64)
            return null;
        // TryDecodeFromChars throws on characters outside the alphabet: check first.
        if (!Base64Url.IsValid(text, out var length) || length != KeyBytes)
            return null;
        var key = new byte[KeyBytes];
        return Base64Url.TryDecodeFromChars(text, key, out var written) && written == KeyBytes ? key : null;
    }

    /// <summary>A token for one request: <paramref name="target"/> is the request target as sent (path and query).</summary>
    public static string Create(ReadOnlySpan<byte> key, string method, string target, DateTimeOffset now)
    {
        var time = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var nonce = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(NonceBytes));
        return $"{time}.{nonce}.{Base64Url.EncodeToString(Mac(key, time, nonce, method, target))}";
    }

    /// <summary>
    /// Checks <paramref name="token"/> for this request; on <see cref="ProbeTokenCheck.Valid"/>, <paramref name="nonce"/>
    /// is the token's nonce, which the caller must accept only once.
    /// </summary>
    public static ProbeTokenCheck Verify(ReadOnlySpan<byte> key, string? token, string method, string target, DateTimeOffset now, out string nonce)
    {
        nonce = "";
        if (string.IsNullOrEmpty(token))
            return ProbeTokenCheck.Missing;
        if (token.Length > MaxTokenLength)
            return ProbeTokenCheck.Malformed;
        var parts = token.Split('.');
        if (parts.Length != 3 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            return ProbeTokenCheck.Malformed;
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        // TryDecodeFromChars throws on characters outside the alphabet: check first.
        if (parts[1].Length == 0 || !Base64Url.IsValid(parts[2], out var length) || length != mac.Length
            || !Base64Url.TryDecodeFromChars(parts[2], mac, out var written) || written != mac.Length)
            return ProbeTokenCheck.Malformed;
        if (seconds > now.ToUnixTimeSeconds() + (long)MaxSkew.TotalSeconds || seconds < now.ToUnixTimeSeconds() - (long)MaxSkew.TotalSeconds)
            return ProbeTokenCheck.Expired;
        if (!CryptographicOperations.FixedTimeEquals(mac, Mac(key, parts[0], parts[1], method, target)))
            return ProbeTokenCheck.BadMac;
        nonce = parts[1];
        return ProbeTokenCheck.Valid;
    }

    private static byte[] Mac(ReadOnlySpan<byte> key, string time, string nonce, string method, string target) =>
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"downloads-probe\n{time}.{nonce}\n{method}\n{target}"));
}

/// <summary>Outcome of <see cref="ProbeToken.Verify"/>.</summary>
public enum ProbeTokenCheck
{
    /// <summary>Made with the key, for this request, in time.</summary>
    Valid,

    /// <summary>No token.</summary>
    Missing,

    /// <summary>Not a token.</summary>
    Malformed,

    /// <summary>Its time is more than <see cref="ProbeToken.MaxSkew"/> away.</summary>
    Expired,

    /// <summary>Not made with this key for this request.</summary>
    BadMac,
}
