using System.Net;

namespace Downloads.GeoData;

/// <summary>
/// Generates small GeoIP2-City and GeoLite2-ASN schema databases covering <see cref="Networks"/> and
/// nothing else, for <c>./run.sh</c> and the tests. No geo file is committed: real deployments point the
/// configuration at MaxMind's GeoLite2/GeoIP2 files.
/// </summary>
public static class SampleGeoDatabases
{
    /// <summary>File name of the generated city database.</summary>
    public const string CityFileName = "Sample-City.mmdb";

    /// <summary>File name of the generated ASN database.</summary>
    public const string AsnFileName = "Sample-ASN.mmdb";

    /// <summary>
    /// The sample networks. The first four are the ones the project documents (London, Linköping, Milton WA,
    /// Japan); the rest are further networks from MaxMind's public test databases. ASNs and organisations are
    /// illustrative, chosen distinct so that same-network preference can be tested.
    /// </summary>
    public static IReadOnlyList<SampleNetwork> Networks { get; } =
    [
        new()
        {
            Name = "london", Network = IPNetwork.Parse("81.2.69.0/24"), Address = IPAddress.Parse("81.2.69.142"),
            City = "London", Country = "GB", CountryName = "United Kingdom", Continent = "EU",
            Latitude = 51.5142, Longitude = -0.0931, AccuracyRadius = 10, TimeZone = "Europe/London",
            Asn = 20712, AsnOrganization = "Andrews & Arnold Ltd",
        },
        new()
        {
            Name = "linkoping", Network = IPNetwork.Parse("89.160.20.0/24"), Address = IPAddress.Parse("89.160.20.128"),
            City = "Linköping", Country = "SE", CountryName = "Sweden", Continent = "EU",
            Latitude = 58.4167, Longitude = 15.6167, AccuracyRadius = 76, TimeZone = "Europe/Stockholm",
            Asn = 29518, AsnOrganization = "Bredband2 AB",
        },
        new()
        {
            Name = "milton", Network = IPNetwork.Parse("216.160.83.0/24"), Address = IPAddress.Parse("216.160.83.56"),
            City = "Milton", Country = "US", CountryName = "United States", Continent = "NA",
            Latitude = 47.2513, Longitude = -122.3149, AccuracyRadius = 22, TimeZone = "America/Los_Angeles",
            Asn = 209, AsnOrganization = "Qwest Communications Company, LLC",
        },
        new()
        {
            Name = "japan", Network = IPNetwork.Parse("2001:218::/32"), Address = IPAddress.Parse("2001:218::1"),
            Country = "JP", CountryName = "Japan", Continent = "AS",
            Latitude = 35.68536, Longitude = 139.75309, AccuracyRadius = 100, TimeZone = "Asia/Tokyo",
            Asn = 2516, AsnOrganization = "KDDI CORPORATION",
        },
        // Further networks from MaxMind's public test databases.
        new()
        {
            Name = "changchun", Network = IPNetwork.Parse("175.16.199.0/24"), Address = IPAddress.Parse("175.16.199.1"),
            City = "Changchun", Country = "CN", CountryName = "China", Continent = "AS",
            Latitude = 43.88, Longitude = 125.3228, AccuracyRadius = 100, TimeZone = "Asia/Harbin",
            Asn = 4837, AsnOrganization = "CHINA UNICOM China169 Backbone",
        },
        new()
        {
            // A /29: smaller than a /24, which exercises caches keyed by coarser blocks.
            Name = "boxford", Network = IPNetwork.Parse("2.125.160.216/29"), Address = IPAddress.Parse("2.125.160.218"),
            City = "Boxford", Country = "GB", CountryName = "United Kingdom", Continent = "EU",
            Latitude = 51.75, Longitude = -1.25, AccuracyRadius = 100, TimeZone = "Europe/London",
            Asn = 5607, AsnOrganization = "Sky UK Limited",
        },
        new()
        {
            Name = "bhutan", Network = IPNetwork.Parse("67.43.156.0/24"), Address = IPAddress.Parse("67.43.156.1"),
            Country = "BT", CountryName = "Bhutan", Continent = "AS",
            Latitude = 27.5, Longitude = 90.5, AccuracyRadius = 534, TimeZone = "Asia/Thimphu",
            Asn = 35908, AsnOrganization = "Bhutan Telecom Limited",
        },
    ];

    /// <summary>Writes the city and ASN databases into <paramref name="directory"/>; returns their paths.</summary>
    public static (string CityPath, string AsnPath) WriteAll(string directory)
    {
        var city = Path.Combine(directory, CityFileName);
        var asn = Path.Combine(directory, AsnFileName);
        WriteCity(city);
        WriteAsn(asn);
        return (city, asn);
    }

    /// <summary>Writes a GeoIP2-City-schema database (database type <c>GeoLite2-City</c>) atomically.</summary>
    public static void WriteCity(string path) => WriteCity(path, Networks);

    /// <summary>Writes a GeoLite2-ASN-schema database atomically.</summary>
    public static void WriteAsn(string path) => WriteAsn(path, Networks);

    /// <summary>Large synthetic databases for benchmarks; see <see cref="SyntheticGeoDatabases.Write"/>.</summary>
    public static IReadOnlyList<IPNetwork> WriteSynthetic(string cityPath, string asnPath, int networkCount, int seed) =>
        SyntheticGeoDatabases.Write(cityPath, asnPath, networkCount, seed);

    /// <summary>Writes a city database for <paramref name="networks"/>.</summary>
    public static void WriteCity(string path, IEnumerable<SampleNetwork> networks)
    {
        var writer = new MmdbWriter("GeoLite2-City")
        {
            Description = new Dictionary<string, string> { ["en"] = "Downloads sample city database (test networks only)" },
        };
        foreach (var network in networks)
        {
            writer.Insert(network.Network, GeoIp2Records.City(network));
        }

        writer.WriteFile(path);
    }

    /// <summary>Writes an ASN database for <paramref name="networks"/>.</summary>
    public static void WriteAsn(string path, IEnumerable<SampleNetwork> networks)
    {
        var writer = new MmdbWriter("GeoLite2-ASN")
        {
            Description = new Dictionary<string, string> { ["en"] = "Downloads sample ASN database (test networks only)" },
        };
        foreach (var network in networks)
        {
            writer.Insert(network.Network, GeoIp2Records.Asn(network));
        }

        writer.WriteFile(path);
    }
}
