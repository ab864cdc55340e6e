using Downloads.Redirector.Counting;
using Downloads.Redirector.Metrics;
using Downloads.Redirector.Ops;
using Downloads.Redirector.Snapshots;
using Downloads.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;
using StackExchange.Redis;

namespace Downloads.Redirector.Tests.Ops;

public sealed class OpsSamplerTests : IDisposable
{
    private readonly RedisServer _redis = new();

    public void Dispose() => _redis.Dispose();

    [Fact]
    public async Task The_view_is_built_when_asked_for_once_per_sample_not_every_round()
    {
        using var mux = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
        var holder = new SnapshotHolder();
        holder.Publish(Routing.Snapshot([Routing.Mirror("m1", 51.5, -0.1), Routing.Mirror("m2", 48.9, 2.4, "FR")]));
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new RedirectorMetrics(Prometheus.Metrics.WithCustomRegistry(registry), registry, holder);
        var options = Options.Create(new RedirectorOptions());
        var flusher = new CounterFlusher(new CounterRegistry(), mux, options, TimeProvider.System, metrics, NullLogger<CounterFlusher>.Instance);
        var sampler = new OpsSampler(holder, mux, flusher, metrics, Options.Create(new OpsOptions { WriteHistory = false }),
            TimeProvider.System, NullLogger<OpsSampler>.Instance);

        Assert.Equal("not sampled yet", sampler.Current.RedisError);
        await sampler.SampleOnceAsync();
        // Nothing is built until asked for: the view then shows the snapshot of that moment.
        holder.Publish(Routing.Snapshot([Routing.Mirror("m1", 51.5, -0.1), Routing.Mirror("m2", 48.9, 2.4, "FR"), Routing.Mirror("m3", 52.5, 13.4, "DE")]));
        var first = sampler.Current;
        Assert.True(first.RedisAvailable);
        Assert.Equal(["m1", "m2", "m3"], first.Mirrors.Select(m => m.Id));
        Assert.Same(first, sampler.Current); // any number of dashboards share one view per sample

        await sampler.SampleOnceAsync();
        var second = sampler.Current;
        Assert.NotSame(first, second);
        Assert.Same(second, sampler.Current);
    }
}
