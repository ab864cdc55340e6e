using System.Net;
using BenchmarkDotNet.Attributes;
using Downloads.GeoData;
using Downloads.Redirector;
using Downloads.Redirector.Clients;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Metrics;
using Downloads.Redirector.Overload;
using Downloads.Redirector.Snapshots;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Downloads.Bench;

/// <summary>
/// The shedding path: a request the per-client rate limit refuses with 429, before and after it was counted.
/// <see cref="Uncounted"/> is the path as it was (limit, the Prometheus counter, the 429 answer), copied here as
/// the reference; <see cref="Counted"/> is <see cref="RateLimitMiddleware"/> as it ships (the same, plus outcome,
/// country by one geo lookup and the distinct address); <see cref="CountOnly"/> is the counting step alone.
/// Every request is from another client behind a trusted proxy (4,096 uniformly random public IPv4 addresses
/// that have all used up their burst), located in GeoLite2-scale generated databases (as <see cref="GeoBenchmarks"/>),
/// and arrives as new (its resolved address is cleared, as for a fresh request).
/// </summary>
[MemoryDiagnoser]
public class ShedBenchmarks : IDisposable
{
    private const int Clients = 4096;
    private DefaultHttpContext[] _contexts = [];
    private IPAddress[] _addresses = [];
    private ClientRateLimiter _limiter = null!;
    private RedirectorMetrics _metrics = null!;
    private RateLimitMiddleware _middleware = null!;
    private RequestCounter _count = null!;
    private ServiceProvider _provider = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var dir = Environment.GetEnvironmentVariable("DOWNLOADS_BENCH_GEO") ?? "/tmp/downloads-bench-geo";
        var (city, asn) = (Path.Combine(dir, "City.mmdb"), Path.Combine(dir, "ASN.mmdb"));
        if (!File.Exists(city) || !File.Exists(asn))
            RealScaleGeoDatabases.Write(city, asn, seed: 3);

        var services = new ServiceCollection();
        services.AddLogging();
        services.AddProblemDetails();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(Options.Create(new RedirectorOptions()));
        services.AddOptions<GeoOptions>().Configure(o => (o.CityDatabase, o.AsnDatabase) = (city, asn));
        services.AddSingleton<IGeoLocator, MaxMindGeoLocator>();
        var registry = Prometheus.Metrics.NewCustomRegistry();
        services.AddSingleton(registry);
        services.AddSingleton<IMetricFactory>(Prometheus.Metrics.WithCustomRegistry(registry));
        services.AddSingleton<SnapshotHolder>();
        services.AddSingleton<RedirectorMetrics>();
        services.AddSingleton<CounterRegistry>();
        services.AddSingleton<RequestCounter>();
        services.AddSingleton<ClientAddressResolver>();
        // A permit every ~3 hours and no burst beyond one: after the first request every client is refused.
        services.AddOptions<RateLimitOptions>().Configure(o => (o.PermitsPerSecond, o.Burst) = (0.0001, 1));
        services.AddSingleton<ClientRateLimiter>();
        _provider = services.BuildServiceProvider();
        _limiter = _provider.GetRequiredService<ClientRateLimiter>();
        _metrics = _provider.GetRequiredService<RedirectorMetrics>();
        _count = _provider.GetRequiredService<RequestCounter>();
        _middleware = new RateLimitMiddleware(_ => throw new InvalidOperationException("a request was let through"),
            _limiter, _provider.GetRequiredService<ClientAddressResolver>(), _count);

        var random = new Random(1);
        _contexts = new DefaultHttpContext[Clients];
        _addresses = new IPAddress[Clients];
        for (var i = 0; i < Clients; i++)
        {
            _addresses[i] = new IPAddress([(byte)random.Next(1, 224), (byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(1, 255)]);
            var c = new DefaultHttpContext { RequestServices = _provider };
            c.Connection.RemoteIpAddress = IPAddress.Loopback;
            c.Request.Path = "/os/raspios.img";
            c.Request.Headers["X-Forwarded-For"] = _addresses[i].ToString();
            c.Response.Body = Stream.Null;
            _contexts[i] = c;
        }
        // Use up every client's burst.
        for (var i = 0; i < Clients; i++)
            _limiter.AttemptAcquire(_contexts[i]).Dispose();
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _provider.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The next request, as it arrives: nothing resolved yet.</summary>
    private DefaultHttpContext Next()
    {
        var c = _contexts[_next++ & (Clients - 1)];
        c.Features.Set<ClientAddressFeature?>(null);
        return c;
    }

    /// <summary>The 429 path before it was counted (RateLimitMiddleware at 44b6fa4), for reference.</summary>
    [Benchmark(Baseline = true)]
    public Task Uncounted()
    {
        var context = Next();
        var lease = _limiter.AttemptAcquire(context);
        if (lease.IsAcquired)
            throw new InvalidOperationException("a request was let through");
        _metrics.RateLimited.Increment();
        return RateLimitMiddleware.RejectAsync(context, lease);
    }

    /// <summary>The 429 path as it ships.</summary>
    [Benchmark]
    public Task Counted() => _middleware.InvokeAsync(Next());

    /// <summary>Only what counting adds: outcome, country (geo lookup), distinct address.</summary>
    [Benchmark]
    public void CountOnly() => _count.CountRefused(_addresses[_next++ & (Clients - 1)]);
}
