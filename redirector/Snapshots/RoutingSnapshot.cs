namespace Downloads.Redirector.Snapshots;

/// <summary>
/// Everything one request needs, immutable and swapped whole by the refresher: the request path reads
/// one reference and never sees a half-updated table.
/// </summary>
internal sealed class RoutingSnapshot
{
    public static RoutingSnapshot Empty { get; } = new()
    {
        Index = ManifestIndex.Empty,
        Mirrors = [],
        Http = MirrorTable.Empty,
        Https = MirrorTable.Empty,
        MirrorsLoadedAt = DateTimeOffset.MinValue,
    };

    public required ManifestIndex Index { get; init; }

    /// <summary>Every known mirror, sorted by id, including those excluded (the mirror list shows why).</summary>
    public required MirrorEntry[] Mirrors { get; init; }

    /// <summary>Mirrors that could take an http request now (standing exclusions already removed).</summary>
    public required MirrorTable Http { get; init; }

    /// <summary>Mirrors that could take an https request now.</summary>
    public required MirrorTable Https { get; init; }

    /// <summary>When the mirror table was read from Redis.</summary>
    public DateTimeOffset MirrorsLoadedAt { get; init; }

    /// <summary>When the manifest was last verified.</summary>
    public DateTimeOffset ManifestLoadedAt { get; init; }

    /// <summary>Whether a missing heartbeat was ignored for this table (the heartbeat panic rule, Selection/HeartbeatPanic.cs).</summary>
    public bool HeartbeatPanic { get; init; }

    /// <summary>Since when the panic threshold has been passed (carried from table to table), or null.</summary>
    public DateTimeOffset? PanicSince { get; init; }

    /// <summary>Mirrors that would serve but for their heartbeat, and how many of them have none (what the panic rule counts).</summary>
    public HeartbeatCount Heartbeats { get; init; }

    /// <summary>Files just released from staging whose ciphertext some mirrors hold, not yet reported synced (by file instance).</summary>
    public IReadOnlyDictionary<FileEntry, ReleaseOverlay> Releases { get; init; } = ReleaseOverlay.None;

    /// <summary>The serials the selection compares for <paramref name="file"/>: the table's own, or a release's overlay.</summary>
    public long[] SerialsFor(FileEntry file, bool https)
    {
        if (Releases.Count != 0 && Releases.TryGetValue(file, out var overlay))
            return https ? overlay.HttpsSerial : overlay.HttpSerial;
        return https ? Https.Serial : Http.Serial;
    }
}

/// <summary>Mirrors that would serve but for their heartbeat (<see cref="Serving"/>) and those of them without one (<see cref="Silent"/>).</summary>
internal readonly record struct HeartbeatCount(int Serving, int Silent);
