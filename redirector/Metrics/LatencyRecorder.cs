using System.Diagnostics;
using Prometheus;

namespace Downloads.Redirector.Metrics;

/// <summary>
/// A lock-free latency histogram for the request path: one interlocked increment per observation into
/// fixed buckets, published into a prometheus-net <see cref="Histogram"/> just before each scrape. The
/// request path never touches prometheus-net (whose observations do CAS loops on doubles and exemplar
/// work per call). The published <c>_sum</c> counts each observation at its bucket's upper bound.
/// </summary>
internal sealed class LatencyRecorder
{
    private readonly long[] _boundTicks;
    private readonly double[] _boundSeconds;
    private readonly long[] _counts;
    private readonly long[] _published;
    private readonly Histogram _histogram;
    private readonly Lock _publish = new();

    public LatencyRecorder(Histogram histogram, double[] boundsSeconds)
    {
        _histogram = histogram;
        _boundSeconds = boundsSeconds;
        _boundTicks = [.. boundsSeconds.Select(s => (long)Math.Ceiling(s * Stopwatch.Frequency))];
        _counts = new long[boundsSeconds.Length + 1];
        _published = new long[boundsSeconds.Length + 1];
    }

    /// <summary>Records one observation of <paramref name="elapsedTicks"/> (<see cref="Stopwatch"/> ticks).</summary>
    public void Observe(long elapsedTicks)
    {
        var i = 0;
        while (i < _boundTicks.Length && elapsedTicks > _boundTicks[i])
            i++;
        Interlocked.Increment(ref _counts[i]);
    }

    /// <summary>Moves what was recorded since the last call into the histogram.</summary>
    public void Publish()
    {
        lock (_publish)
        {
            for (var i = 0; i < _counts.Length; i++)
            {
                var now = Volatile.Read(ref _counts[i]);
                var delta = now - _published[i];
                if (delta <= 0)
                    continue;
                _published[i] = now;
                _histogram.Observe(i < _boundSeconds.Length ? _boundSeconds[i] : _boundSeconds[^1] * 2, delta);
            }
        }
    }
}
