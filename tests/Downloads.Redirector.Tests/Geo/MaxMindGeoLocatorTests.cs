using System.Net;
using Downloads.GeoData;
using Downloads.Redirector.Geo;
using Downloads.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Downloads.Redirector.Tests.Geo;

public sealed class MaxMindGeoLocatorTests : IDisposable
{
    private readonly TempDirectory _dir = new("geo");
    private readonly FakeTimeProvider _time = new();
    private readonly string _cityPath;
    private readonly string _asnPath;

    public MaxMindGeoLocatorTests() => (_cityPath, _asnPath) = SampleGeoDatabases.WriteAll(_dir.Path);

    private MaxMindGeoLocator Create(string? city = "", string? asn = "") =>
        new(Options.Create(new GeoOptions
        {
            CityDatabase = city == "" ? _cityPath : city,
            AsnDatabase = asn == "" ? _asnPath : asn,
            ReloadInterval = TimeSpan.FromMinutes(1),
        }), _time, NullLogger<MaxMindGeoLocator>.Instance);

    private static SampleNetwork Sample(string name) => SampleGeoDatabases.Networks.Single(n => n.Name == name);

    private static void AssertLocated(SampleNetwork expected, ClientLocation actual)
    {
        Assert.Equal(expected.Country, actual.Country);
        Assert.Equal(expected.Continent, actual.Continent);
        Assert.Equal(expected.Latitude, actual.Latitude);
        Assert.Equal(expected.Longitude, actual.Longitude);
        Assert.Equal(expected.Asn, actual.Asn);
    }

    [Fact]
    public void A_London_address_is_in_GB_with_coordinates_and_its_AS()
    {
        using var locator = Create();

        var location = locator.Locate(IPAddress.Parse("81.2.69.142"));

        Assert.Equal(new ClientLocation(51.5142, -0.0931, "GB", "EU", 20712), location);
        Assert.True(location.HasCoordinates);
    }

    [Fact]
    public void Every_sample_network_is_located_over_IPv4_and_IPv6()
    {
        using var locator = Create();

        foreach (var sample in SampleGeoDatabases.Networks)
        {
            AssertLocated(sample, locator.Locate(sample.Address));
        }
    }

