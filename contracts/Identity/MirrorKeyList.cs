using System.Globalization;
using System.Text.Json;
using Downloads.Contracts.Mirrors;

namespace Downloads.Contracts.Identity;

/// <summary>
/// The approved mirrors' public keys, as the origin publishes them signed with its manifest key (detached signature
/// at <see cref="SignaturePath"/>, verified against the same pinned keys as the manifest): how a tier-1 mirror, whose
/// Redis user may read nothing of other mirrors, learns which keys to accept from the tier-2 mirrors that sync from it.
/// Short-lived (<see cref="Lifetime"/>): a revoked mirror's key leaves the next list, and an old list stops counting
/// at its <c>expires</c>. Every mirror re-serves the list it verified, so a chain of tiers carries it down.
/// <code>{"version":1,"issued":"2027-02-02T08:00:00Z","expires":"2027-02-02T09:00:00Z","keys":{"uni-cambridge":"base64 32 bytes"}}</code>
/// </summary>
public sealed record MirrorKeyList(DateTimeOffset Issued, DateTimeOffset Expires, IReadOnlyDictionary<string, string> Keys)
{
    /// <summary>Where the list is served.</summary>
    public const string Path = "/-/mirror-keys.json";

    /// <summary>Where its detached Ed25519 signature (base64) is served.</summary>
    public const string SignaturePath = "/-/mirror-keys.json.sig";

    /// <summary>How long a list counts from its issue.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    /// <summary>Most bytes of a list a reader accepts (10,000 mirrors take about 1 MB).</summary>
    public const int MaxBytes = 4 << 20;

    /// <summary>The list as UTF-8 JSON, keys sorted by id: the bytes that are signed.</summary>
    public byte[] Serialize()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("version", 1);
            json.WriteString("issued", Format(Issued));
            json.WriteString("expires", Format(Expires));
            json.WriteStartObject("keys");
            foreach (var (id, key) in Keys.OrderBy(k => k.Key, StringComparer.Ordinal))
                json.WriteString(id, key);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Whether the list counts at <paramref name="now"/>.</summary>
    public bool IsCurrent(DateTimeOffset now) => now >= Issued - RequestSignature.MaxSkew && now < Expires;

    /// <summary>Reads a list to its exact form (valid ids, 32-byte Ed25519 keys, UTC times, issued before expires), or null and why.</summary>
    public static MirrorKeyList? TryParse(ReadOnlySpan<byte> bytes, out string? error)
    {
        error = null;
        if (bytes.Length > MaxBytes)
        {
            error = "mirror key list too large";
            return null;
        }
        try
        {
            using var doc = JsonDocument.Parse(bytes.ToArray(), new JsonDocumentOptions { MaxDepth = 4 });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("version", out var version) || !version.TryGetInt32(out var v) || v != 1)
                return Fail("not a version 1 mirror key list", out error);
            if (!Time(root, "issued", out var issued) || !Time(root, "expires", out var expires) || expires <= issued)
                return Fail("issued and expires must be UTC times, issued first", out error);
            if (!root.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Object)
                return Fail("no keys object", out error);
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in keys.EnumerateObject())
            {
                var key = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : "";
                if (!MirrorIds.IsValid(entry.Name) || MirrorKeyDirectory.TryParse(key) is null || !result.TryAdd(entry.Name, key))
                    return Fail($"bad or repeated entry for '{Printable(entry.Name)}'", out error);
            }
            return new MirrorKeyList(issued, expires, result);
        }
        catch (JsonException ex)
        {
            return Fail("not JSON: " + ex.Message, out error);
        }
    }

    private static MirrorKeyList? Fail(string reason, out string? error)
    {
        error = reason;
        return null;
    }

    private static bool Time(JsonElement root, string name, out DateTimeOffset value)
    {
        value = default;
        return root.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String && e.GetString() is { } text
            && text.EndsWith('Z')
            && DateTimeOffset.TryParseExact(text, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value);
    }

    private static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Printable(string text) => text.Length > 40 || text.Any(c => c is < ' ' or > '~') ? "(unprintable)" : text;
}
