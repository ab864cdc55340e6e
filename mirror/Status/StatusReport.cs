namespace Downloads.Mirror.Status;

/// <summary>What the network holds about one mirror, read with the mirror's own Redis user (<see cref="StatusReader"/>).</summary>
internal sealed record StatusReport
{
    /// <summary>Mirror id.</summary>
    public required string Id { get; init; }
    /// <summary>Display name.</summary>
    public string Name { get; init; } = "";
    /// <summary>When it was read.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>Ops' decision: <c>approved</c> or <c>pending</c>.</summary>
    public string Approval { get; init; } = "pending";
    /// <summary>Enabled by ops.</summary>
    public bool Enabled { get; init; } = true;
    /// <summary>Draining: ops asked the redirectors to send it no new clients.</summary>
    public bool Draining { get; init; }

    /// <summary>The heartbeat key exists: redirectors count the mirror as up.</summary>
    public bool Alive { get; init; }
    /// <summary>Time of the mirror's last report, if any.</summary>
    public DateTimeOffset? LastReport { get; init; }
    /// <summary>Manifest serial its live tree is verified at.</summary>
    public long Serial { get; init; }
    /// <summary>Last sync error, empty when none.</summary>
    public string LastError { get; init; } = "";

    /// <summary>The redirectors' last active health check; null when not readable with these credentials.</summary>
    public HealthView? Health { get; init; }

    /// <summary>Outbound rate at the last report, bytes/s.</summary>
    public double RateBps { get; init; }
    /// <summary>Capacity the network counts on (ops' value, else the declared one), Mbit/s.</summary>
    public double CapacityMbps { get; init; }
    /// <summary>Open connections at the last report.</summary>
    public long Connections { get; init; }
    /// <summary>Requests since the mirror started counting.</summary>
    public long Requests { get; init; }
    /// <summary>Bytes served since the mirror started counting.</summary>
    public long BytesServed { get; init; }
    /// <summary>Mean rate over the last hour of the redirectors' per-minute history, bytes/s; null without history.</summary>
    public double? LastHourMeanBps { get; init; }
    /// <summary>Highest minute of the last 24 hours, bytes/s; null without history.</summary>
    public double? PeakDayBps { get; init; }

    /// <summary>This month's transfer against the quota.</summary>
    public QuotaPace Quota { get; init; }

    /// <summary>What could not be read, and why.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>The health hash <c>dl:h:{id}</c> as the redirectors wrote it.</summary>
internal sealed record HealthView
{
    /// <summary>False until the first check.</summary>
    public bool Checked { get; init; }
    /// <summary>Passing.</summary>
    public bool Ok { get; init; }
    /// <summary>Why it failed (or how far it is into readmission).</summary>
    public string Reason { get; init; } = "";
    /// <summary>Time of the last check.</summary>
    public DateTimeOffset? CheckedAt { get; init; }
    /// <summary>Duration of the last probe, ms.</summary>
    public double LatencyMs { get; init; }
    /// <summary>What the last probe fetched.</summary>
    public string Probe { get; init; } = "";
    /// <summary>Time of the last failure, if any.</summary>
    public DateTimeOffset? LastFailure { get; init; }
}
