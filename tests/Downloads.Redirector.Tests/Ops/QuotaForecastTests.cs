using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Metrics;
using Downloads.Redirector.Ops;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;
using Downloads.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using static Downloads.Redirector.Tests.Routing;

namespace Downloads.Redirector.Tests.Ops;

/// <summary>The quota forecast in /-/ops and /-/metrics, and its warning: once per mirror per billing period.</summary>
public sealed class QuotaForecastTests : IDisposable
{
    private const long TB = 1_000_000_000_000;
    private readonly RedisServer _redis = new();

    public void Dispose() => _redis.Dispose();

    [Fact]
    public async Task A_mirror_on_course_to_exhaust_its_quota_inside_the_period_is_shown_flagged_and_warned_about_once_per_period()
    {
        var now = new DateTimeOffset(2027, 1, 25, 0, 0, 0, TimeSpan.Zero);
        var clock = new FakeTimeProvider(now);
        var options = new RedirectorOptions();
        var counters = new CounterRegistry();
        var index = ManifestIndex.Build(Manifest(), counters);
        // Billed on the 15th, 10 days in: "hot" used 2 of 5 TB (runs out 9 Feb, inside the period), "cool" 1 TB
        // (6 Mar, after it), "free" has no quota.
        MirrorRecord[] records =
        [
            Mirror("cool", 51.5, -0.1) with { QuotaBytes = 5 * TB, BillingDay = 15, MonthBytes = 1 * TB },
            Mirror("free", 51.5, -0.1) with { MonthBytes = 9 * TB },
            Mirror("hot", 51.5, -0.1) with { QuotaBytes = 5 * TB, BillingDay = 15, MonthBytes = 2 * TB },
        ];
        var holder = new SnapshotHolder();
        holder.Publish(SnapshotBuilder.Build(index, records, options, counters, now, now, null, now));
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new RedirectorMetrics(Prometheus.Metrics.WithCustomRegistry(registry), registry, holder);
        using var mux = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
        var flusher = new CounterFlusher(counters, mux, Options.Create(options), clock, metrics, NullLogger<CounterFlusher>.Instance);
        using var logs = new RecordingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var sampler = new OpsSampler(holder, mux, flusher, metrics, Options.Create(new OpsOptions { WriteHistory = false }),
            clock, factory.CreateLogger<OpsSampler>(), redirectorOptions: Options.Create(options));

        await sampler.SampleOnceAsync();
        await sampler.SampleOnceAsync();
        var view = sampler.Current.Mirrors.ToDictionary(m => m.Id);
        Assert.Equal(new DateTimeOffset(2027, 2, 9, 0, 0, 0, TimeSpan.Zero), view["hot"].QuotaRunsOutAt);
        Assert.True(view["hot"].QuotaWarning);
        Assert.Equal((15, 10.0), (view["hot"].BillingDay, view["hot"].BurstPercent));
        Assert.Equal(new DateTimeOffset(2027, 2, 15, 0, 0, 0, TimeSpan.Zero), view["hot"].PeriodEnd);
        Assert.Equal(new DateTimeOffset(2027, 3, 6, 0, 0, 0, TimeSpan.Zero), view["cool"].QuotaRunsOutAt);
        Assert.False(view["cool"].QuotaWarning);
        Assert.Null(view["free"].QuotaRunsOutAt);

        // One warning for "hot" over two samples, none for the others.
        Assert.Single(logs.Lines, l => l.Contains("Mirror hot: at its rate so far its quota runs out", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Contains("Mirror cool:", StringComparison.Ordinal) || l.Contains("Mirror free:", StringComparison.Ordinal));

        var samples = await ScrapeAsync(registry);
        Assert.Equal(1, Value(samples, "downloads_mirror_quota_exhaustion_warning", "hot"));
        Assert.Equal(0, Value(samples, "downloads_mirror_quota_exhaustion_warning", "cool"));
        Assert.Equal(0, Value(samples, "downloads_mirror_quota_exhaustion_warning", "free"));
        Assert.Equal(new DateTimeOffset(2027, 2, 9, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), Value(samples, "downloads_mirror_quota_exhaustion_timestamp_seconds", "hot"));
        Assert.Equal(double.PositiveInfinity, Value(samples, "downloads_mirror_quota_exhaustion_timestamp_seconds", "free"));

        // The next period: the same mirror on course again is warned about again, once.
        var next = new DateTimeOffset(2027, 2, 25, 0, 0, 0, TimeSpan.Zero);
        clock.SetUtcNow(next);
        holder.Publish(SnapshotBuilder.Build(index, [.. records.Select(r => r with { MonthBytes = r.MonthBytes + 1 })], options, counters, next, next, null, next));
        await sampler.SampleOnceAsync();
        await sampler.SampleOnceAsync();
        Assert.Equal(2, logs.Lines.Count(l => l.Contains("Mirror hot: at its rate so far its quota runs out", StringComparison.Ordinal)));
    }

    private static async Task<IReadOnlyList<PrometheusSample>> ScrapeAsync(Prometheus.CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return PrometheusText.Parse(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }

    private static double Value(IReadOnlyList<PrometheusSample> samples, string name, string mirror) =>
        samples.Single(s => s.Name == name && s.Label("mirror") == mirror).Value;
}
