namespace Downloads.Contracts.Mirrors;

/// <summary>Approval state of a mirror.</summary>
public enum MirrorStatus
{
    /// <summary>Enrolled, waiting for ops; receives no traffic.</summary>
    Pending,
    /// <summary>Approved by ops.</summary>
    Approved,
}

/// <summary>
/// Everything known about one mirror, merged from its Redis keys (ops config, its own info and
/// state, its heartbeat and the last health check). Immutable: the redirector builds a snapshot of these.
/// </summary>
public sealed record MirrorRecord
{
    /// <summary>Stable id: lower-case letters, digits and '-'.</summary>
    public required string Id { get; init; }
    /// <summary>Display name.</summary>
    public string Name { get; init; } = "";
    /// <summary>http base URL without trailing slash, or empty.</summary>
    public string HttpUrl { get; init; } = "";
    /// <summary>https base URL without trailing slash, or empty.</summary>
    public string HttpsUrl { get; init; } = "";
    /// <summary>Sets carried; empty means every set.</summary>
    public IReadOnlyList<string> Sets { get; init; } = [];
    /// <summary>Latitude, degrees; NaN when unknown.</summary>
    public double Latitude { get; init; } = double.NaN;
    /// <summary>Longitude, degrees; NaN when unknown.</summary>
    public double Longitude { get; init; } = double.NaN;
    /// <summary>ISO country code, upper case, or empty.</summary>
    public string Country { get; init; } = "";
    /// <summary>Continent code, or empty.</summary>
    public string Continent { get; init; } = "";
    /// <summary>Autonomous system number, 0 when unknown.</summary>
    public long Asn { get; init; }
    /// <summary>Only serve clients of the same country/continent; <see cref="MirrorScope.World"/> by default.</summary>
    public MirrorScope Scope { get; init; }

    /// <summary>Approval state.</summary>
    public MirrorStatus Status { get; init; }
    /// <summary>Enabled by ops.</summary>
    public bool Enabled { get; init; } = true;
    /// <summary>Draining: finish what runs, take nothing new.</summary>
    public bool Draining { get; init; }
    /// <summary>Capacity, Mbit/s (ops' value, else the declared one); 0 means unknown.</summary>
    public double CapacityMbps { get; init; }
    /// <summary>Relative weight, 100 by default.</summary>
    public double Weight { get; init; } = 100;
    /// <summary>Quota per billing period in bytes, 0 for none.</summary>
    public long QuotaBytes { get; init; }
    /// <summary>Day of the month (1–28) its billing period starts (<see cref="QuotaPeriod"/>), 1 by default.</summary>
    public int BillingDay { get; init; } = QuotaPeriod.DefaultBillingDay;
    /// <summary>Burst allowance ops set for it, percent of the quota; negative: the redirectors' default.</summary>
    public double BurstPercent { get; init; } = -1;

    /// <summary>The mirror's Ed25519 public key (base64) that ops approved; empty until approval.</summary>
    public string PublicKey { get; init; } = "";

    /// <summary>Whether the heartbeat key exists and its time is recent (<see cref="Redis.MirrorStore.IsHeartbeatFresh"/>).</summary>
    public bool Alive { get; init; }
    /// <summary>Manifest serial the mirror's live tree is verified at.</summary>
    public long Serial { get; init; }
    /// <summary>Current outbound rate, bytes/s.</summary>
    public double RateBps { get; init; }
    /// <summary>Bytes served this billing period (<see cref="BillingDay"/>; the calendar month by default).</summary>
    public long MonthBytes { get; init; }
    /// <summary>Total bytes served.</summary>
    public long BytesServed { get; init; }
    /// <summary>Total requests.</summary>
    public long Requests { get; init; }
    /// <summary>Open connections.</summary>
    public long Connections { get; init; }
    /// <summary>Last sync error, empty when none.</summary>
    public string LastError { get; init; } = "";
    /// <summary>
    /// The staged ids the mirror reports holding complete (<see cref="Redis.Keyspace.StateFields.Staged"/>), as it wrote
    /// them: comma-separated, unchecked (<see cref="HoldsStaged"/> matches a valid id exactly); empty when none or over 4096 bytes.
    /// </summary>
    public string Staged { get; init; } = "";

    /// <summary>False when the last active health check failed; true when passing or not checked yet.</summary>
    public bool Healthy { get; init; } = true;
    /// <summary>Reason of the last failed health check.</summary>
    public string HealthReason { get; init; } = "";

    /// <summary>
    /// What the reader left out of the approved record (a missing record, or fields that fail
    /// <see cref="MirrorInfoValidation"/>); empty when all of it is in use. Logged once per change by the redirector.
    /// </summary>
    public string RecordProblem { get; init; } = "";

    /// <summary>
    /// Fields where what the mirror requests differs from what ops approved, by field name; filled only for ops
    /// (admin API, CLI), null in the redirectors' table. <c>approve</c> applies them.
    /// </summary>
    public IReadOnlyDictionary<string, FieldChange>? PendingChange { get; init; }

    /// <summary>Whether <see cref="Staged"/> names <paramref name="id"/> (an exact, comma-separated element).</summary>
    public bool HoldsStaged(string id)
    {
        if (id.Length == 0)
            return false;
        foreach (var range in Staged.AsSpan().Split(','))
        {
            if (Staged.AsSpan()[range].SequenceEqual(id))
                return true;
        }
        return false;
    }

    /// <summary>Whether the mirror carries <paramref name="set"/>.</summary>
    public bool Carries(string set)
    {
        if (Sets.Count == 0)
            return true;
        for (var i = 0; i < Sets.Count; i++)
        {
            if (string.Equals(Sets[i], set, StringComparison.Ordinal))
                return true;
        }
        return false;
    }
}

/// <summary>Which clients a mirror agrees to serve.</summary>
public enum MirrorScope
{
    /// <summary>Anyone.</summary>
    World,
    /// <summary>Only clients of its own continent.</summary>
    Continent,
    /// <summary>Only clients of its own country.</summary>
    Country,
}

/// <summary>One field of a pending change: the value in use and the one the mirror asks for (empty when absent).</summary>
/// <param name="Approved">The approved value, in use.</param>
/// <param name="Requested">What the mirror's info hash says now.</param>
public sealed record FieldChange(string Approved, string Requested);
