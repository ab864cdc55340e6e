using System.ComponentModel.DataAnnotations;
using Downloads.Contracts.Mirrors;

namespace Downloads.Redirector;

/// <summary>Settings of the redirector. Section <c>Redirector</c>.</summary>
public sealed class RedirectorOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Redirector";

    /// <summary>Base URL of the origin, without trailing slash: the manifest source and the last-resort target.</summary>
    [Required, Url]
    public string Origin { get; set; } = "http://127.0.0.1:8000";

    /// <summary>Base64 Ed25519 public key the manifest signature must verify against.</summary>
    [Required(AllowEmptyStrings = false)]
    public string PublicKey { get; set; } = "";

    /// <summary>
    /// The origin's next signing key, pinned ahead of a key rotation (docs/ops.md): a manifest verifies against
    /// <see cref="PublicKey"/> or this. Empty when no rotation is under way.
    /// </summary>
    [Downloads.Contracts.Manifests.OptionalPublicKey]
    public string NextPublicKey { get; set; } = "";

    /// <summary>The pinned keys: <see cref="PublicKey"/> and <see cref="NextPublicKey"/>.</summary>
    public Downloads.Contracts.Manifests.PinnedKeys Keys => new(PublicKey, NextPublicKey);

    /// <summary>
    /// The redirector's own folder for its last good state (docs/reliability.md, "Starting without Redis"): the mirror
    /// table it routed by, the signed manifest and the highest serial it ever accepted, loaded at start so a restart
    /// while Redis or the origin is down still redirects to mirrors and never accepts an older manifest. Created
    /// with mode 0700 when missing. Empty: nothing is kept (a warning at start says what that costs).
    /// </summary>
    public string StateDir { get; set; } = "";

    /// <summary>
    /// How often, at most, the mirror table is written to <see cref="StateDir"/> when only its live figures changed;
    /// a change of the mirror set or of an approved record is written at the next full reload.
    /// </summary>
    [Range(10, 86_400)]
    public double StateSaveSeconds { get; set; } = 600;

    /// <summary>Base URLs used instead of the origin when no mirror qualifies (tried in order).</summary>
    public string[] Fallbacks { get; set; } = [];

    /// <summary>
    /// Comma-separated addresses or CIDR networks whose <c>X-Forwarded-For</c> is believed; empty trusts
    /// none. (A string, not a list: the configuration binder would append to a list's defaults.)
    /// </summary>
    public string TrustedProxies { get; set; } = "127.0.0.1,::1";

    /// <summary>Mirrors within this factor of the nearest candidate's distance share the load.</summary>
    [Range(1.0, 100.0)]
    public double NearFactor { get; set; } = 1.5;

    /// <summary>Mirrors within this many km of the nearest candidate share the load, whatever the factor says.</summary>
    [Range(0.0, 20040.0)]
    public double NearDistanceKm { get; set; } = 300;

    /// <summary>Most bytes of a manifest the redirector reads (<see cref="Downloads.Contracts.Manifests.ManifestDefaults.MaxManifestBytes"/>); a longer body is refused, never buffered.</summary>
    [Range(1024L, 4L * 1024 * 1024 * 1024)]
    public long MaxManifestBytes { get; set; } = Downloads.Contracts.Manifests.ManifestDefaults.MaxManifestBytes;

    /// <summary>Mirrors named per redirect: the target plus <c>Link: rel=duplicate</c> alternates.</summary>
    [Range(1, 16)]
    public int MaxAlternates { get; set; } = 5;

    /// <summary>Where a client of unknown location is assumed to be (latitude, degrees).</summary>
    [Range(-90.0, 90.0)]
    public double DefaultLatitude { get; set; } = 51.5;

    /// <summary>Where a client of unknown location is assumed to be (longitude, degrees).</summary>
    [Range(-180.0, 180.0)]
    public double DefaultLongitude { get; set; } = 0;

    /// <summary>
    /// Quota pacing (contracts/Mirrors/QuotaBudget.cs): how far, in percent of its quota, a mirror may run ahead of
    /// the linear budget for the time elapsed in its billing period before the capacity it is given starts to fall
    /// (it falls to nothing over the next as many percent).
    /// </summary>
    [Range(0.0, 100.0)]
    public double QuotaBurstPercent { get; set; } = QuotaBudget.DefaultBurstShare * 100;

    /// <summary>Hard ceiling, percent of its quota: past it a mirror gets no new redirects until the next period.</summary>
    [Range(1.0, 100.0)]
    public double QuotaCeilingPercent { get; set; } = QuotaBudget.DefaultCeilingShare * 100;

    /// <summary>
    /// The quota forecast's window, seconds: each redirector keeps every mirror's usage counter at a few points over
    /// this long (<see cref="Snapshots.UsageWindow"/>) and projects the exhaustion date at the rate across them, so a
    /// mirror that turns ten times busier on launch day is flagged within the window, not weeks late. Until a sixth
    /// of it is covered (just after start, or a new billing period) the forecast uses the period's mean rate.
    /// </summary>
    [Range(60.0, 86_400.0)]
    public double QuotaForecastWindowSeconds { get; set; } = 3600;

    /// <summary>Capacity assumed for a mirror that declares none, Mbit/s.</summary>
    [Range(0.001, 1_000_000.0)]
    public double DefaultCapacityMbps { get; set; } = 100;

    /// <summary>
    /// Subtract this redirector's own redirects since a mirror's last report from its spare bandwidth
    /// (lottery weight and the "full" exclusion), so a mirror that briefly shows room is not rushed by
    /// every redirect until its next report (<see cref="Snapshots.AssignedLoad"/>); when that fills every
    /// near mirror, the nearest ones with room take the spill. On by default: in the launch-day simulation
    /// it keeps every mirror under its capacity, where the reported figures alone let a mirror that
    /// briefly showed room be rushed to 1.5× (docs/reliability.md). Switch it off only for mirrors whose
    /// transfers are much shorter than their report interval (the estimate then counts finished ones).
    /// </summary>
    public bool AccountOwnRedirects { get; set; } = true;

    /// <summary>
    /// When more than this percentage of the mirrors that would serve lose their heartbeat at once, a
    /// missing heartbeat excludes nobody until they report again (a Redis failover or a cut to Redis, not
    /// the mirrors: <see cref="Selection.HeartbeatPanic"/>); health probes still exclude dead ones.
    /// 0 turns it off; 100 never triggers; off whenever <c>Health:Enabled</c> is false (no probes, no safety net).
    /// </summary>
    [Range(0, 100)]
    public int HeartbeatPanicPercent { get; set; } = 50;

    /// <summary>
    /// Longest a heartbeat panic lasts: after it the silent mirrors are out again, whatever the cause
    /// (their reported rate and month bytes are frozen while they are silent, so capacity and quota are
    /// only estimated meanwhile). Covers a Sentinel failover with room to spare.
    /// </summary>
    [Range(1, 86_400)]
    public double HeartbeatPanicMaxSeconds { get; set; } = 120;

    /// <summary>Rate one client is assumed to download at, Mbit/s: what a redirect adds to its mirror's load.</summary>
    [Range(0.001, 100_000.0)]
    public double AssumedClientMbps { get; set; } = 50;

    /// <summary>A file smaller than this many seconds at <see cref="AssumedClientMbps"/> counts as its size spread over this long.</summary>
    [Range(0.001, 3600.0)]
    public double AssumedMinTransferSeconds { get; set; } = 1;

    /// <summary>Own redirects to a mirror that has not reported for this long are forgotten, seconds.</summary>
    [Range(0.1, 3600.0)]
    public double OwnRedirectsMaxAgeSeconds { get; set; } = 10;

    /// <summary>How often the mirror table is reloaded from Redis even without a pub/sub message, seconds.</summary>
    [Range(0.1, 3600.0)]
    public double MirrorRefreshSeconds { get; set; } = 2;

    /// <summary>
    /// How often every mirror's ops config and declared info are re-read in full even without a pub/sub
    /// message, seconds. The <see cref="MirrorRefreshSeconds"/> rounds in between read only what changes
    /// with each report (state, heartbeat, month counter, health), which is most of the cost at thousands of mirrors.
    /// </summary>
    [Range(0.1, 86400.0)]
    public double MirrorReloadSeconds { get; set; } = 60;

    /// <summary>
    /// How long after this redirector first sees a file released from staging the mirrors that hold its verified ciphertext
    /// count as synced for it until they report the serial, seconds (docs/launch-day.md, "The first seconds"). Covers their
    /// decrypt and the report that follows; a mirror that has not reported by then is stale for the file like any other.
    /// </summary>
    [Range(0.0, 3600.0)]
    public double StagedReleaseSeconds { get; set; } = 60;

    /// <summary>How often the manifest is re-fetched from the origin even without an announcement, seconds.</summary>
    [Range(0.1, 86400.0)]
    public double ManifestRefreshSeconds { get; set; } = 30;

    /// <summary>How often counters are flushed to Redis, seconds.</summary>
    [Range(0.1, 3600.0)]
    public double CounterFlushSeconds { get; set; } = 5;

    /// <summary>
    /// After a counter batch is acknowledged by a master that has connected replicas, how long to wait
    /// (<c>WAIT 1</c>) for one replica to confirm it, milliseconds. Unconfirmed, the batch stays in memory
    /// and is re-sent with the same id (idempotent) on the next flush. Below the 2 s Redis command timeout.
    /// </summary>
    [Range(1, 1500)]
    public int CounterReplicaWaitMilliseconds { get; set; } = 500;
}
