using System.Net;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Metrics;
using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Counting;

/// <summary>
/// Counts one answered request under its <see cref="Outcome"/>: the live Prometheus counter, the day's count
/// per country, the outcome's distinct addresses, and per file when the answer names a manifest file. The one
/// place every answer passes, the redirect path's and the rate limiter's alike. Lock-free and allocation-free:
/// interlocked increments on counters that already exist (a new file or country adds one small object once).
/// </summary>
internal sealed class RequestCounter
{
    private readonly CounterRegistry _counters;
    private readonly RedirectorMetrics _metrics;
    private readonly IGeoLocator? _geo;

    public RequestCounter(CounterRegistry counters, RedirectorMetrics metrics, IServiceProvider services)
    {
        _counters = counters;
        _metrics = metrics;
        _geo = services.GetService<IGeoLocator>();
    }

    /// <summary>Where <paramref name="address"/> is; unknown without an address or geo databases. In memory, bounded: a tree walk, no allocation.</summary>
    public ClientLocation Locate(IPAddress? address) =>
        address is not null && _geo is not null ? _geo.Locate(address) : ClientLocation.Unknown;

    /// <summary>
    /// Counts a request. <paramref name="file"/> only for outcomes that name a manifest file
    /// (<see cref="Outcomes.IsPerFile"/>); GET redirects per mirror are the caller's, who knows the target.
    /// </summary>
    public void Count(Outcome outcome, IPAddress? address, string country, FileEntry? file = null)
    {
        _metrics.Answered(outcome).Increment();
        file?.Counts.Increment(outcome);
        _counters.Country(country).Increment(outcome);
        if (address is not null)
            _counters.SeeAddress(outcome, address);
    }

    /// <summary>
    /// A request the rate limiter refused: counted with the address the limiter keyed on and its country (one
    /// bounded in-memory geo lookup), never per file, since that would take a manifest lookup of whatever path
    /// a flood sends.
    /// </summary>
    public void CountRefused(IPAddress? address) => Count(Outcome.RateLimited, address, Locate(address).Country);
}
