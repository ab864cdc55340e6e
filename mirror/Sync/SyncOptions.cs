using System.ComponentModel.DataAnnotations;

namespace Downloads.Mirror.Sync;

/// <summary>How the mirror syncs from its upstream. Section <c>Sync</c>.</summary>
public sealed class SyncOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Sync";

    /// <summary>Cap on download rate from upstream, bytes/s; 0 for none.</summary>
    [Range(0, long.MaxValue)]
    public long BandwidthBytesPerSecond { get; set; }

    /// <summary>Files fetched at once.</summary>
    [Range(1, 64)]
    public int Parallelism { get; set; } = 2;

    /// <summary>Fallback poll of the upstream manifest when no announcement arrives.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a file deleted upstream stays served.</summary>
    public TimeSpan DeleteGrace { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Retries of one upstream request (exponential backoff with jitter).</summary>
    [Range(0, 100)]
    public int MaxRetries { get; set; } = 6;

    /// <summary>First retry delay; doubles each retry.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Limit on one upstream request (manifest, or one ranged request of at most <see cref="MaxRequestBytes"/>).</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the circuit to the upstream stays open after too many failures.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Times one chunk may arrive corrupt before the upstream is reported as corrupt and the sync stops.</summary>
    [Range(0, 100)]
    public int CorruptChunkRetries { get; set; } = 3;

    /// <summary>Largest span fetched by one ranged request, bytes (made smaller under a bandwidth cap so a request fits its timeout).</summary>
    [Range(1, long.MaxValue)]
    public long MaxRequestBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Most bytes of a manifest the mirror reads; a longer body (with or without a length) is refused, never buffered.</summary>
    [Range(1024L, 4L * 1024 * 1024 * 1024)]
    public long MaxManifestBytes { get; set; } = Downloads.Contracts.Manifests.ManifestDefaults.MaxManifestBytes;

    /// <summary>How often a progress line (rate, ETA) is logged during a sync.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(5);
}
