using Downloads.Origin.Publishing;
using Downloads.Origin.Staging;
using Prometheus;

namespace Downloads.Origin.Metrics;

/// <summary>The origin's Prometheus metrics: what it publishes, read just before each scrape.</summary>
internal static class OriginMetrics
{
    /// <summary>Registers the metrics on the app's registry; call once after the app is built.</summary>
    public static void UseOriginMetrics(this IServiceProvider services)
    {
        var factory = services.GetRequiredService<IMetricFactory>();
        var registry = services.GetRequiredService<CollectorRegistry>();
        var serial = factory.CreateGauge("downloads_origin_manifest_serial", "Serial of the manifest the origin serves (0 before the first publication).");
        var files = factory.CreateGauge("downloads_origin_files", "Files in the served manifest.");
        var bytes = factory.CreateGauge("downloads_origin_bytes", "Total size of the files in the served manifest.");
        // A count only: the ids are public in the signed staging list anyway; names, sizes and times are not.
        var staged = factory.CreateGauge("downloads_origin_staged_files", "Files staged for a later release, in the served staging list.");
        registry.AddBeforeCollectCallback(() =>
        {
            staged.Set(services.GetRequiredService<StagingStore>().Refresh()?.List.Staged.Count ?? 0);
            var current = services.GetRequiredService<PublishedStore>().Current;
            serial.Set(current?.Manifest.Serial ?? 0);
            files.Set(current?.Manifest.Files.Count ?? 0);
            long total = 0;
            if (current is not null)
            {
                foreach (var f in current.Manifest.Files)
                    total += f.Size;
            }
            bytes.Set(total);
        });
    }
}
