using System.Net;

namespace Downloads.GeoData;

/// <summary>
/// Large generated databases for benchmarks: many IPv4 /24 networks spread over many countries, with
/// records shared by many networks (as in GeoLite2, where a city's record serves all its networks).
/// Deterministic for a given seed. Not geographically true: only the shape is realistic.
/// </summary>
public static class SyntheticGeoDatabases
{
    /// <summary>How many countries <see cref="Write"/> spreads networks over.</summary>
    public static int CountryCount => SyntheticCountries.All.Length;

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
            var (country, continent, lat, lon, _, _) = SyntheticCountries.All[i % SyntheticCountries.All.Length];
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

    /// <summary>Whether every address of the aligned block [<paramref name="start"/>, +<paramref name="size"/>) is public (see <see cref="IsPublic"/>).</summary>
    internal static bool IsPublicRange(uint start, ulong size)
    {
        foreach (var (block, blockSize) in Reserved)
        {
            if (start < block + blockSize && block < start + size)
            {
                return false;
            }
        }

        return start + size <= 224UL << 24;
    }

    private static readonly (ulong Start, ulong Size)[] Reserved =
    [
        (0UL << 24, 1UL << 24), (10UL << 24, 1UL << 24), (127UL << 24, 1UL << 24), (0x64400000, 1UL << 22),
        (0xA9FE0000, 1UL << 16), (0xAC100000, 1UL << 20), (0xC0A80000, 1UL << 16), (0xC0000200, 256),
        (0xC6336400, 256), (0xCB007100, 256),
    ];

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
