using System.Globalization;
using static Downloads.Contracts.Redis.Keyspace;

namespace Downloads.Contracts.Mirrors;

/// <summary>
/// The one place that decides what a mirror may say about itself. Enrollment and approval use
/// <see cref="Normalize"/> (a one-line reason on the first bad field); the redirectors' reader uses the
/// per-field checks again on what it loads, so a value that reached Redis some other way is dropped
/// there instead of reaching a header, a page or a probe. Every accepted value is ASCII except the
/// display name, which pages and JSON encode.
/// </summary>
public static class MirrorInfoValidation
{
    /// <summary>Longest base URL.</summary>
    public const int MaxUrlLength = 512;
    /// <summary>Longest display name.</summary>
    public const int MaxNameLength = 100;
    /// <summary>Longest set name.</summary>
    public const int MaxSetLength = 64;
    /// <summary>Most sets one mirror may name.</summary>
    public const int MaxSets = 64;
    /// <summary>Longest value a reader keeps from any mirror hash field; longer ones are dropped unread.</summary>
    public const int MaxValueLength = 4096;
    /// <summary>Largest autonomous system number (32-bit ASNs).</summary>
    public const long MaxAsn = 4_294_967_295;

    /// <summary>The seven continent codes (GeoNames/MaxMind): Africa, Antarctica, Asia, Europe, North America, Oceania, South America.</summary>
    public static readonly IReadOnlySet<string> Continents = new HashSet<string>(StringComparer.Ordinal) { "AF", "AN", "AS", "EU", "NA", "OC", "SA" };

    /// <summary>Fields of the approved record: what routing uses, copied from the request at approval.</summary>
    public static readonly IReadOnlyList<string> ApprovedFields =
    [
        InfoFields.Name, InfoFields.HttpUrl, InfoFields.HttpsUrl, InfoFields.Sets, InfoFields.Latitude, InfoFields.Longitude,
        InfoFields.Country, InfoFields.Continent, InfoFields.Asn, InfoFields.Scope,
    ];

    /// <summary>Every field a mirror may request (the approved ones plus its declared capacity and quota, which only limit itself).</summary>
    public static readonly IReadOnlyList<string> RequestFields = [.. ApprovedFields, InfoFields.CapacityMbps, InfoFields.QuotaBytes];

    /// <summary>
    /// Checks and normalizes a mirror's requested info: unknown fields dropped, values trimmed, URLs with an
    /// IDN host punycoded and no trailing slash, codes upper-cased. Returns null and the normalized fields,
    /// or a one-line reason.
    /// </summary>
    public static string? Normalize(IReadOnlyDictionary<string, string>? info, out Dictionary<string, string> normalized)
    {
        normalized = new Dictionary<string, string>(StringComparer.Ordinal);
        if (info is null)
            return "info is missing";
        foreach (var field in RequestFields)
        {
            if (!info.TryGetValue(field, out var raw))
                continue;
            if (raw is null) // JSON null: the declared type does not stop it
                return $"info field '{field}' is null";
            var value = raw.Trim();
            if (value.Length == 0)
                continue;
            if (CheckField(field, value, out var clean) is { } error)
                return error;
            normalized[field] = clean;
        }
        if (!normalized.ContainsKey(InfoFields.HttpUrl) && !normalized.ContainsKey(InfoFields.HttpsUrl))
            return "a mirror needs an http or https base URL";
        if (normalized.ContainsKey(InfoFields.Latitude) != normalized.ContainsKey(InfoFields.Longitude))
            return "lat and lon go together: give both or neither";
        return null;
    }

