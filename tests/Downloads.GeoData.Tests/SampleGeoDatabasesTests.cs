using System.Net;
using Downloads.GeoData;
using Downloads.Testing;
using MaxMind.GeoIP2;
using MaxMind.GeoIP2.Exceptions;

namespace Downloads.GeoData.Tests;

/// <summary>The generated files are read back through MaxMind's own GeoIP2 reader, as production reads GeoLite2.</summary>
public sealed class SampleGeoDatabasesTests : IDisposable
{
    private readonly TempDirectory _dir = new("geo");
    private readonly DatabaseReader _city;
    private readonly DatabaseReader _asn;

    public SampleGeoDatabasesTests()
    {
        var (cityPath, asnPath) = SampleGeoDatabases.WriteAll(_dir.Path);
        _city = new DatabaseReader(cityPath);
        _asn = new DatabaseReader(asnPath);
    }

    public static TheoryData<string> NetworkNames()
    {
        var data = new TheoryData<string>();
        foreach (var n in SampleGeoDatabases.Networks)
        {
            data.Add(n.Name);
        }

        return data;
    }

    private static SampleNetwork Sample(string name) => SampleGeoDatabases.Networks.Single(n => n.Name == name);

    [Theory]
    [MemberData(nameof(NetworkNames))]
    public void City_database_gives_each_sample_network_its_place(string name)
    {
        var sample = Sample(name);

        var city = _city.City(sample.Address);

        Assert.Equal(sample.Country, city.Country.IsoCode);
        Assert.Equal(sample.CountryName, city.Country.Name);
        Assert.Equal(sample.Country, city.RegisteredCountry.IsoCode);
        Assert.Equal(sample.Continent, city.Continent.Code);
        Assert.Equal(sample.City, city.City.Name);
        Assert.Equal(sample.Latitude, city.Location.Latitude);
        Assert.Equal(sample.Longitude, city.Location.Longitude);
        Assert.Equal(sample.AccuracyRadius, city.Location.AccuracyRadius);
        Assert.Equal(sample.TimeZone, city.Location.TimeZone);
        Assert.Equal(sample.Network.PrefixLength, city.Traits.Network!.PrefixLength);
        Assert.Equal(sample.Network.BaseAddress, city.Traits.Network.NetworkAddress);
    }

    [Theory]
    [MemberData(nameof(NetworkNames))]
    public void Asn_database_gives_each_sample_network_its_own_AS(string name)
    {
        var sample = Sample(name);

        var asn = _asn.Asn(sample.Address);

        Assert.Equal(sample.Asn, (uint?)asn.AutonomousSystemNumber);
        Assert.Equal(sample.AsnOrganization, asn.AutonomousSystemOrganization);
    }

    [Fact]
    public void Sample_networks_have_distinct_ASNs_and_addresses_inside_their_networks()
    {
        Assert.Equal(SampleGeoDatabases.Networks.Count, SampleGeoDatabases.Networks.Select(n => n.Asn).Distinct().Count());
        Assert.All(SampleGeoDatabases.Networks, n => Assert.True(n.Network.Contains(n.Address), n.Name));
    }

    [Fact]
    public void London_is_found_at_both_ends_of_its_network_and_EU_membership_is_set()
    {
        var first = _city.City("81.2.69.0");
        var last = _city.City("81.2.69.255");

        Assert.Equal("London", first.City.Name);
        Assert.Equal("London", last.City.Name);
        Assert.False(first.Country.IsInEuropeanUnion);
        Assert.True(_city.City("89.160.20.1").Country.IsInEuropeanUnion);
        Assert.False(_city.City("216.160.83.1").Country.IsInEuropeanUnion);
    }

    [Theory]
    [InlineData("::ffff:81.2.69.142")]
    [InlineData("2002:5102:458e::1")]
    public void IPv4_mapped_and_6to4_spellings_reach_the_IPv4_record(string address)
    {
        var city = _city.City(address);

        Assert.Equal("London", city.City.Name);
        Assert.Equal(20712, _asn.Asn(address).AutonomousSystemNumber);
    }

    [Theory]
    [InlineData("81.2.70.1")]        // next to London
    [InlineData("2.125.160.224")]    // just past the Boxford /29
    [InlineData("8.8.8.8")]
    [InlineData("10.1.2.3")]
    [InlineData("2001:219::1")]      // next to Japan
    [InlineData("2a00:1450::1")]
    [InlineData("::ffff:8.8.8.8")]
    public void Addresses_outside_every_network_are_not_found(string address)
    {
        Assert.Throws<AddressNotFoundException>(() => _city.City(address));
        Assert.False(_city.TryCity(address, out _));
        Assert.False(_asn.TryAsn(address, out _));
    }

    [Fact]
    public void Metadata_describes_the_databases()
    {
        Assert.Equal("GeoLite2-City", _city.Metadata.DatabaseType);
        Assert.Equal("GeoLite2-ASN", _asn.Metadata.DatabaseType);
        Assert.Equal(2, _city.Metadata.BinaryFormatMajorVersion);
        Assert.Equal(0, _city.Metadata.BinaryFormatMinorVersion);
        Assert.Equal(6, _city.Metadata.IPVersion);
        Assert.Equal(["en"], _city.Metadata.Languages);
        Assert.Contains("sample", _city.Metadata.Description["en"], StringComparison.Ordinal);
        Assert.Equal(new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc), _city.Metadata.BuildDate);
    }

    [Fact]
    public void Writing_is_deterministic_and_leaves_no_temporary_files()
    {
        var again = SampleGeoDatabases.WriteAll(_dir.Combine("again"));

        Assert.Equal(File.ReadAllBytes(_dir.Combine(SampleGeoDatabases.CityFileName)), File.ReadAllBytes(again.CityPath));
        Assert.Equal(
            [SampleGeoDatabases.AsnFileName, SampleGeoDatabases.CityFileName],
            Directory.GetFiles(_dir.Combine("again")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    public void Dispose()
    {
        _city.Dispose();
        _asn.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Writing_the_same_samples_again_leaves_the_files_as_they_are_so_no_watcher_reloads()
    {
        using var dir = new Downloads.Testing.TempDirectory("samples");
        var (city, asn) = SampleGeoDatabases.WriteAll(dir.Path);
        var before = (File.GetLastWriteTimeUtc(city), new FileInfo(city).Length, File.GetLastWriteTimeUtc(asn));
        File.SetLastWriteTimeUtc(city, before.Item1.AddMinutes(-5));
        File.SetLastWriteTimeUtc(asn, before.Item3.AddMinutes(-5));

        SampleGeoDatabases.WriteAll(dir.Path);

        Assert.Equal(before.Item1.AddMinutes(-5), File.GetLastWriteTimeUtc(city));
        Assert.Equal(before.Item3.AddMinutes(-5), File.GetLastWriteTimeUtc(asn));
        // Other content still replaces the file.
        SampleGeoDatabases.WriteCity(city, SampleGeoDatabases.Networks.Take(1));
        Assert.NotEqual(before.Length, new FileInfo(city).Length);
        Assert.Empty(Directory.EnumerateFiles(dir.Path, "*.tmp"));
    }
}
