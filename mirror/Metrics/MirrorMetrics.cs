using Downloads.Mirror.Limits;
using Downloads.Mirror.Reporting;
using Downloads.Mirror.Staging;
using Downloads.Mirror.Storage;
using Downloads.Mirror.Sync;
using Prometheus;

namespace Downloads.Mirror.Metrics;

/// <summary>
/// The mirror's Prometheus metrics, read from the counters the serving path and the sync engine already
/// keep, just before each scrape: serving pays nothing extra.
/// </summary>
internal static class MirrorMetrics
{
    /// <summary>Registers the metrics on the app's registry; call once after the app is built.</summary>
    public static void UseMirrorMetrics(this IServiceProvider services)
    {
        var factory = services.GetRequiredService<IMetricFactory>();
        var registry = services.GetRequiredService<CollectorRegistry>();
        var bytes = factory.CreateCounter("downloads_mirror_sent_bytes_total", "Bytes written to client connections (headers and bodies).");
        var fileBytes = factory.CreateCounter("downloads_mirror_sendfile_bytes_total", "Of the bytes sent, those the kernel sent straight from files (sendfile); the rest were copied through Kestrel (headers, TLS, HTTP/2).");
        var requests = factory.CreateCounter("downloads_mirror_requests_total", "HTTP requests received.");
        var connections = factory.CreateGauge("downloads_mirror_open_connections", "Client connections open now.");
        var accepted = factory.CreateCounter("downloads_mirror_connections_total", "Client connections accepted.");
        var refused = factory.CreateCounter("downloads_mirror_refused_total", "Requests answered 503 on a connection over a limit: limit=\"connections\" (Serving:MaxConnections) or \"address\" (Serving:MaxConnectionsPerAddress).",
            new CounterConfiguration { LabelNames = ["limit"] });
        var refusedTotal = refused.WithLabels("connections");
        var refusedAddress = refused.WithLabels("address");
        var probes = factory.CreateCounter("downloads_mirror_probes_exempted_total", "Authenticated health probes served on a connection over a limit.");
        var mirrorsExempted = factory.CreateCounter("downloads_mirror_downstream_exempted_total", "Requests signed by an approved downstream mirror served on a connection over a limit.");
        var addresses = factory.CreateGauge("downloads_mirror_client_addresses", "Client addresses (IPv4 addresses, IPv6 /64s) with connections open now.");
        var serial = factory.CreateGauge("downloads_mirror_live_serial", "Manifest serial of the verified tree being served.");
        var target = factory.CreateGauge("downloads_mirror_sync_target_serial", "Serial the sync engine is working towards (0 when idle).");
        var fetched = factory.CreateCounter("downloads_mirror_sync_fetched_bytes_total", "Bytes fetched from upstream by the sync engine.");
        var errors = factory.CreateCounter("downloads_mirror_sync_errors_total", "Sync passes that ended in an error.");
        var failing = factory.CreateGauge("downloads_mirror_sync_failing", "1 while the last sync pass failed.");
        var passes = factory.CreateCounter("downloads_mirror_sync_passes_total", "Sync passes completed (polls at an unchanged serial included).");
        var lastPass = factory.CreateGauge("downloads_mirror_sync_last_pass_seconds", "Duration of the last completed sync pass.");
        var lastPublish = factory.CreateGauge("downloads_mirror_sync_last_publish_pass_seconds", "Duration of the last sync pass that made a new serial live (0 before the first).");
        // Counts only: staged ids are opaque and no per-file label is made.
        var stagedHeld = factory.CreateGauge("downloads_mirror_staged_files_held", "Staged (encrypted, not yet released) files held complete and verified.");
        var stagedListed = factory.CreateGauge("downloads_mirror_staged_files_listed", "Staged files in the upstream's signed staging list.");
        var stagingShort = factory.CreateGauge("downloads_mirror_staging_shortfall_bytes", "Disk bytes missing to stage every listed file with the configured headroom (0: enough).");
        var expired = factory.CreateGauge("downloads_mirror_manifest_expired", "1 while the live manifest is past its signed expires time, or a newer one arrived already expired and was held back (the live one is still served).");
        var manifestKey = factory.CreateGauge("downloads_mirror_manifest_key", "1 for the pinned key (current or next) that verified the live manifest: during a key rotation, shows which mirrors have moved.", ["key"]);
        var keyCurrent = manifestKey.WithLabels("current");
        var keyNext = manifestKey.WithLabels("next");
        // Sources resolved at scrape time, not at build: building them early would change the start-up order.
        registry.AddBeforeCollectCallback(() =>
        {
            var traffic = services.GetRequiredService<TrafficCounters>();
            var live = services.GetRequiredService<LiveTree>();
            var sync = services.GetRequiredService<SyncStatus>();
            var limits = services.GetRequiredService<LimitCounters>();
            bytes.IncTo(traffic.Bytes);
            fileBytes.IncTo(traffic.FileBytes);
            requests.IncTo(traffic.Requests);
            connections.Set(traffic.OpenConnections);
            accepted.IncTo(traffic.ConnectionsTotal);
            refusedTotal.IncTo(limits.RefusedTotal);
            refusedAddress.IncTo(limits.RefusedAddress);
            probes.IncTo(limits.ProbesExempted);
            mirrorsExempted.IncTo(limits.MirrorsExempted);
            addresses.Set(services.GetRequiredService<AddressConnections>().Addresses);
            serial.Set(live.Current.Serial);
            target.Set(sync.TargetSerial);
            fetched.IncTo(sync.BytesFetched);
            errors.IncTo(sync.Errors);
            failing.Set(sync.LastError.Length > 0 ? 1 : 0);
            passes.IncTo(sync.Passes);
            lastPass.Set(sync.LastPassSeconds);
            lastPublish.Set(sync.LastPublishPassSeconds);
            var staged = services.GetRequiredService<StagedCiphertexts>();
            stagedHeld.Set(staged.Held.Count);
            stagedListed.Set(staged.Listed);
            stagingShort.Set(staged.ShortfallBytes);
            expired.Set(sync.ManifestExpired(live.Current, services.GetRequiredService<TimeProvider>().GetUtcNow()) ? 1 : 0);
            keyCurrent.Set(sync.ManifestKey == Downloads.Contracts.Manifests.PinnedKey.Current ? 1 : 0);
            keyNext.Set(sync.ManifestKey == Downloads.Contracts.Manifests.PinnedKey.Next ? 1 : 0);
        });
    }
}
