using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Health;
using Downloads.Redirector.Metrics;
using Downloads.Redirector.Snapshots;
using Downloads.Testing;
using Prometheus;
using Xunit.Abstractions;

namespace Downloads.Redirector.Tests.Metrics;

/// <summary>
/// The redirector's series budget (docs/ops.md, "Series budget"): every mirror costs at most
/// <see cref="RedirectorMetrics.SeriesPerMirror"/> series, so 10,000 mirrors stay a known, bounded scrape.
/// A new per-mirror metric fails it until the budget is raised on purpose.
/// </summary>
public sealed class SeriesBudgetTests(ITestOutputHelper output)
{
    // The budget is per mirror; 2,000 keep the test quick (2,000: 36,066 series, 2.0 MB, docs/ops.md).
    private const int Mirrors = 2_000;

    [Fact]
    public async Task Every_mirror_costs_exactly_the_budgeted_series()
    {
        var records = new List<MirrorRecord>(Mirrors);
        for (var i = 0; i < Mirrors; i++)
            records.Add(Routing.Mirror($"m{i:D5}", -60 + i % 120, -170 + i % 340) with { QuotaBytes = 5_000_000_000_000 });
        var holder = new SnapshotHolder();
        holder.Publish(Routing.Snapshot(records));
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new RedirectorMetrics(Prometheus.Metrics.WithCustomRegistry(registry), registry, holder);
        // Every per-mirror series at once: redirects drained, a health round with both results.
        foreach (var m in records)
        {
            metrics.MirrorRedirects(m.Id, 3);
            metrics.RecordProbe(m.Id, ok: true, 12);
            metrics.RecordProbe(m.Id, ok: false, 5000);
        }

        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        var samples = PrometheusText.Parse(text);
        var perMirror = samples.Count(s => s.Label("mirror") is not null);
        output.WriteLine($"{Mirrors} mirrors: {samples.Count} series, {perMirror} per-mirror, {stream.Length / 1e6:0.0} MB per scrape");

        Assert.Equal(RedirectorMetrics.SeriesPerMirror * Mirrors, perMirror);
        foreach (var id in new[] { "m00000", $"m{Mirrors - 1:D5}" })
            Assert.Equal(RedirectorMetrics.SeriesPerMirror, samples.Count(s => s.Label("mirror") == id));
        // Everything else is a fixed handful, whatever the number of mirrors.
        Assert.InRange(samples.Count - perMirror, 20, 200);
    }
}
