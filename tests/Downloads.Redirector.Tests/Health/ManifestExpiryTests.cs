using System.Net;
using Downloads.Contracts.Manifests;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Health;
using Downloads.Redirector.Metrics;
using Downloads.Redirector.Snapshots;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Prometheus;

namespace Downloads.Redirector.Tests.Health;

/// <summary>Issue #15 §10: an expired manifest is flagged, never silently trusted, and never stops the redirects.</summary>
public class ManifestExpiryTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static RoutingSnapshot SnapshotOf(Manifest manifest) => new()
    {
        Index = ManifestIndex.Build(manifest, new CounterRegistry()),
        Mirrors = [],
        Http = RoutingSnapshot.Empty.Http,
        Https = RoutingSnapshot.Empty.Https,
    };

    [Fact]
    public void The_routed_manifest_is_flagged_from_its_expires_time_on_in_the_source_and_the_metric()
    {
        var time = new FakeTimeProvider(Start);
        var holder = new SnapshotHolder();
        var expiry = new ManifestExpiry(holder, time);
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new RedirectorMetrics(Prometheus.Metrics.WithCustomRegistry(registry), registry, holder);
        _ = new DegradationMetrics(registry, metrics, expiry, [expiry]);
        Assert.Null(expiry.DegradedReason);

        holder.Publish(SnapshotOf(new Manifest { Serial = 3, Published = Start, Expires = Start.AddDays(7) }));
        time.Advance(TimeSpan.FromDays(7) - TimeSpan.FromSeconds(1));
        Assert.Null(expiry.DegradedReason);
        Assert.Equal(0, Scrape(registry, "downloads_manifest_expired"));

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("manifest expired", expiry.DegradedReason);
        Assert.Equal(1, Scrape(registry, "downloads_manifest_expired"));
    }

    [Fact]
    public async Task A_newer_manifest_that_arrives_expired_is_held_back_flagged_and_redirects_go_on()
    {
        await using var net = await TestNetwork.StartAsync(redis);
        await net.StartRedirectorAsync(true, "--Redirector:ManifestRefreshSeconds=0.2");
        var expiry = net.App!.Services.GetServices<IDegradationSource>().OfType<ManifestExpiry>().Single();
        Assert.Null(expiry.DegradedReason);
        Assert.Equal(0, await net.MetricAsync("downloads_manifest_expired"));

        var now = DateTimeOffset.UtcNow;
        net.Publish(net.Manifest with { Serial = 8, Published = now.AddDays(-30), Expires = now.AddDays(-23) });
        await Eventually.TrueAsync(() => expiry.HeldBack == 8, TimeSpan.FromSeconds(15), "serial 8 held back as expired");

        Assert.Equal("manifest expired", expiry.DegradedReason);
        Assert.Equal(1, await net.MetricAsync("downloads_manifest_expired"));
        Assert.Equal(7, await net.MetricAsync("downloads_manifest_serial"));
        using (var response = await net.GetAsync("/" + TestNetwork.Escaped(TestNetwork.OsPath), "81.2.69.142"))
            Assert.Equal(HttpStatusCode.Found, response.StatusCode);

        // A fresh serial clears it.
        net.Publish(net.Manifest with { Serial = 9, Published = now, Expires = now.AddDays(7) });
        await Eventually.TrueAsync(async () => await net.MetricAsync("downloads_manifest_serial") == 9, TimeSpan.FromSeconds(15), "serial 9 loaded");
        Assert.Null(expiry.DegradedReason);
        Assert.Equal(0, await net.MetricAsync("downloads_manifest_expired"));
    }

    private static double Scrape(CollectorRegistry registry, string name)
    {
        using var stream = new MemoryStream();
        registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        return PrometheusText.Parse(System.Text.Encoding.UTF8.GetString(stream.ToArray())).Single(s => s.Name == name).Value;
    }
}
