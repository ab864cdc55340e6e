using System.Diagnostics;
using Downloads.Redirector.Metrics;
using Downloads.Testing;
using Prometheus;

namespace Downloads.Redirector.Tests.Metrics;

public sealed class LatencyRecorderTests
{
    private static readonly double[] Bounds = [0.000_010, 0.000_100, 0.001];

    private static (LatencyRecorder Recorder, Histogram Histogram) Create()
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry());
        var histogram = factory.CreateHistogram("test_seconds", "Test.", labelNames: [], new HistogramConfiguration { Buckets = Bounds });
        return (new LatencyRecorder(histogram, Bounds), histogram);
    }

    private static long Ticks(double seconds) => (long)(seconds * Stopwatch.Frequency);

    [Fact]
    public void Observations_land_in_their_buckets_once_published_and_only_once()
    {
        var (recorder, histogram) = Create();
        recorder.Observe(Ticks(0.000_005));
        recorder.Observe(Ticks(0.000_050));
        recorder.Observe(Ticks(0.000_050));
        recorder.Observe(Ticks(0.5));
        Assert.Equal(0, histogram.Count);

        recorder.Publish();
        Assert.Equal(4, histogram.Count);
        Assert.Equal(0.000_010 + 2 * 0.000_100 + 0.002, histogram.Sum, 9); // upper bounds; past the last: twice it
        recorder.Publish();
        Assert.Equal(4, histogram.Count);
    }

    [Fact]
    public void Observing_allocates_nothing()
    {
        var (recorder, _) = Create();
        recorder.Observe(1); // first call: JIT
        Assert.Equal(0, Allocations.Fewest(() =>
        {
            for (var i = 0; i < 10_000; i++)
                recorder.Observe(Stopwatch.GetTimestamp() - Stopwatch.GetTimestamp() + Ticks(0.000_001 * (i % 2000)));
        }));
    }
}
