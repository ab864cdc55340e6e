using MaxMind.Db;

namespace Downloads.Redirector.Geo;

// Minimal decoding models: only what selection needs, so a cache miss decodes a few fields
// instead of GeoIP2's full response (names in every language, subdivisions, traits...).

/// <summary>The fields of a GeoIP2 City/Country record the redirector uses.</summary>
internal sealed class CityRecord
{
    [Constructor]
    public CityRecord(
        [MapKey("location")] LocationRecord? location,
        [MapKey("country")] IsoCodeRecord? country,
        [MapKey("registered_country")] IsoCodeRecord? registeredCountry,
        [MapKey("continent")] ContinentRecord? continent)
    {
        Location = location;
        Country = country;
        RegisteredCountry = registeredCountry;
        Continent = continent;
    }

    public LocationRecord? Location { get; }

    public IsoCodeRecord? Country { get; }

    public IsoCodeRecord? RegisteredCountry { get; }

    public ContinentRecord? Continent { get; }
}

internal sealed class LocationRecord
{
    [Constructor]
    public LocationRecord([MapKey("latitude")] double? latitude, [MapKey("longitude")] double? longitude)
    {
        Latitude = latitude;
        Longitude = longitude;
    }

    public double? Latitude { get; }

    public double? Longitude { get; }
}

internal sealed class IsoCodeRecord
{
    [Constructor]
    public IsoCodeRecord([MapKey("iso_code")] string? isoCode) => IsoCode = isoCode;

    public string? IsoCode { get; }
}

internal sealed class ContinentRecord
{
    [Constructor]
    public ContinentRecord([MapKey("code")] string? code) => Code = code;

    public string? Code { get; }
}

/// <summary>The AS number of a GeoLite2/GeoIP2 ASN record.</summary>
internal sealed class AsnRecord
{
    [Constructor]
    public AsnRecord([MapKey("autonomous_system_number")] long? number) => Number = number;

    public long? Number { get; }
}
