using Downloads.Contracts.Redis;
using Prometheus;
using StackExchange.Redis;

namespace Downloads.Redirector.Staging;

/// <summary>
/// Staging coverage in <c>/-/metrics</c>: per staged id (opaque, a handful at a time; series of an id no mirror holds
/// any more are removed) and region, the share of routable mirrors and of their capacity holding it. Read from
/// Redis at scrape time, never on the redirect path; a failed read keeps the last values.
/// </summary>
internal static class StagingMetrics
{
    /// <summary>Registers the gauges; call once after the app is built.</summary>
    public static void UseStagingMetrics(this IServiceProvider services)
    {
        var factory = services.GetRequiredService<IMetricFactory>();
        var registry = services.GetRequiredService<CollectorRegistry>();
        var mirrors = factory.CreateGauge("downloads_staged_mirror_share", "Share of a region's routable mirrors holding a staged release (opaque id).", ["id", "region"]);
        var capacity = factory.CreateGauge("downloads_staged_capacity_share", "Share of a region's routable mirror capacity holding a staged release (opaque id).", ["id", "region"]);
        var shown = new HashSet<(string, string)>();
        registry.AddBeforeCollectCallback(async ct =>
        {
            IReadOnlyList<StagedCoverage> coverage;
            try
            {
                var db = services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
                var mirrors = services.GetRequiredService<Snapshots.SnapshotHolder>().Current.Mirrors.Select(m => m.Record);
                coverage = await StagingCoverage.ReadAsync(db, mirrors, new Dictionary<string, double>()).WaitAsync(TimeSpan.FromSeconds(2), ct);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                return;
            }
            var now = new HashSet<(string, string)>();
            foreach (var file in coverage)
            {
                foreach (var r in file.Regions)
                {
                    mirrors.WithLabels(file.Id, r.Region).Set(r.MirrorShare);
                    capacity.WithLabels(file.Id, r.Region).Set(r.CapacityShare);
                    now.Add((file.Id, r.Region));
                }
            }
            lock (shown)
            {
                foreach (var (id, region) in shown)
                {
                    if (!now.Contains((id, region)))
                    {
                        mirrors.RemoveLabelled(id, region);
                        capacity.RemoveLabelled(id, region);
                    }
                }
                shown.Clear();
                shown.UnionWith(now);
            }
        });
    }
}
