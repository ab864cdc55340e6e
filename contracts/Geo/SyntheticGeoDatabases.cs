using System.Net;

namespace Downloads.Contracts.Geo;

/// <summary>
/// Large generated databases for benchmarks: many IPv4 /24 networks spread over many countries, with
/// records shared by many networks (as in GeoLite2, where a city's record serves all its networks).
/// Deterministic for a given seed. Not geographically true: only the shape is realistic.
/// </summary>
public static class SyntheticGeoDatabases
{
    // Rough centroids of a spread of countries on every inhabited continent.
    private static readonly (string Country, string Continent, double Lat, double Lon)[] Countries =
    [
        ("GB", "EU", 53.0, -1.5), ("DE", "EU", 51.0, 10.0), ("FR", "EU", 46.5, 2.5), ("ES", "EU", 40.0, -3.7),
        ("IT", "EU", 42.8, 12.5), ("SE", "EU", 60.1, 18.6), ("PL", "EU", 52.0, 19.4), ("NL", "EU", 52.2, 5.3),
        ("FI", "EU", 64.0, 26.0), ("GR", "EU", 39.0, 22.0), ("RO", "EU", 45.9, 24.9), ("IE", "EU", 53.4, -8.2),
        ("US", "NA", 39.8, -98.6), ("CA", "NA", 56.1, -106.3), ("MX", "NA", 23.6, -102.6), ("CU", "NA", 21.5, -79.5),
        ("BR", "SA", -14.2, -51.9), ("AR", "SA", -38.4, -63.6), ("CL", "SA", -35.7, -71.5), ("CO", "SA", 4.6, -74.3),
        ("JP", "AS", 36.2, 138.3), ("CN", "AS", 35.9, 104.2), ("IN", "AS", 20.6, 79.0), ("KR", "AS", 35.9, 127.8),
        ("ID", "AS", -0.8, 113.9), ("TH", "AS", 15.9, 100.99), ("VN", "AS", 14.1, 108.3), ("PH", "AS", 12.9, 121.8),
        ("AU", "OC", -25.3, 133.8), ("NZ", "OC", -40.9, 174.9), ("FJ", "OC", -17.7, 178.1),
        ("ZA", "AF", -30.6, 22.9), ("NG", "AF", 9.1, 8.7), ("KE", "AF", -0.02, 37.9), ("EG", "AF", 26.8, 30.8),
        ("MA", "AF", 31.8, -7.1), ("ET", "AF", 9.1, 40.5), ("GH", "AF", 7.9, -1.0),
    ];

    /// <summary>How many countries <see cref="Write"/> spreads networks over.</summary>
    public static int CountryCount => Countries.Length;

    /// <summary>
    /// Writes a city database and an ASN database of <paramref name="networkCount"/> distinct public IPv4 /24
    /// networks; returns the networks so that callers can draw client addresses from them.
    /// </summary>
    public static IReadOnlyList<IPNetwork> Write(string cityPath, string asnPath, int networkCount, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(networkCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(networkCount, 4_000_000);
        var random = new Random(seed);
        var cityWriter = new MmdbWriter("GeoLite2-City")
        {
            Description = new Dictionary<string, string> { ["en"] = $"Downloads synthetic city database ({networkCount} networks, seed {seed})" },
        };
        var asnWriter = new MmdbWriter("GeoLite2-ASN")
        {
            Description = new Dictionary<string, string> { ["en"] = $"Downloads synthetic ASN database ({networkCount} networks, seed {seed})" },
        };

        // About ten networks per city and fifty per AS, so records are shared as in real data.
        var cities = new SampleNetwork[Math.Max(1, networkCount / 10)];
        for (var i = 0; i < cities.Length; i++)
        {
            var (country, continent, lat, lon) = Countries[i % Countries.Length];
            cities[i] = new SampleNetwork
            {
                Name = $"city-{i}",
                Network = IPNetwork.Parse("0.0.0.0/0"),
                Address = IPAddress.Any,
                City = $"Synthetic {country} {i}",
                Country = country,
                CountryName = country,
                Continent = continent,
                Latitude = Math.Round(Math.Clamp(lat + ((random.NextDouble() * 8) - 4), -89.9, 89.9), 4),
                Longitude = Math.Round(Math.Clamp(lon + ((random.NextDouble() * 8) - 4), -179.9, 179.9), 4),
                TimeZone = "UTC",
                Asn = 0,
                AsnOrganization = "",
            };
        }

        var asnCount = Math.Max(1, networkCount / 50);
        var taken = new HashSet<uint>(networkCount);
        var networks = new List<IPNetwork>(networkCount);
        while (networks.Count < networkCount)
        {
            var block = (uint)random.Next(1 << 24) << 8;
            if (!IsPublic(block) || !taken.Add(block))
            {
                continue;
            }

            var network = new IPNetwork(new IPAddress(BitConverterBigEndian(block)), 24);
            var city = cities[random.Next(cities.Length)];
            var asn = (uint)(64_512 + random.Next(asnCount));
            cityWriter.Insert(network, GeoIp2Records.City(city));
            asnWriter.Insert(network, GeoIp2Records.Asn(city with { Asn = asn, AsnOrganization = $"Synthetic AS{asn}" }));
            networks.Add(network);
        }

        cityWriter.WriteFile(cityPath);
        asnWriter.WriteFile(asnPath);
        return networks;
    }

    private static byte[] BitConverterBigEndian(uint value) =>
        [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    /// <summary>Skips this-network, private, shared, loopback, link-local, documentation, multicast and reserved space.</summary>
    private static bool IsPublic(uint a)
    {
        var first = a >> 24;
        return first is not (0 or 10 or 127) && first < 224
            && (a & 0xFFC00000) != 0x64400000   // 100.64.0.0/10
            && (a & 0xFFFF0000) != 0xA9FE0000   // 169.254.0.0/16
            && (a & 0xFFF00000) != 0xAC100000   // 172.16.0.0/12
            && (a & 0xFFFF0000) != 0xC0A80000   // 192.168.0.0/16
            && (a & 0xFFFFFF00) != 0xC0000200   // 192.0.2.0/24
            && (a & 0xFFFFFF00) != 0xC6336400   // 198.51.100.0/24
            && (a & 0xFFFFFF00) != 0xCB007100;  // 203.0.113.0/24
    }
}
