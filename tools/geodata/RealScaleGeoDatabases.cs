using System.Net;

namespace Downloads.GeoData;

/// <summary>
/// Generated City and ASN databases of the scale and shape of GeoLite2: nearly all public IPv4 space
/// in millions of networks of every size from /16 to /30 inside address allocations of /12–/22 (one AS
/// and one country each), hundreds of thousands of IPv6 networks, 150,000 distinct locations with several
/// records each (postal code, accuracy radius), names in eight languages, every repeated value shared by
/// pointer. Deterministic for a seed. For benchmarks and the tests that must see real-scale data; the
/// places are invented, only the shape is real.
/// </summary>
public static class RealScaleGeoDatabases
{
    private static readonly string[] Languages = ["de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"];

    // Chance that a block of a prefix length stays whole instead of splitting in two: for allocations
    // (/12 to /22, one AS and country each) and for city networks inside them (/16 to /30). Tuned so that
    // full scale gives about 4 million IPv4 City networks and 400,000 ASN networks, as GeoLite2 has.
    private static double KeepAllocation(int prefix) => prefix < 12 ? 0 : prefix <= 15 ? 0.15 : prefix == 16 ? 0.3 : prefix <= 21 ? 0.25 : 1;

    private static double KeepNetwork(int prefix) => prefix switch
    {
        < 16 => 0,
        <= 17 => 0.15,
        <= 19 => 0.25,
        <= 21 => 0.35,
        <= 23 => 0.45,
        24 => 0.8,
        < 30 => 0.5,
        _ => 1,
    };

    private static readonly int[] AccuracyRadii = [1, 5, 10, 20, 50, 100, 200, 500, 1000];

    /// <summary>What a generation produced.</summary>
    /// <param name="IPv4Networks">Networks of the City database in IPv4 space.</param>
    /// <param name="IPv6Networks">Networks of the City database in IPv6 space.</param>
    /// <param name="Locations">Distinct places (coordinates, country, continent) in use.</param>
    /// <param name="Records">Distinct City records in use.</param>
    /// <param name="AsnNetworks">Networks of the ASN database.</param>
    /// <param name="SampleNetworks">Every 1,000th City network, IPv4 and IPv6, to draw realistic client mixes from.</param>
    public sealed record Summary(int IPv4Networks, int IPv6Networks, int Locations, int Records, int AsnNetworks, IReadOnlyList<IPNetwork> SampleNetworks);

    /// <summary>
    /// Writes the City database to <paramref name="cityPath"/> and the ASN database to <paramref name="asnPath"/>
    /// (each atomically). <paramref name="scale"/> 1 is GeoLite2's size (~4 million IPv4 and ~370,000 IPv6
    /// networks, a City file of ~70 MB); smaller values shrink the IPv4 space covered and the counts in proportion.
    /// </summary>
    public static Summary Write(string cityPath, string asnPath, int seed, double scale = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(scale);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(scale, 1);
        var random = new Random(seed);
        var city = new MmdbWriter("GeoLite2-City")
        {
            Languages = Languages,
            Description = new Dictionary<string, string> { ["en"] = $"Downloads real-scale synthetic city database (seed {seed}, scale {scale})" },
        };
        var asn = new MmdbWriter("GeoLite2-ASN")
        {
            Description = new Dictionary<string, string> { ["en"] = $"Downloads real-scale synthetic ASN database (seed {seed}, scale {scale})" },
        };

        var places = new Places(random, (int)(150_000 * scale) + SyntheticCountries.All.Length);
        var samples = new List<IPNetwork>();
        var (v4, asnNetworks) = WriteIPv4(city, asn, places, random, scale, samples);
        var v6 = WriteIPv6(city, asn, places, random, scale, samples);

        city.WriteFile(cityPath);
        asn.WriteFile(asnPath);
        return new Summary(v4, v6, places.LocationsUsed, city.RecordCount, asnNetworks + (v6 / 20), samples);
    }

