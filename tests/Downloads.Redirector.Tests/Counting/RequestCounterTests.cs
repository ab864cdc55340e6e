using System.Net;
using Downloads.GeoData;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Metrics;
using Downloads.Redirector.Snapshots;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Tests.Counting;

public sealed class RequestCounterTests : IDisposable
{
    private readonly TempDirectory _dir = new("count");
    private readonly ServiceProvider _services;
    private readonly CounterRegistry _counters = new();
    private readonly RedirectorMetrics _metrics;
    private readonly RequestCounter _count;

    public RequestCounterTests()
    {
        var (city, asn) = SampleGeoDatabases.WriteAll(_dir.Path);
        var geo = new MaxMindGeoLocator(Options.Create(new GeoOptions { CityDatabase = city, AsnDatabase = asn }),
            TimeProvider.System, NullLogger<MaxMindGeoLocator>.Instance);
        _services = new ServiceCollection().AddSingleton<IGeoLocator>(geo).BuildServiceProvider();
        var registry = Prometheus.Metrics.NewCustomRegistry();
        _metrics = new RedirectorMetrics(Prometheus.Metrics.WithCustomRegistry(registry), registry, new SnapshotHolder());
        _count = new RequestCounter(_counters, _metrics, _services);
    }

    public void Dispose()
    {
        _services.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void A_refusal_is_counted_with_the_clients_country_and_address_and_no_file()
    {
        _count.CountRefused(IPAddress.Parse("81.2.69.142"));
        _count.CountRefused(IPAddress.Parse("81.2.69.143"));
        _count.CountRefused(null);

        Assert.Equal(2, _counters.Country("GB").Peek(Outcome.RateLimited));
        Assert.Equal(1, _counters.Country("").Peek(Outcome.RateLimited)); // no address: unknown country
        Assert.Equal(3, _metrics.RateLimited.Peek());
        Assert.Empty(_counters.Files);
        var refused = new HyperLogLog();
        _counters.DrainAddressesInto(Outcome.RateLimited, refused);
        Assert.Equal(2, refused.Estimate(), 0.5);
    }

    [Fact]
    public void Counting_any_outcome_allocates_nothing()
    {
        var snapshot = Routing.Snapshot([Routing.Mirror("m1", 51.5, -0.1)], Routing.Manifest(10, Routing.File("os/a.img")));
        var file = snapshot.Entry("os/a.img");
        var london = IPAddress.Parse("81.2.69.142");
        var v6 = IPAddress.Parse("2001:218::1");
        // First use creates the file's and the country's counters, once.
        foreach (var outcome in Outcomes.All)
            _count.Count(outcome, london, "GB", Outcomes.IsPerFile(outcome) ? file : null);
        _count.CountRefused(v6);
        _count.CountRefused(london);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            foreach (var outcome in Outcomes.All)
                _count.Count(outcome, london, _count.Locate(london).Country, Outcomes.IsPerFile(outcome) ? file : null);
            _count.CountRefused(v6);
            _count.CountRefused(london);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1_001, file.Counts.Peek(Outcome.Head));
        Assert.Equal(2_002, _counters.Country("GB").Peek(Outcome.RateLimited));
        Assert.Equal(1_001, _counters.Country("JP").Peek(Outcome.RateLimited));
    }
}