    /// <summary>Checks one field's value (already trimmed, not empty); null and its normalized form, or a one-line reason.</summary>
    public static string? CheckField(string field, string value, out string normalized)
    {
        normalized = value;
        switch (field)
        {
            case InfoFields.Name:
                if (value.Length > MaxNameLength)
                    return $"name is longer than {MaxNameLength} characters";
                for (var i = 0; i < value.Length; i++)
                {
                    if (char.IsSurrogatePair(value, i))
                        i++;
                    else if (char.IsControl(value[i]) || char.IsSurrogate(value[i]))
                        return "name contains a control character or a broken surrogate";
                }
                return null;
            case InfoFields.HttpUrl:
                return TryNormalizeUrl(value, "http", out normalized) ? null : $"httpUrl '{Shorten(value)}' is not an absolute http URL with an ASCII host, no user, query or fragment";
            case InfoFields.HttpsUrl:
                return TryNormalizeUrl(value, "https", out normalized) ? null : $"httpsUrl '{Shorten(value)}' is not an absolute https URL with an ASCII host, no user, query or fragment";
            case InfoFields.Country:
                normalized = value.ToUpperInvariant();
                return IsCountry(normalized) ? null : $"country '{Shorten(value)}' is not an ISO 3166 alpha-2 code (two letters A-Z)";
            case InfoFields.Continent:
                normalized = value.ToUpperInvariant();
                return Continents.Contains(normalized) ? null : $"continent '{Shorten(value)}' is not one of {string.Join(' ', Continents.Order(StringComparer.Ordinal))}";
            case InfoFields.Latitude:
                return Number(value, -90, 90, out normalized) ? null : $"lat '{Shorten(value)}' is not a number from -90 to 90";
            case InfoFields.Longitude:
                return Number(value, -180, 180, out normalized) ? null : $"lon '{Shorten(value)}' is not a number from -180 to 180";
            case InfoFields.Asn:
                return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var asn) && asn <= MaxAsn
                    ? null : $"asn '{Shorten(value)}' is not a whole number from 0 to {MaxAsn}";
            case InfoFields.CapacityMbps:
                return Number(value, 0, 10_000_000, out normalized) ? null : $"capacityMbps '{Shorten(value)}' is not a number from 0 to 10000000";
            case InfoFields.QuotaBytes:
                return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? null : $"quotaBytes '{Shorten(value)}' is not a whole number of bytes";
            case InfoFields.Scope:
                normalized = value.ToLowerInvariant();
                return normalized is "world" or "country" or "continent" ? null : $"scope '{Shorten(value)}' is not world, country or continent";
            case InfoFields.Sets:
                return TryNormalizeSets(value, out normalized) ? null
                    : $"sets '{Shorten(value)}' is not a comma-separated list of at most {MaxSets} names of 1-{MaxSetLength} letters, digits, '.', '_' or '-'";
            default:
                return $"unknown info field '{Shorten(field)}'";
        }
    }

    /// <summary>
    /// An absolute <paramref name="scheme"/> URL with a host, no user info, query or fragment, at most
    /// <see cref="MaxUrlLength"/> long; normalized to ASCII (IDN host punycoded, path percent-encoded) without a trailing slash.
    /// </summary>
    public static bool TryNormalizeUrl(string value, string scheme, out string url)
    {
        url = "";
        if (value.Length == 0 || value.Length > MaxUrlLength || !Uri.TryCreate(value, UriKind.Absolute, out var uri))
            return false;
        if (uri.Scheme != scheme || uri.HostNameType is not (UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6)
            || uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0 || value.Contains('#') || value.Contains('?'))
            return false;
        var host = uri.HostNameType == UriHostNameType.IPv6 ? $"[{uri.IdnHost.Trim('[', ']')}]" : uri.IdnHost;
        var port = uri.IsDefaultPort ? "" : ":" + uri.Port.ToString(CultureInfo.InvariantCulture);
        url = $"{scheme}://{host.ToLowerInvariant()}{port}{uri.AbsolutePath.TrimEnd('/')}";
        return url.Length <= MaxUrlLength && IsPrintableAscii(url);
    }

    /// <summary>Two upper-case ASCII letters.</summary>
    public static bool IsCountry(string value) => value.Length == 2 && value[0] is >= 'A' and <= 'Z' && value[1] is >= 'A' and <= 'Z';

    /// <summary>1–<see cref="MaxSetLength"/> ASCII letters, digits, '.', '_' or '-', not starting with '.' or '-'.</summary>
    public static bool IsSetName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > MaxSetLength || name[0] is '.' or '-')
            return false;
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
                return false;
        }
        return true;
    }

    private static bool TryNormalizeSets(string value, out string sets)
    {
        var names = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        sets = string.Join(',', names);
        if (names.Length > MaxSets)
            return false;
        foreach (var n in names)
        {
            if (!IsSetName(n))
                return false;
        }
        return true;
    }

    private static bool Number(string value, double min, double max, out string normalized)
    {
        normalized = value;
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) || !double.IsFinite(x) || x < min || x > max)
            return false;
        normalized = x.ToString(CultureInfo.InvariantCulture);
        return true;
    }

    private static bool IsPrintableAscii(string s)
    {
        foreach (var c in s)
        {
            if (c is < (char)0x21 or > (char)0x7e)
                return false;
        }
        return true;
    }

    // A reason quotes at most 64 characters of the offending value, with control characters made visible, so a
    // hostile value cannot make the 400's one line long or several lines.
    private static string Shorten(string value)
    {
        var s = value.Length > 64 ? value[..64] + "…" : value;
        return string.Create(s.Length, s, (span, src) =>
        {
            for (var i = 0; i < src.Length; i++)
                span[i] = char.IsControl(src[i]) ? '?' : src[i];
        });
    }
}
