using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Health;

/// <summary>
/// Degraded while the manifest the redirector routes with is past its signed <c>expires</c>: it keeps routing with it
/// (the last good one; an expired manifest is never a cause to stop redirecting) but says so, in <c>/-/health</c> and
/// <c>downloads_manifest_expired</c>, so a stalled origin or a replayed old manifest is never silently trusted.
/// </summary>
internal sealed class ManifestExpiry(SnapshotHolder holder, TimeProvider time, HeldBackManifest? heldBack = null) : IDegradationSource
{
    /// <summary>The reason reported while expired.</summary>
    public const string Reason = "manifest expired";

    private readonly HeldBackManifest _heldBack = heldBack ?? new HeldBackManifest();

    /// <summary>
    /// The serial of a newer manifest that arrived already expired and was not adopted (the routed one had not expired
    /// yet, so it stays: the last good one), or 0 (<see cref="HeldBackManifest"/>, set by the snapshot refresher).
    /// </summary>
    public long HeldBack => _heldBack.Serial;

    /// <summary>True while the routed manifest is loaded and expired, or a newer one was held back as expired.</summary>
    public bool IsExpired => HeldBack != 0 || holder.Current.Index.IsExpired(time.GetUtcNow());

    /// <inheritdoc />
    public string? DegradedReason => IsExpired ? Reason : null;
}
