namespace Downloads.Redirector.Snapshots;

/// <summary>The current <see cref="RoutingSnapshot"/>: one volatile reference, read lock-free by every request, replaced whole by the refresher.</summary>
internal sealed class SnapshotHolder
{
    private RoutingSnapshot _current = RoutingSnapshot.Empty;

    public RoutingSnapshot Current => Volatile.Read(ref _current);

    public void Publish(RoutingSnapshot snapshot) => Volatile.Write(ref _current, snapshot);
}
