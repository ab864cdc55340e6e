using System.Globalization;
using static Downloads.Contracts.Redis.Keyspace;

namespace Downloads.Mirror.Reporting;

/// <summary>The <c>info</c> hash a mirror declares about itself, built from <see cref="MirrorOptions"/>.</summary>
public static class MirrorInfo
{
    /// <summary>Bytes in one TB as hosting contracts count it (decimal).</summary>
    public const double BytesPerTB = 1e12;

    /// <summary>The fields to write; location fields are left out when not configured so the redirector can fill them from its geo database.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> From(MirrorOptions o)
    {
        var fields = new List<KeyValuePair<string, string>>
        {
            new(InfoFields.Name, string.IsNullOrWhiteSpace(o.Name) ? o.Id : o.Name),
            new(InfoFields.HttpUrl, (o.HttpUrl ?? "").TrimEnd('/')),
            new(InfoFields.HttpsUrl, (o.HttpsUrl ?? "").TrimEnd('/')),
            new(InfoFields.Sets, string.Join(',', o.SetList)),
            new(InfoFields.CapacityMbps, o.CapacityMbps.ToString(CultureInfo.InvariantCulture)),
            new(InfoFields.QuotaBytes, ((long)(o.QuotaTB * BytesPerTB)).ToString(CultureInfo.InvariantCulture)),
        };
        if (o.Latitude is { } lat && o.Longitude is { } lon)
        {
            fields.Add(new(InfoFields.Latitude, lat.ToString(CultureInfo.InvariantCulture)));
            fields.Add(new(InfoFields.Longitude, lon.ToString(CultureInfo.InvariantCulture)));
        }
        if (!string.IsNullOrWhiteSpace(o.Country))
            fields.Add(new(InfoFields.Country, o.Country.ToUpperInvariant()));
        if (!string.IsNullOrWhiteSpace(o.Continent))
            fields.Add(new(InfoFields.Continent, o.Continent.ToUpperInvariant()));
        if (o.Asn > 0)
            fields.Add(new(InfoFields.Asn, o.Asn.ToString(CultureInfo.InvariantCulture)));
        return fields;
    }
}
