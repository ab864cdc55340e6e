using System.Net;
using Downloads.GeoData;
using Downloads.Redirector.Geo;
using Downloads.Testing;
using MaxMind.GeoIP2;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Tests.Geo;

/// <summary>A GeoLite2-scale generated pair of databases, written once for the tests of this class (~30 s).</summary>
public sealed class RealScaleGeoFixture : IDisposable
{
    private readonly TempDirectory _dir = new("geo-real");

    public RealScaleGeoFixture()
    {
        CityPath = _dir.Combine("City.mmdb");
        AsnPath = _dir.Combine("ASN.mmdb");
        Summary = RealScaleGeoDatabases.Write(CityPath, AsnPath, seed: 9);
    }

    public string CityPath { get; }

    public string AsnPath { get; }

    public RealScaleGeoDatabases.Summary Summary { get; }

    public void Dispose() => _dir.Dispose();
}

public sealed class RealScaleGeoTests(RealScaleGeoFixture fixture) : IClassFixture<RealScaleGeoFixture>
{
    private MaxMindGeoLocator Locator() =>
        new(Options.Create(new GeoOptions { CityDatabase = fixture.CityPath, AsnDatabase = fixture.AsnPath }),
            TimeProvider.System, NullLogger<MaxMindGeoLocator>.Instance);

    [Fact]
    public void The_generated_databases_have_GeoLite2_scale_and_shape()
    {
        Assert.InRange(fixture.Summary.IPv4Networks, 2_000_000, 8_000_000);
        Assert.InRange(fixture.Summary.IPv6Networks, 200_000, 2_000_000);
        Assert.True(fixture.Summary.Locations > 100_000, $"{fixture.Summary.Locations} locations");
        Assert.True(fixture.Summary.Records > fixture.Summary.Locations, "several records per location");
        Assert.InRange(new FileInfo(fixture.CityPath).Length, 40_000_000, 120_000_000);
    }

    [Fact]
    public void Lookups_agree_with_MaxMind_DatabaseReader_for_random_IPv4_and_IPv6_addresses()
    {
        using var locator = Locator();
        using var city = new DatabaseReader(fixture.CityPath);
        using var asn = new DatabaseReader(fixture.AsnPath);
        var random = new Random(17);
        var located = 0;
        var addresses = new List<IPAddress>();
        for (var i = 0; i < 40_000; i++)
        {
            // Uniform over IPv4, uniform over 2000::/3, and inside networks of the database (both families).
            addresses.Add(new IPAddress([(byte)random.Next(1, 224), (byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)]));
            var v6 = new byte[16];
            random.NextBytes(v6);
            v6[0] = (byte)(0x20 | (v6[0] & 0x1F));
            addresses.Add(new IPAddress(v6));
            var network = fixture.Summary.SampleNetworks[random.Next(fixture.Summary.SampleNetworks.Count)];
            var inside = network.BaseAddress.GetAddressBytes();
            inside[^1] |= (byte)random.Next(0, 1 << Math.Min(8, (inside.Length * 8) - network.PrefixLength));
            addresses.Add(new IPAddress(inside));
        }

        foreach (var address in addresses)
        {
            var ours = locator.Locate(address);
            var expected = city.TryCity(address, out var response) ? response : null;
            var expectedCountry = expected?.Country.IsoCode ?? expected?.RegisteredCountry.IsoCode ?? "";
            Assert.True(expectedCountry == ours.Country, $"{address}: country {ours.Country}, MaxMind {expectedCountry}");
            Assert.True((expected?.Continent.Code ?? "") == ours.Continent, $"{address}: continent {ours.Continent}");
            Assert.True((expected?.Location.Latitude ?? double.NaN).Equals(ours.Latitude), $"{address}: latitude {ours.Latitude}, MaxMind {expected?.Location.Latitude}");
            Assert.True((expected?.Location.Longitude ?? double.NaN).Equals(ours.Longitude), $"{address}: longitude {ours.Longitude}");
            var expectedAsn = asn.TryAsn(address, out var asnResponse) ? asnResponse!.AutonomousSystemNumber ?? 0 : 0;
            Assert.True(expectedAsn == ours.Asn, $"{address}: AS {ours.Asn}, MaxMind {expectedAsn}");
            located += ours.HasCoordinates ? 1 : 0;
        }

        // Most of the sample is inside the data, so the comparison is of real answers, not of "unknown".
        Assert.True(located > addresses.Count / 2, $"{located} of {addresses.Count} located");
    }

    [Fact]
    public void A_lookup_of_never_seen_addresses_allocates_nothing()
    {
        using var locator = Locator();
        var random = new Random(3);
        var addresses = new IPAddress[20_000];
        for (var i = 0; i < addresses.Length; i++)
        {
            addresses[i] = i % 4 == 3
                ? new IPAddress([0x20, (byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
                : new IPAddress([(byte)random.Next(1, 224), (byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)]);
        }

        // Warm: JIT tiers, not the addresses (each is looked up once, after the measurement starts).
        for (var i = 0; i < 2_000; i++)
        {
            locator.Locate(IPAddress.Loopback);
            locator.Locate(new IPAddress([(byte)(1 + (i % 200)), 2, 3, 4]));
        }

        var located = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var address in addresses)
        {
            located += locator.Locate(address).HasCoordinates ? 1 : 0;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(located > addresses.Length / 2, $"{located} located");
    }
}