    [Fact]
    public void An_IPv4_mapped_IPv6_address_is_located_like_the_IPv4_address()
    {
        using var locator = Create();

        // Kestrel on a dual-stack socket reports IPv4 clients this way.
        var mapped = IPAddress.Parse("81.2.69.142").MapToIPv6();

        Assert.True(mapped.IsIPv4MappedToIPv6);
        Assert.Equal(locator.Locate(IPAddress.Parse("81.2.69.142")), locator.Locate(mapped));
        AssertLocated(Sample("milton"), locator.Locate(IPAddress.Parse("::ffff:216.160.83.56")));
    }

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("81.2.70.1")]
    [InlineData("2a00:1450::1")]
    [InlineData("127.0.0.1")]
    [InlineData("10.1.2.3")]
    [InlineData("192.168.1.1")]
    [InlineData("172.16.0.1")]
    [InlineData("::1")]
    [InlineData("fe80::1")]
    [InlineData("fd00::1")]
    [InlineData("::ffff:10.0.0.1")]
    public void Addresses_outside_the_databases_and_local_addresses_are_unknown(string address)
    {
        using var locator = Create();

        var location = locator.Locate(IPAddress.Parse(address));

        Assert.Equal(ClientLocation.Unknown.Country, location.Country);
        Assert.False(location.HasCoordinates);
        Assert.Equal(0, location.Asn);
    }

    [Fact]
    public void Repeated_lookups_in_any_order_give_the_same_answers_as_the_first()
    {
        using var locator = Create();
        string[] addresses =
        [
            .. SampleGeoDatabases.Networks.Select(n => n.Address.ToString()),
            "2.125.160.1", "2.125.160.223", "2.125.160.216", "81.2.68.1", "81.2.70.1", "8.8.8.8",
            "::ffff:81.2.69.1", "2001:218:ffff::1", "2001:219::1", "89.160.21.1", "175.16.198.255",
        ];
        var first = new ClientLocation[addresses.Length];
        for (var i = 0; i < addresses.Length; i++)
        {
            // Each reference answer from a locator that has seen nothing else.
            using var fresh = Create();
            first[i] = fresh.Locate(IPAddress.Parse(addresses[i]));
        }

        Assert.Contains(first, l => l.Country == "GB" && l.Asn == 5607);
        Assert.Contains(first, l => !l.HasCoordinates);

        var random = new Random(5);
        for (var round = 0; round < 200; round++)
        {
            var i = random.Next(addresses.Length);
            Assert.Equal(first[i], locator.Locate(IPAddress.Parse(addresses[i])));
        }
    }

    [Fact]
    public void A_small_network_and_its_neighbours_in_the_same_block_do_not_share_a_cache_entry()
    {
        using var locator = Create();
        var boxford = IPAddress.Parse("2.125.160.218");      // inside 2.125.160.216/29
        var neighbour = IPAddress.Parse("2.125.160.1");      // same /24, in no network

        // The neighbour first, so its empty network is cached before Boxford is looked up, and then back.
        Assert.False(locator.Locate(neighbour).HasCoordinates);
        AssertLocated(Sample("boxford"), locator.Locate(boxford));
        Assert.False(locator.Locate(neighbour).HasCoordinates);
        AssertLocated(Sample("boxford"), locator.Locate(boxford));
        AssertLocated(Sample("boxford"), locator.Locate(IPAddress.Parse("2.125.160.223")));
        Assert.False(locator.Locate(IPAddress.Parse("2.125.160.224")).HasCoordinates);
    }

    [Fact]
    public void A_lookup_allocates_nothing()
    {
        using var locator = Create();
        var london = IPAddress.Parse("81.2.69.142");
        var otherLondon = IPAddress.Parse("81.2.69.7");
        var mapped = IPAddress.Parse("::ffff:81.2.69.9");
        var japan = IPAddress.Parse("2001:218:1:2::3");
        locator.Locate(london);
        locator.Locate(japan);

        Assert.Equal(0, Allocations.Fewest(() =>
        {
            for (var i = 0; i < 1_000; i++)
            {
                locator.Locate(london);
                locator.Locate(otherLondon);
                locator.Locate(mapped);
                locator.Locate(japan);
            }
        }));
    }

    [Fact]
    public void A_changed_file_is_swapped_in_at_the_next_check_and_a_broken_one_is_ignored()
    {
        using var locator = Create();
        Assert.Equal("GB", locator.Locate(IPAddress.Parse("81.2.69.142")).Country);

        var moved = SampleGeoDatabases.Networks.Select(n => n.Name == "london" ? n with { Country = "IE", Latitude = 53.35, Longitude = -6.26 } : n);
        SampleGeoDatabases.WriteCity(_cityPath, moved);
        Assert.Equal("GB", locator.Locate(IPAddress.Parse("81.2.69.142")).Country); // not before the check

        _time.Advance(TimeSpan.FromMinutes(1));
        var location = locator.Locate(IPAddress.Parse("81.2.69.142"));
        Assert.Equal("IE", location.Country);
        Assert.Equal(53.35, location.Latitude);
        Assert.Equal(20712, location.Asn);

        var temp = _cityPath + ".broken";
        File.WriteAllText(temp, "this is not a MaxMind database, and it is longer than the old one was, surely not: " + new string('x', 4000));
        File.Move(temp, _cityPath, overwrite: true);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("IE", locator.Locate(IPAddress.Parse("81.2.69.142")).Country);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("IE", locator.Locate(IPAddress.Parse("81.2.69.142")).Country);

        // Overwritten in place (cp, not a rename): read whole at the next check, never mapped.
        var original = _dir.Combine("original.mmdb");
        SampleGeoDatabases.WriteCity(original);
        File.WriteAllBytes(_cityPath, File.ReadAllBytes(original));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("GB", locator.Locate(IPAddress.Parse("81.2.69.142")).Country);
    }

    [Fact]
    public void A_damaged_record_means_unknown_for_its_networks_and_the_others_still_locate()
    {
        // The first record written (London's) starts the data section. Its first byte made a pointer whose
        // target (the next four bytes) is far outside the file, as a corrupt download could; the values
        // inside it that other records point at are untouched.
        var bytes = File.ReadAllBytes(_cityPath);
        var dataStart = (int)MmdbLayout.Read(_cityPath).DataOffset;
        bytes[dataStart] = 0x3F;
        var damaged = _dir.Combine("damaged.mmdb");
        File.WriteAllBytes(damaged, bytes);
        using var locator = Create(city: damaged);

        var london = locator.Locate(IPAddress.Parse("81.2.69.142"));

        Assert.False(london.HasCoordinates);
        Assert.Equal("", london.Country);
        Assert.Equal(20712, london.Asn); // the ASN database is intact
        AssertLocated(Sample("milton"), locator.Locate(Sample("milton").Address));
    }

    [Fact]
    public void Without_databases_every_client_is_unknown()
    {
        using var locator = Create(city: null, asn: null);

        Assert.Equal(ClientLocation.Unknown.Country, locator.Locate(IPAddress.Parse("81.2.69.142")).Country);
        Assert.False(locator.Locate(IPAddress.Parse("81.2.69.142")).HasCoordinates);
    }

    [Fact]
    public void A_city_database_alone_locates_without_an_AS()
    {
        using var locator = Create(asn: null);

        var location = locator.Locate(IPAddress.Parse("89.160.20.128"));

        Assert.Equal("SE", location.Country);
        Assert.Equal(0, location.Asn);
    }

    [Fact]
    public void Random_clients_of_a_synthetic_database_over_many_countries_are_located()
    {
        var networks = SampleGeoDatabases.WriteSynthetic(_dir.Combine("s-city.mmdb"), _dir.Combine("s-asn.mmdb"), 3_000, seed: 1);
        using var locator = Create(city: _dir.Combine("s-city.mmdb"), asn: _dir.Combine("s-asn.mmdb"));
        var random = new Random(2);
        var countries = new HashSet<string>(StringComparer.Ordinal);

        for (var i = 0; i < 2_000; i++)
        {
            var bytes = networks[random.Next(networks.Count)].BaseAddress.GetAddressBytes();
            bytes[3] = (byte)random.Next(256);
            var location = locator.Locate(new IPAddress(bytes));
            Assert.True(location.HasCoordinates);
            Assert.InRange(location.Asn, 64_512, 64_512 + 60);
            countries.Add(location.Country);
        }

        Assert.Equal(SyntheticGeoDatabases.CountryCount, countries.Count);
    }

    public void Dispose() => _dir.Dispose();
}
