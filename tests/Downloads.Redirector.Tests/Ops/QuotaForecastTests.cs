using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Cli;
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
        await using var ops = await SamplerRig.StartAsync(_redis, holder, counters, options, clock);
        var (registry, logs, sampler) = (ops.Registry, ops.Logs, ops.Sampler);

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
        Assert.Single(logs.Lines, l => l.Contains("Mirror hot: at its current rate (18.5 Mbit/s, its mean so far this period) its quota runs out", StringComparison.Ordinal));
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
        Assert.Equal(2, logs.Lines.Count(l => l.Contains("Mirror hot: at its current rate (18.5 Mbit/s, its mean so far this period) its quota runs out", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_mirror_that_turns_ten_times_busier_is_forecast_at_its_recent_rate_warned_once_and_cleared_once_when_it_calms()
    {
        // Billed on the 1st, 5 TB. For 20 days it used 0.1 TB a day: at that mean the quota lasts to 20 Feb, past the
        // period (1 Feb). At 9:00 on 21 Jan it turns ten times busier (1 TB a day), for two hours, then calms again.
        var start = new DateTimeOffset(2027, 1, 21, 8, 0, 0, TimeSpan.Zero);
        var surge = start.AddHours(1);
        var calm = surge.AddHours(2);
        const double low = 0.1 * TB / 86400, high = 1.0 * TB / 86400;
        long Used(DateTimeOffset t)
        {
            var seconds = (Math.Min(t.ToUnixTimeSeconds(), surge.ToUnixTimeSeconds()) - new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds()) * low
                + Math.Clamp((t - surge).TotalSeconds, 0, (calm - surge).TotalSeconds) * high
                + Math.Max(0, (t - calm).TotalSeconds) * low;
            return (long)seconds;
        }
        var clock = new FakeTimeProvider(start);
        var options = new RedirectorOptions();
        var counters = new CounterRegistry();
        var index = ManifestIndex.Build(Manifest(), counters);
        var mirror = Mirror("busy", 51.5, -0.1) with { QuotaBytes = 5 * TB };
        var holder = new SnapshotHolder();
        RoutingSnapshot? snapshot = null;
        void Round()
        {
            // One refresher round: a new reading of the usage counter (a new record, as a mirror's report makes).
            var now = clock.GetUtcNow();
            snapshot = SnapshotBuilder.Build(index, [mirror with { MonthBytes = Used(now) }], options, counters, now, now, snapshot, now);
            holder.Publish(snapshot);
        }
        await using var ops = await SamplerRig.StartAsync(_redis, holder, counters, options, clock);
        var (registry, logs, sampler) = (ops.Registry, ops.Logs, ops.Sampler);
        async Task<MirrorView> RunUntilAsync(DateTimeOffset until)
        {
            while (clock.GetUtcNow() < until)
            {
                clock.Advance(TimeSpan.FromSeconds(30));
                Round();
                await sampler.SampleOnceAsync();
            }
            return sampler.Current.Mirrors.Single();
        }
        int Warnings() => logs.Lines.Count(l => l.Contains("Mirror busy: at its current rate", StringComparison.Ordinal) && l.Contains("its quota runs out", StringComparison.Ordinal));
        int Cleared() => logs.Lines.Count(l => l.Contains("Mirror busy: at its current rate", StringComparison.Ordinal) && l.Contains("lasts past", StringComparison.Ordinal));
        var budget = new QuotaBudget(5 * TB, 0.1, 0.95);

        // Just after start the window covers too little: the forecast is the period's mean, as before.
        Round();
        await sampler.SampleOnceAsync();
        var first = sampler.Current.Mirrors.Single();
        Assert.Equal("mean", first.QuotaForecastBasis);
        Assert.Null(first.QuotaRecentBps);
        Assert.Equal(budget.ExhaustionAt(Used(start), start), first.QuotaRunsOutAt);
        Assert.False(first.QuotaWarning);

        // An hour at the usual rate: the recent rate is that rate, the forecast past the period, no warning.
        var steady = await RunUntilAsync(surge);
        Assert.Equal("recent", steady.QuotaForecastBasis);
        Assert.InRange(steady.QuotaRecentBps!.Value, low * 0.99, low * 1.01);
        Assert.InRange(steady.QuotaRecentMinutes, 50, 60);
        Assert.False(steady.QuotaWarning);
        Assert.Equal(0, Warnings());

        // Half an hour into the surge (within the window): the forecast is days earlier than the mean's and inside the
        // period; one warning, and the metric says it.
        var busy = await RunUntilAsync(surge.AddMinutes(30));
        var meanForecast = budget.ExhaustionAt(Used(surge.AddMinutes(30)), surge.AddMinutes(30))!.Value;
        Assert.True(meanForecast > new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero), "the period mean alone would not warn");
        Assert.True(busy.QuotaRunsOutAt < meanForecast.AddDays(-10), $"recent-rate forecast {busy.QuotaRunsOutAt:u} vs mean {meanForecast:u}");
        Assert.True(busy.QuotaWarning);
        Assert.True(busy.QuotaRecentBps > 4 * busy.QuotaMeanBps, $"recent {busy.QuotaRecentBps} vs mean {busy.QuotaMeanBps}");
        Assert.Equal(1, Warnings());
        Assert.Contains(logs.Lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"Mirror busy: at its current rate \(\d+\.?\d* Mbit/s, over the last \d+ min\) its quota runs out 2027-01-"));
        var samples = await ScrapeAsync(registry);
        Assert.Equal(1, Value(samples, "downloads_mirror_quota_exhaustion_warning", "busy"));
        Assert.Equal(busy.QuotaRunsOutAt!.Value.ToUnixTimeSeconds(), Value(samples, "downloads_mirror_quota_exhaustion_timestamp_seconds", "busy"));

        // The CLI shows both rates, the one forecast at starred.
        var cli = OpsCli.PrintStats(System.Text.Json.JsonSerializer.SerializeToElement(sampler.Current, System.Text.Json.JsonSerializerOptions.Web), null!);
        Assert.Contains("use Mbit/s (recent / period mean)", cli, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^busy\s.*\s\d+\.\d\* / \d+\.\d\s+2027-01-\d\d \d\d:\d\d WARNING: before period end", cli);

        // The rest of the surge: still one warning however many rounds.
        var peak = await RunUntilAsync(calm);
        Assert.True(peak.QuotaRunsOutAt <= busy.QuotaRunsOutAt);
        Assert.InRange(peak.QuotaRecentBps!.Value, high * 0.95, high * 1.01);
        Assert.Equal(1, Warnings());

        // It calms down: within the window the forecast moves later, past the period; the warning clears, logged once.
        var calmer = await RunUntilAsync(calm.AddMinutes(45));
        Assert.True(calmer.QuotaRunsOutAt > peak.QuotaRunsOutAt, $"calmer {calmer.QuotaRunsOutAt:u} vs peak {peak.QuotaRunsOutAt:u}");
        var calmed = await RunUntilAsync(calm.AddHours(2));
        Assert.True(calmed.QuotaRunsOutAt > new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero));
        Assert.False(calmed.QuotaWarning);
        Assert.InRange(calmed.QuotaRecentBps!.Value, low * 0.99, low * 1.01);
        Assert.Equal(1, Cleared());
        Assert.Equal(1, Warnings()); // one warning and one clearing line over some 500 rounds
        samples = await ScrapeAsync(registry);
        Assert.Equal(0, Value(samples, "downloads_mirror_quota_exhaustion_warning", "busy"));
    }

    /// <summary>The ops sampler over a snapshot holder, with its own metrics registry, a real Redis and its log lines recorded.</summary>
    private sealed class SamplerRig : IAsyncDisposable
    {
        private ConnectionMultiplexer _mux = null!;
        private ILoggerFactory _factory = null!;

        public Prometheus.CollectorRegistry Registry { get; } = Prometheus.Metrics.NewCustomRegistry();
        public RecordingLoggerProvider Logs { get; } = new();
        public OpsSampler Sampler { get; private set; } = null!;

        public static async Task<SamplerRig> StartAsync(RedisServer redis, SnapshotHolder holder, CounterRegistry counters, RedirectorOptions options, TimeProvider clock)
        {
            var rig = new SamplerRig();
            var metrics = new RedirectorMetrics(Prometheus.Metrics.WithCustomRegistry(rig.Registry), rig.Registry, holder);
            rig._mux = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
            var flusher = new CounterFlusher(counters, rig._mux, Options.Create(options), clock, metrics, NullLogger<CounterFlusher>.Instance);
            rig._factory = LoggerFactory.Create(b => b.AddProvider(rig.Logs));
            rig.Sampler = new OpsSampler(holder, rig._mux, flusher, metrics, Options.Create(new OpsOptions { WriteHistory = false }),
                clock, rig._factory.CreateLogger<OpsSampler>(), redirectorOptions: Options.Create(options));
            return rig;
        }

        public async ValueTask DisposeAsync()
        {
            _factory?.Dispose();
            Logs.Dispose();
            if (_mux is not null)
                await _mux.DisposeAsync();
        }
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
