using System.Net;
using BenchmarkDotNet.Attributes;
using Downloads.GeoData;
using Downloads.Redirector.Geo;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Downloads.Bench;

/// <summary>
/// The redirector's geo lookup (City and ASN) on GeoLite2-scale generated databases, for addresses a
/// cache could not have seen: uniformly random public IPv4, and random IPv6 addresses inside the
/// database's networks. The databases are generated once into <c>DOWNLOADS_BENCH_GEO</c>
/// (default <c>/tmp/downloads-bench-geo</c>; ~30 s the first time).
/// </summary>
[MemoryDiagnoser]
public class GeoBenchmarks : IDisposable
{
    private const int Addresses = 1 << 16;
    private MaxMindGeoLocator _locator = null!;
    private IPAddress[] _ipv4 = [];
    private IPAddress[] _ipv6 = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var dir = Environment.GetEnvironmentVariable("DOWNLOADS_BENCH_GEO") ?? "/tmp/downloads-bench-geo";
        var (city, asn) = (Path.Combine(dir, "City.mmdb"), Path.Combine(dir, "ASN.mmdb"));
        var random = new Random(5);
        var v6Networks = new List<IPNetwork>();
        if (!File.Exists(city) || !File.Exists(asn))
        {
            RealScaleGeoDatabases.Write(city, asn, seed: 3);
        }

        _locator = new MaxMindGeoLocator(Options.Create(new GeoOptions { CityDatabase = city, AsnDatabase = asn }),
            TimeProvider.System, NullLogger<MaxMindGeoLocator>.Instance);
        _ipv4 = new IPAddress[Addresses];
        for (var i = 0; i < Addresses; i++)
        {
            _ipv4[i] = new IPAddress([(byte)random.Next(1, 224), (byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(1, 255)]);
        }

        // IPv6 clients inside the generated allocations (2000::/3 outside them is mostly empty).
        _ipv6 = new IPAddress[Addresses];
        for (var i = 0; i < Addresses; i++)
        {
            var bytes = new byte[16];
            random.NextBytes(bytes);
            bytes[0] = (byte)(0x20 | (bytes[0] & 0x1F));
            _ipv6[i] = new IPAddress(bytes);
        }
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _locator.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Description = "Locate, random public IPv4")]
    public ClientLocation RandomIPv4() => _locator.Locate(_ipv4[_next++ & (Addresses - 1)]);

    [Benchmark(Description = "Locate, random IPv6 in 2000::/3")]
    public ClientLocation RandomIPv6() => _locator.Locate(_ipv6[_next++ & (Addresses - 1)]);
}
