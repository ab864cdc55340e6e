using System.Net;
using BenchmarkDotNet.Attributes;
using Downloads.Redirector;
using Downloads.Redirector.Clients;
using Downloads.Redirector.Overload;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Downloads.Bench;

/// <summary>
/// Cost of the per-client rate limit on the request path: a pipeline that does nothing, the same
/// behind <see cref="RateLimitMiddleware"/> over <see cref="ClientRateLimiter"/> (what the redirector
/// runs), and the limiter alone. Requests come from a trusted proxy with
/// one of 4,096 client addresses in <c>X-Forwarded-For</c>, as in bench/redirect.sh.
/// </summary>
[MemoryDiagnoser]
public class RateLimitBenchmarks
{
    private DefaultHttpContext[] _contexts = [];
    private RequestDelegate _bare = null!;
    private RequestDelegate _limited = null!;
    private ClientRateLimiter _limiter = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(Options.Create(new RedirectorOptions()));
        services.AddSingleton<ClientAddressResolver>();
        var registry = Prometheus.Metrics.NewCustomRegistry();
        services.AddSingleton(registry);
        services.AddSingleton<Prometheus.IMetricFactory>(Prometheus.Metrics.WithCustomRegistry(registry));
        services.AddSingleton<Downloads.Redirector.Snapshots.SnapshotHolder>();
        services.AddSingleton<Downloads.Redirector.Metrics.RedirectorMetrics>();
        services.AddSingleton<Downloads.Redirector.Counting.CounterRegistry>();
        services.AddSingleton<Downloads.Redirector.Counting.RequestCounter>();
        services.AddOptions<RateLimitOptions>().Configure(o => o.PermitsPerSecond = 1_000_000);
        services.AddSingleton<ClientRateLimiter>();
        var provider = services.BuildServiceProvider();
        _limiter = provider.GetRequiredService<ClientRateLimiter>();

        var bare = new ApplicationBuilder(provider);
        bare.Run(_ => Task.CompletedTask);
        _bare = bare.Build();
        var limited = new ApplicationBuilder(provider);
        limited.UseMiddleware<RateLimitMiddleware>();
        limited.Run(_ => Task.CompletedTask);
        _limited = limited.Build();

        var random = new Random(1);
        _contexts = new DefaultHttpContext[4096];
        for (var i = 0; i < _contexts.Length; i++)
        {
            var c = new DefaultHttpContext { RequestServices = provider };
            c.Connection.RemoteIpAddress = IPAddress.Loopback;
            c.Request.Path = "/noobs/file.img";
            c.Request.Headers["X-Forwarded-For"] = $"{random.Next(1, 224)}.{random.Next(256)}.{random.Next(256)}.{random.Next(1, 255)}";
            _contexts[i] = c;
        }
    }

    private DefaultHttpContext Next() => _contexts[_next++ & (_contexts.Length - 1)];

    [Benchmark(Baseline = true)]
    public Task Pipeline() => _bare(Next());

    [Benchmark]
    public Task PipelineWithRateLimiter() => _limited(Next());

    [Benchmark]
    public bool LimiterOnly()
    {
        using var lease = _limiter.AttemptAcquire(Next());
        return lease.IsAcquired;
    }
}
