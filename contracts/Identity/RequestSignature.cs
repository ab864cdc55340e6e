using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Downloads.Contracts.Mirrors;
using NSec.Cryptography;

namespace Downloads.Contracts.Identity;

/// <summary>
/// HTTP Message Signatures (RFC 9421), the one profile mirrors use to prove who they are to the origin
/// (and to a tier-1 mirror): Ed25519 over <c>@method</c>, <c>@authority</c>, <c>@path</c> and <c>@query</c>,
/// with <c>created</c>, <c>keyid</c> (the mirror id), a random <c>nonce</c> and <c>alg="ed25519"</c>, under the
/// label <c>mirror</c>:
/// <code>
/// Signature-Input: mirror=("@method" "@authority" "@path" "@query");created=1733312345;keyid="uk-cam";nonce="…";alg="ed25519"
/// Signature: mirror=:…base64 of 64 bytes…:
/// </code>
/// The verifier accepts exactly this form and nothing looser (the headers come from the internet). Replay is
/// bounded by time (<c>created</c> within a window) and by nonce (<see cref="NonceCache"/>). Request bodies are
/// not covered: mirrors only GET and HEAD.
/// </summary>
public static partial class RequestSignature
{
    /// <summary>Header carrying the signature parameters.</summary>
    public const string InputHeader = "Signature-Input";

    /// <summary>Header carrying the signature.</summary>
    public const string SignatureHeader = "Signature";

    private const string Components = "(\"@method\" \"@authority\" \"@path\" \"@query\")";
    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;

    /// <summary>How far a signature's <c>created</c> may lie in the past (and so how long a nonce is remembered).</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    /// <summary>How far <c>created</c> may lie in the future: clock skew between a mirror and us.</summary>
    public static readonly TimeSpan MaxSkew = TimeSpan.FromSeconds(30);

    /// <summary>A refusal reason of <see cref="Verify"/> as a bounded metric label (malformed, expired, unknown_key, bad_signature, replayed, other).</summary>
    public static string ReasonLabel(string reason) => reason switch
    {
        "malformed signature headers" or "malformed created" => "malformed",
        "signature outside the time window" => "expired",
        "unknown key" => "unknown_key",
        "bad signature" => "bad_signature",
        "replayed nonce" => "replayed",
        _ => "other",
    };

    /// <summary>Adds <c>Signature-Input</c> and <c>Signature</c> to <paramref name="request"/> (an absolute URI).</summary>
    public static void Sign(HttpRequestMessage request, string mirrorId, Key key, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(key);
        var uri = request.RequestUri ?? throw new ArgumentException("The request has no URI.", nameof(request));
        if (!MirrorIds.IsValid(mirrorId))
            throw new ArgumentException($"'{mirrorId}' is not a mirror id.", nameof(mirrorId));
        var parameters = Parameters(now.ToUnixTimeSeconds(), mirrorId, NewNonce());
        var signatureBase = Base(request.Method.Method, Authority(uri), uri.AbsolutePath, uri.Query, parameters);
        var signature = Algorithm.Sign(key, Encoding.ASCII.GetBytes(signatureBase));
        request.Headers.Remove(InputHeader);
        request.Headers.Remove(SignatureHeader);
        request.Headers.TryAddWithoutValidation(InputHeader, "mirror=" + parameters);
        request.Headers.TryAddWithoutValidation(SignatureHeader, "mirror=:" + Convert.ToBase64String(signature) + ":");
    }

    /// <summary>
    /// Checks a request's signature. <paramref name="authority"/>, <paramref name="path"/> and <paramref name="query"/>
    /// are as the server received them (Host header, raw path, query with its <c>?</c> or empty). Returns the
    /// verified mirror id, or null with <paramref name="reason"/> saying why not (for logs and metrics, never
    /// for the client).
    /// </summary>
    public static string? Verify(
        string method, string authority, string path, string query, string? signatureInput, string? signature,
        Func<string, PublicKey?> keys, DateTimeOffset now, NonceCache nonces, out string reason)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(nonces);
        if (string.IsNullOrEmpty(signatureInput) && string.IsNullOrEmpty(signature))
        {
            reason = "unsigned";
            return null;
        }
        var input = InputForm().Match(signatureInput ?? "");
        var sig = SignatureForm().Match(signature ?? "");
        if (!input.Success || !sig.Success)
        {
            reason = "malformed signature headers";
            return null;
        }
        if (!long.TryParse(input.Groups["created"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var created))
        {
            reason = "malformed created";
            return null;
        }
        var age = now - DateTimeOffset.FromUnixTimeSeconds(Math.Min(created, 253402300799));
        if (age > MaxAge || age < -MaxSkew)
        {
            reason = "signature outside the time window";
            return null;
        }
        var id = input.Groups["keyid"].Value;
        if (!MirrorIds.IsValid(id) || keys(id) is not { } key)
        {
            reason = "unknown key";
            return null;
        }
        var parameters = input.Groups["params"].Value;
        var signatureBase = Base(method, authority, path, query, parameters);
        if (!Algorithm.Verify(key, Encoding.ASCII.GetBytes(signatureBase), Convert.FromBase64String(sig.Groups["sig"].Value)))
        {
            reason = "bad signature";
            return null;
        }
        // Only a valid signature spends a nonce, so nobody can burn a mirror's nonces with forgeries.
        if (!nonces.TryUse(id + ":" + input.Groups["nonce"].Value, DateTimeOffset.FromUnixTimeSeconds(created) + MaxAge, now))
        {
            reason = "replayed nonce";
            return null;
        }
        reason = "";
        return id;
    }

    /// <summary>The signature base (RFC 9421 §2.5) of our one profile.</summary>
    internal static string Base(string method, string authority, string path, string query, string parameters)
    {
        var sb = new StringBuilder(256);
        sb.Append("\"@method\": ").Append(method.ToUpperInvariant()).Append('\n');
        sb.Append("\"@authority\": ").Append(authority.ToLowerInvariant()).Append('\n');
        sb.Append("\"@path\": ").Append(path.Length == 0 ? "/" : path).Append('\n');
        sb.Append("\"@query\": ").Append(query.Length == 0 ? "?" : query).Append('\n');
        sb.Append("\"@signature-params\": ").Append(parameters);
        return sb.ToString();
    }

    /// <summary><c>@authority</c> of a URI: host, and the port only when it is not the scheme's default.</summary>
    public static string Authority(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var host = uri.HostNameType == UriHostNameType.IPv6 ? "[" + uri.IdnHost.Trim('[', ']') + "]" : uri.IdnHost;
        return uri.IsDefaultPort ? host.ToLowerInvariant() : host.ToLowerInvariant() + ":" + uri.Port.ToString(CultureInfo.InvariantCulture);
    }

    private static string Parameters(long created, string keyId, string nonce) =>
        string.Create(CultureInfo.InvariantCulture, $"{Components};created={created};keyid=\"{keyId}\";nonce=\"{nonce}\";alg=\"ed25519\"");

    private static string NewNonce() => Base64Url(RandomNumberGenerator.GetBytes(18));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [GeneratedRegex("""^mirror=(?<params>\("@method" "@authority" "@path" "@query"\);created=(?<created>[0-9]{1,12});keyid="(?<keyid>[a-z0-9-]{1,48})";nonce="(?<nonce>[A-Za-z0-9_-]{16,64})";alg="ed25519")$""", RegexOptions.CultureInvariant)]
    private static partial Regex InputForm();

    [GeneratedRegex("^mirror=:(?<sig>[A-Za-z0-9+/]{85}[AQgw]==):$", RegexOptions.CultureInvariant)]
    private static partial Regex SignatureForm();
}
