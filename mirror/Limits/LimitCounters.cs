namespace Downloads.Mirror.Limits;

/// <summary>What the connection limits did since start, for metrics; one interlocked add per refusal or exempted probe.</summary>
internal sealed class LimitCounters
{
    private long _refusedTotal;
    private long _refusedAddress;
    private long _probesExempted;
    private long _mirrorsExempted;

    /// <summary>Requests answered 503 because the mirror had <see cref="LimitsOptions.MaxConnections"/> open.</summary>
    public long RefusedTotal => Interlocked.Read(ref _refusedTotal);

    /// <summary>Requests answered 503 because their address had <see cref="LimitsOptions.MaxConnectionsPerAddress"/> open.</summary>
    public long RefusedAddress => Interlocked.Read(ref _refusedAddress);

    /// <summary>Authenticated health probes served although over a limit.</summary>
    public long ProbesExempted => Interlocked.Read(ref _probesExempted);

    /// <summary>Counts a refusal; returns the running count of that kind (to log only some).</summary>
    public long Refused(bool byAddress) => byAddress ? Interlocked.Increment(ref _refusedAddress) : Interlocked.Increment(ref _refusedTotal);

    public void ProbeExempted() => Interlocked.Increment(ref _probesExempted);

    /// <summary>Requests signed by an approved downstream mirror served over a limit.</summary>
    public long MirrorsExempted => Interlocked.Read(ref _mirrorsExempted);

    public void MirrorExempted() => Interlocked.Increment(ref _mirrorsExempted);
}
