using Downloads.Contracts.Mirrors;

namespace Downloads.Redirector.Snapshots;

/// <summary>
/// Turns what the refresher read (the manifest index and the mirror records) into the snapshot the request
/// path reads. Which mirrors may take traffic is the selection policy's to decide, so the implementation
/// lives in Selection/ (<c>SnapshotBuilder</c>) and this folder, the state, does not depend on the policy.
/// </summary>
internal interface ISnapshotBuilder
{
    /// <summary>
    /// Builds the next snapshot from <paramref name="previous"/> (the one it replaces; per-mirror estimates
    /// carry over) at <paramref name="now"/>.
    /// </summary>
    RoutingSnapshot Build(ManifestIndex index, IReadOnlyList<MirrorRecord> records, DateTimeOffset mirrorsLoadedAt,
        DateTimeOffset manifestLoadedAt, RoutingSnapshot previous, DateTimeOffset now);
}