    /// <summary>Each public /8 splits into allocations (one AS and one country each), which split into city networks.</summary>
    private static (int Networks, int AsnNetworks) WriteIPv4(MmdbWriter city, MmdbWriter asn, Places places, Random random, double scale, List<IPNetwork> samples)
    {
        var networks = 0;
        var allocations = 0;
        for (ulong first = 1; first < 224; first++)
        {
            if (first is 10 or 127)
            {
                continue;
            }

            Allocate(first << 24, 8);
        }

        return (networks, allocations);

        void Allocate(ulong start, int prefix)
        {
            var size = 1UL << (32 - prefix);
            if (prefix < 22 && (random.NextDouble() >= KeepAllocation(prefix) || !SyntheticGeoDatabases.IsPublicRange((uint)start, size)))
            {
                Allocate(start, prefix + 1);
                Allocate(start + (size / 2), prefix + 1);
                return;
            }

            // A share of the space is unallocated (not in the database), more of it at smaller scales.
            if (!SyntheticGeoDatabases.IsPublicRange((uint)start, size) || random.NextDouble() > 0.95 * scale)
            {
                return;
            }

            var country = places.PickCountry();
            var asNumber = (uint)(1000 + allocations);
            asn.Insert(Network(start, prefix), asn.AddRecord(new Dictionary<string, object>
            {
                ["autonomous_system_number"] = asNumber,
                ["autonomous_system_organization"] = $"Synthetic Networks {asNumber % 5000} {SyntheticCountries.All[country].Code}",
            }));
            allocations++;
            var record = places.PickRecord(city, country);
            Split(start, prefix, country, ref record);
        }

        // Consecutive networks often share a place, as neighbouring blocks of one ISP do.
        void Split(ulong start, int prefix, int country, ref int record)
        {
            if (prefix < 16 || (prefix < 30 && random.NextDouble() >= KeepNetwork(prefix)))
            {
                Split(start, prefix + 1, country, ref record);
                Split(start + (1UL << (31 - prefix)), prefix + 1, country, ref record);
                return;
            }

            if (random.NextDouble() < 0.6)
            {
                record = places.PickRecord(city, country);
            }

            var network = Network(start, prefix);
            city.Insert(network, record);
            if (networks++ % 1000 == 0)
            {
                samples.Add(network);
            }
        }
    }

    /// <summary>IPv6: /32 allocations under 2000::/3, each a country record, with many more specific networks inside.</summary>
    private static int WriteIPv6(MmdbWriter city, MmdbWriter asn, Places places, Random random, double scale, List<IPNetwork> samples)
    {
        var allocations = (int)(12_000 * scale);
        var perAllocation = 30;
        var networks = 0;
        var taken = new HashSet<uint>();
        Span<byte> bytes = stackalloc byte[16];
        for (var a = 0; a < allocations; a++)
        {
            // The top 32 bits: 001x… (2000::/3), never 2002::/16 (6to4 aliases IPv4) or 2001:db8::/32.
            uint top;
            do
            {
                top = 0x2000_0000u | ((uint)random.Next(1 << 29) & 0x1FFF_FFFFu);
            }
            while ((top >> 16) == 0x2002 || top == 0x2001_0DB8 || !taken.Add(top));

            var country = places.PickCountry();
            bytes.Clear();
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, top);
            var allocation = new IPNetwork(new IPAddress(bytes), 32);
            city.Insert(allocation, places.PickRecord(city, country));
            if (a % 20 == 0)
            {
                asn.Insert(allocation, asn.AddRecord(new Dictionary<string, object> { ["autonomous_system_number"] = (uint)(200_000 + a) }));
            }

            networks++;
            for (var i = 0; i < perAllocation; i++)
            {
                var prefix = 36 + (random.Next(4) * 4); // /36 … /48, as ISPs hand out sites
                random.NextBytes(bytes[4..8]);
                bytes[8..].Clear();
                var network = new IPNetwork(Mask(new IPAddress(bytes), prefix), prefix);
                city.Insert(network, places.PickRecord(city, country));
                if (networks++ % 1000 == 0)
                {
                    samples.Add(network);
                }
            }
        }

