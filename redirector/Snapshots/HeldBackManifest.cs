namespace Downloads.Redirector.Snapshots;

/// <summary>
/// The serial of a newer manifest that arrived already expired and was not adopted (the routed one had not expired
/// yet, so it stays: the last good one), or 0. Written by <see cref="SnapshotRefresher"/>, read by Health/'s
/// <c>ManifestExpiry</c>.
/// </summary>
internal sealed class HeldBackManifest
{
    private long _serial;

    public long Serial { get => Interlocked.Read(ref _serial); set => Interlocked.Exchange(ref _serial, value); }
}
