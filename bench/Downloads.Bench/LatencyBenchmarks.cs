using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Downloads.Redirector.Metrics;
using Prometheus;

namespace Downloads.Bench;

/// <summary>
/// One latency observation on the request path, ours against the library's: <see cref="LatencyRecorder"/> (what
/// the redirector runs: an interlocked increment into fixed buckets, published into a prometheus-net histogram at
/// scrape time) and prometheus-net's own <see cref="Histogram.Observe(double)"/>, with the same buckets. Alone on
/// one thread, and from two threads at once (both cores observing, as under load).
/// </summary>
[MemoryDiagnoser]
public class LatencyBenchmarks
{
    private const int PerThread = 100_000;
    private readonly long[] _ticks = new long[4096];
    private readonly double[] _seconds = new double[4096];
    private LatencyRecorder _recorder = null!;
    private Histogram _histogram = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        // The redirector's selection histogram: 0.25 µs doubling to ~2 ms.
        var bounds = Histogram.ExponentialBuckets(0.000_000_25, 2, 14);
        var factory = Metrics.WithCustomRegistry(Metrics.NewCustomRegistry());
        _recorder = new LatencyRecorder(factory.CreateHistogram("ours_seconds", "ours", [], new HistogramConfiguration { Buckets = bounds }), bounds);
        _histogram = factory.CreateHistogram("library_seconds", "library", [], new HistogramConfiguration { Buckets = bounds });
        var random = new Random(1);
        for (var i = 0; i < _ticks.Length; i++)
        {
            // 0.2–20 µs, log-uniform: a selection's spread.
            _seconds[i] = 0.000_000_2 * Math.Pow(100, random.NextDouble());
            _ticks[i] = (long)(_seconds[i] * Stopwatch.Frequency);
        }
    }

    [Benchmark(Baseline = true)]
    public void Ours() => _recorder.Observe(_ticks[_next++ & 4095]);

    [Benchmark]
    public void Library() => _histogram.Observe(_seconds[_next++ & 4095]);

    [Benchmark(OperationsPerInvoke = 2 * PerThread)]
    public void OursTwoThreads() => Parallel.Invoke(() => OursLoop(0), () => OursLoop(2048));

    [Benchmark(OperationsPerInvoke = 2 * PerThread)]
    public void LibraryTwoThreads() => Parallel.Invoke(() => LibraryLoop(0), () => LibraryLoop(2048));

    private void OursLoop(int offset)
    {
        for (var i = 0; i < PerThread; i++)
            _recorder.Observe(_ticks[(offset + i) & 4095]);
    }

    private void LibraryLoop(int offset)
    {
        for (var i = 0; i < PerThread; i++)
            _histogram.Observe(_seconds[(offset + i) & 4095]);
    }
}
