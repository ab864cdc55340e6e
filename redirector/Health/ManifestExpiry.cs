using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Health;

/// <summary>
/// Degraded while the manifest the redirector routes with is past its signed <c>expires</c>: it keeps routing with it
/// (the last good one; an expired manifest is never a cause to stop redirecting) but says so, in <c>/-/health</c> and
/// <c>downloads_manifest_expired</c>, so a stalled origin or a replayed old manifest is never silently trusted.
/// </summary>
internal sealed class ManifestExpiry(SnapshotHolder holder, TimeProvider time) : IDegradationSource
{
    /// <summary>The reason reported while expired.</summary>
    public const string Reason = "manifest expired";

    /// <summary>True while the routed manifest is loaded and expired.</summary>
    public bool IsExpired => holder.Current.Index.IsExpired(time.GetUtcNow());

    /// <inheritdoc />
    public string? DegradedReason => IsExpired ? Reason : null;
}
