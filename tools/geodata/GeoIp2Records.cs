namespace Downloads.GeoData;

/// <summary>Builds records in the GeoIP2 City and GeoLite2 ASN schemas, as <see cref="MmdbWriter"/> input.</summary>
internal static class GeoIp2Records
{
    // GeoNames ids of the continents, as in GeoIP2 data.
    private static readonly Dictionary<string, (uint GeonameId, string Name)> Continents = new(StringComparer.Ordinal)
    {
        ["AF"] = (6255146, "Africa"),
        ["AS"] = (6255147, "Asia"),
        ["EU"] = (6255148, "Europe"),
        ["NA"] = (6255149, "North America"),
        ["OC"] = (6255151, "Oceania"),
        ["SA"] = (6255150, "South America"),
        ["AN"] = (6255152, "Antarctica"),
    };

    private static readonly HashSet<string> EuropeanUnion = new(StringComparer.Ordinal)
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
        "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    };

    public static Dictionary<string, object> City(SampleNetwork n)
    {
        var country = Country(n.Country, n.CountryName);
        var record = new Dictionary<string, object>
        {
            ["continent"] = Continent(n.Continent),
            ["country"] = country,
            ["registered_country"] = country,
            ["location"] = new Dictionary<string, object>
            {
                ["accuracy_radius"] = n.AccuracyRadius,
                ["latitude"] = n.Latitude,
                ["longitude"] = n.Longitude,
                ["time_zone"] = n.TimeZone,
            },
        };
        if (n.City is { } city)
        {
            record["city"] = new Dictionary<string, object> { ["names"] = Names(city) };
        }

        return record;
    }

    public static Dictionary<string, object> Asn(SampleNetwork n) => new()
    {
        ["autonomous_system_number"] = n.Asn,
        ["autonomous_system_organization"] = n.AsnOrganization,
    };

    private static Dictionary<string, object> Continent(string code)
    {
        var continent = new Dictionary<string, object> { ["code"] = code };
        if (Continents.TryGetValue(code, out var known))
        {
            continent["geoname_id"] = known.GeonameId;
            continent["names"] = Names(known.Name);
        }

        return continent;
    }

    private static Dictionary<string, object> Country(string isoCode, string name)
    {
        var country = new Dictionary<string, object> { ["iso_code"] = isoCode, ["names"] = Names(name) };
        if (EuropeanUnion.Contains(isoCode))
        {
            country["is_in_european_union"] = true;
        }

        return country;
    }

    private static Dictionary<string, object> Names(string english) => new() { ["en"] = english };
}
