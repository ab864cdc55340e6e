namespace Downloads.Redirector.Snapshots;

/// <summary>
/// For one file released from staging, while mirrors that hold its ciphertext have not reported its serial yet: the
/// serial each table row counts as synced at for this file only (the row's own, or the file's for a holder), so the
/// selection loop runs unchanged over these instead of <see cref="MirrorTable.Serial"/>. Built by the snapshot builder
/// (Selection/Eligibility.HoldsRelease says who holds it); usually there is none.
/// </summary>
internal sealed class ReleaseOverlay
{
    /// <summary>No release pending: what nearly every snapshot carries.</summary>
    public static IReadOnlyDictionary<FileEntry, ReleaseOverlay> None { get; } = new Dictionary<FileEntry, ReleaseOverlay>();

    /// <summary>The staged id.</summary>
    public required string Id { get; init; }

    /// <summary>Ids of the mirrors counted as synced for the file (the mirror list's rule).</summary>
    public required IReadOnlySet<string> Holders { get; init; }

    /// <summary>Per row of <see cref="RoutingSnapshot.Http"/>: the serial it counts as synced at for the file.</summary>
    public required long[] HttpSerial { get; init; }

    /// <summary>Per row of <see cref="RoutingSnapshot.Https"/>.</summary>
    public required long[] HttpsSerial { get; init; }
}
