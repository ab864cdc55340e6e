using Downloads.Redirector.Metrics;
using Prometheus;

namespace Downloads.Redirector.Health;

/// <summary>
/// Sets <c>downloads_redirector_degraded</c> and <c>downloads_manifest_expired</c> at each scrape from what every
/// <see cref="IDegradationSource"/> and <see cref="ManifestExpiry"/> say (Health/ reports to Metrics/, never the other way).
/// </summary>
internal sealed class DegradationMetrics
{
    public DegradationMetrics(CollectorRegistry registry, RedirectorMetrics metrics, ManifestExpiry expiry, IEnumerable<IDegradationSource> sources)
    {
        var all = sources.ToArray();
        registry.AddBeforeCollectCallback(() => metrics.SetDegradation(Degradation.Reasons(all).Length > 0, expiry.IsExpired));
    }
}
