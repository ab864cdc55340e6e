using Downloads.Origin.Limits;
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
        // The request path bumps plain interlocked counters (OriginPacer); copied here before each scrape.
        var sent = factory.CreateCounter("downloads_origin_sent_bytes_total",
            "File body bytes the origin sent, by who asked (mirror: a valid mirror signature; public: everyone else).", ["client"]);
        var sentPublic = sent.WithLabels("public");
        var sentMirror = sent.WithLabels("mirror");
        var waited = factory.CreateCounter("downloads_origin_public_paced_seconds_total",
            "Seconds public downloads waited, summed over downloads, to keep the mirrors' share of the link while a mirror synced (Limits:LinkBitsPerSecond, Limits:MirrorBandwidthShare).");
        var mirrors = factory.CreateGauge("downloads_origin_mirror_transfers", "Verified mirror file requests being served now.");
        var pacer = services.GetRequiredService<OriginPacer>();
        registry.AddBeforeCollectCallback(() =>
        {
            sentPublic.IncTo(pacer.PublicBytes);
            sentMirror.IncTo(pacer.MirrorBytes);
            waited.IncTo(pacer.PublicWaited.TotalSeconds);
            mirrors.Set(pacer.MirrorTransfers);
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
