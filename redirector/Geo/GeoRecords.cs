namespace Downloads.Redirector.Geo;

/// <summary>
/// Decoders of the GeoIP2 City and GeoLite2 ASN record fields the redirector uses, run once per distinct
/// record when a database loads. Country and continent codes must be two ASCII capitals (they become
/// Redis keys and metric labels); anything else is "unknown". Each decoder interns its codes, so the
/// hundreds of thousands of decoded records share a few hundred strings.
/// </summary>
internal static class GeoRecords
{
    /// <summary>A decoder of City (or Country) records: coordinates, country (else registered country) and continent.</summary>
    public static GeoRecordDecoder<ClientLocation> City()
    {
        var codes = new CodeTable();
        return (data, offset) =>
        {
            var latitude = MmdbData.TryGetPath(data, offset, "location"u8, "latitude"u8, out var at) ? MmdbData.ReadDouble(data, at) : double.NaN;
            var longitude = MmdbData.TryGetPath(data, offset, "location"u8, "longitude"u8, out at) ? MmdbData.ReadDouble(data, at) : double.NaN;
            if (double.IsNaN(latitude) || double.IsNaN(longitude) || Math.Abs(latitude) > 90 || Math.Abs(longitude) > 180)
            {
                (latitude, longitude) = (double.NaN, double.NaN);
            }

            var country = MmdbData.TryGetPath(data, offset, "country"u8, "iso_code"u8, out at) ? codes.Get(MmdbData.ReadUtf8(data, at)) : "";
            if (country.Length == 0 && MmdbData.TryGetPath(data, offset, "registered_country"u8, "iso_code"u8, out at))
            {
                country = codes.Get(MmdbData.ReadUtf8(data, at));
            }

            var continent = MmdbData.TryGetPath(data, offset, "continent"u8, "code"u8, out at) ? codes.Get(MmdbData.ReadUtf8(data, at)) : "";
            return new ClientLocation(latitude, longitude, country, continent, 0);
        };
    }

    /// <summary>A decoder of ASN records: the AS number, 0 when absent or out of range.</summary>
    public static GeoRecordDecoder<long> Asn() => static (data, offset) =>
        MmdbData.TryGetMapValue(data, offset, "autonomous_system_number"u8, out var at)
        && MmdbData.ReadUnsigned(data, at) is { } number && number <= uint.MaxValue
            ? (long)number
            : 0;

    /// <summary>Two-letter codes as shared strings; anything that is not two ASCII capitals is "".</summary>
    private sealed class CodeTable
    {
        private readonly string?[] _codes = new string?[26 * 26];

        public string Get(ReadOnlySpan<byte> utf8)
        {
            if (utf8.Length != 2 || !char.IsAsciiLetterUpper((char)utf8[0]) || !char.IsAsciiLetterUpper((char)utf8[1]))
            {
                return "";
            }

            var i = ((utf8[0] - 'A') * 26) + (utf8[1] - 'A');
            return _codes[i] ??= string.Create(2, (utf8[0], utf8[1]), static (span, c) => (span[0], span[1]) = ((char)c.Item1, (char)c.Item2));
        }
    }
}
