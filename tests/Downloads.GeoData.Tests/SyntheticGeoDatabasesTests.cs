using System.Net;
using Downloads.GeoData;
using Downloads.Testing;
using MaxMind.GeoIP2;

namespace Downloads.GeoData.Tests;

public sealed class SyntheticGeoDatabasesTests
{
    [Fact]
    public void Synthetic_databases_are_readable_and_cover_every_returned_network_over_many_countries()
    {
        using var dir = new TempDirectory("geo");
        var networks = SampleGeoDatabases.WriteSynthetic(dir.Combine("city.mmdb"), dir.Combine("asn.mmdb"), 5_000, seed: 42);
        using var city = new DatabaseReader(dir.Combine("city.mmdb"));
        using var asn = new DatabaseReader(dir.Combine("asn.mmdb"));

        Assert.Equal(5_000, networks.Count);
        Assert.Equal(5_000, networks.Distinct().Count());
        var countries = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < networks.Count; i += 7)
        {
            var n = networks[i];
            var bytes = n.BaseAddress.GetAddressBytes();
            bytes[3] = (byte)(i % 256);
            var response = city.City(new IPAddress(bytes));
            Assert.Equal(24, response.Traits.Network!.PrefixLength);
            Assert.NotNull(response.Location.Latitude);
            countries.Add(response.Country.IsoCode!);
            Assert.InRange(asn.Asn(new IPAddress(bytes)).AutonomousSystemNumber ?? 0, 64_512, 64_512 + 100);
        }

        Assert.Equal(SyntheticGeoDatabases.CountryCount, countries.Count);
    }

    [Fact]
    public void The_same_seed_gives_the_same_networks()
    {
        using var dir = new TempDirectory("geo");
        var a = SampleGeoDatabases.WriteSynthetic(dir.Combine("a-city.mmdb"), dir.Combine("a-asn.mmdb"), 200, seed: 7);
        var b = SampleGeoDatabases.WriteSynthetic(dir.Combine("b-city.mmdb"), dir.Combine("b-asn.mmdb"), 200, seed: 7);

        Assert.Equal(a, b);
        Assert.Equal(File.ReadAllBytes(dir.Combine("a-city.mmdb")), File.ReadAllBytes(dir.Combine("b-city.mmdb")));
    }
}