        return networks;
    }

    private static IPNetwork Network(ulong start, int prefix) =>
        new(new IPAddress([(byte)(start >> 24), (byte)(start >> 16), (byte)(start >> 8), (byte)start]), prefix);

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var bit = prefix; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPAddress(bytes);
    }

    /// <summary>The invented places: a pool per country, each with a few record variants, records built when first used.</summary>
    private sealed class Places
    {
        private readonly Random _random;
        private readonly int[][] _byCountry;
        private readonly double[] _latitude;
        private readonly double[] _longitude;
        private readonly int[] _countryOf;
        private readonly Dictionary<long, int> _records = [];
        private readonly HashSet<int> _used = [];
        private readonly Dictionary<string, object>[] _countryMaps;
        private readonly Dictionary<string, object>[] _continentMaps;

        public Places(Random random, int count)
        {
            _random = random;
            var countries = SyntheticCountries.All;
            _latitude = new double[count];
            _longitude = new double[count];
            _countryOf = new int[count];
            var lists = countries.Select(_ => new List<int>()).ToArray();
            var totalWeight = countries.Sum(c => c.Weight);
            for (var i = 0; i < count; i++)
            {
                // Every country has at least one place; the rest in proportion to the country's weight.
                var country = i < countries.Length ? i : PickWeighted(random, countries, totalWeight);
                var c = countries[country];
                _countryOf[i] = country;
                _latitude[i] = Math.Round(Math.Clamp(c.Latitude + ((random.NextDouble() - 0.5) * c.Spread), -89.9, 89.9), 4);
                _longitude[i] = Math.Round(Math.Clamp(c.Longitude + ((random.NextDouble() - 0.5) * c.Spread * 1.5), -179.9, 179.9), 4);
                lists[country].Add(i);
            }

            _byCountry = lists.Select(l => l.ToArray()).ToArray();
            _countryMaps = countries.Select((c, i) => new Dictionary<string, object>
            {
                ["geoname_id"] = (uint)(6_000_000 + i),
                ["iso_code"] = c.Code,
                ["names"] = Names($"Country {c.Code}"),
            }).ToArray();
            _continentMaps = countries.Select(c => new Dictionary<string, object>
            {
                ["code"] = c.Continent,
                ["geoname_id"] = (uint)(6_255_000 + c.Continent[0]),
                ["names"] = Names($"Continent {c.Continent}"),
            }).ToArray();
        }

        public int LocationsUsed => _used.Count;

        public int PickCountry() => PickWeighted(_random, SyntheticCountries.All, SyntheticCountries.TotalWeight);

        /// <summary>A record of a place in <paramref name="country"/>: big places more often, one of a few variants each.</summary>
        public int PickRecord(MmdbWriter writer, int country)
        {
            var pool = _byCountry[country];
            // Squaring a uniform draw favours the first places of the pool: a few big cities, a long tail.
            var u = _random.NextDouble();
            var place = pool[(int)(u * u * pool.Length)];
            var variant = _random.Next(3);
            var key = ((long)place << 2) | (uint)variant;
            if (!_records.TryGetValue(key, out var handle))
            {
                handle = writer.AddRecord(Record(place, variant));
                _records.Add(key, handle);
            }

            _used.Add(place);
            return handle;
        }

        private Dictionary<string, object> Record(int place, int variant)
        {
            var country = _countryOf[place];
            var record = new Dictionary<string, object>
            {
                // As in GeoLite2, most towns are named in English only, bigger ones in several languages.
                ["city"] = new Dictionary<string, object> { ["geoname_id"] = (uint)(1_000_000 + place), ["names"] = Names($"Town {place}", place % 8 == 0 ? Languages.Length : 1) },
                ["continent"] = _continentMaps[country],
                ["country"] = _countryMaps[country],
                ["registered_country"] = _countryMaps[country],
                ["location"] = new Dictionary<string, object>
                {
                    ["accuracy_radius"] = (ushort)AccuracyRadii[(place + (variant * 3)) % AccuracyRadii.Length],
                    ["latitude"] = _latitude[place],
                    ["longitude"] = _longitude[place],
                    ["time_zone"] = $"Zone/{SyntheticCountries.All[country].Code}{place % 4}",
                },
                ["subdivisions"] = new object[]
                {
                    new Dictionary<string, object> { ["geoname_id"] = (uint)(2_000_000 + (place / 50)), ["iso_code"] = $"S{place / 50 % 100}", ["names"] = Names($"Region {place / 50}") },
                },
            };
            if (variant > 0)
            {
                record["postal"] = new Dictionary<string, object> { ["code"] = $"{place % 100000:D5}-{variant}" };
            }

            return record;
        }

        private static Dictionary<string, object> Names(string name, int languages = 8) =>
            Languages.Where(l => l == "en" || languages > 1).ToDictionary(l => l, l => (object)(l == "en" ? name : $"{name} ({l})"));

        private static int PickWeighted(Random random, SyntheticCountries.Country[] countries, int totalWeight)
        {
            var roll = random.Next(totalWeight);
            for (var i = 0; i < countries.Length; i++)
            {
                if ((roll -= countries[i].Weight) < 0)
                {
                    return i;
                }
            }

            return countries.Length - 1;
        }
    }
}
