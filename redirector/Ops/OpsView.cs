namespace Downloads.Redirector.Ops;

/// <summary>What <c>/-/ops/view</c> answers: the whole dashboard in one document, rebuilt every <see cref="OpsOptions.SampleSeconds"/>.</summary>
public sealed record OpsView
{
    /// <summary>When the view was built.</summary>
    public required DateTimeOffset Time { get; init; }
    /// <summary>How often the page should poll, seconds.</summary>
    public double PollSeconds { get; init; }
    /// <summary>Serial of the manifest the redirector routes with.</summary>
    public long ManifestSerial { get; init; }
    /// <summary>Whether the last read of Redis worked; when false the network-wide figures are the last good ones.</summary>
    public bool RedisAvailable { get; init; }
    /// <summary>Why Redis could not be read, empty when it could.</summary>
    public string RedisError { get; init; } = "";
    /// <summary>Redirects per second over the whole network (all redirectors, from Redis counters, over the last ~30 s).</summary>
    public double RedirectsPerSecond { get; init; }
    /// <summary>Redirects per second answered by this redirector.</summary>
    public double LocalRedirectsPerSecond { get; init; }
    /// <summary>GET redirects today (UTC) over the whole network, as flushed to Redis.</summary>
    public long RedirectsToday { get; init; }
    /// <summary>Distinct addresses of downloading clients today (HyperLogLog estimate, ±0.81 %).</summary>
    public long UniqueAddressesToday { get; init; }
    /// <summary>Redirects counted by this redirector and not yet in Redis (non-zero while Redis is away).</summary>
    public long PendingRedirects { get; init; }
    /// <summary>Requests of every outcome counted by this redirector and not yet in Redis.</summary>
    public long PendingRequests { get; init; }
    /// <summary>Requests answered today (UTC) over the whole network, every outcome, as flushed to Redis.</summary>
    public long RequestsToday { get; init; }
    /// <summary>Downloads today over the whole network: GET redirects and Metalinks (not HEADs, mirror lists or 429s).</summary>
    public long DownloadsToday { get; init; }
    /// <summary>Distinct client addresses today that asked anything, refused ones included (HyperLogLog union).</summary>
    public long UniqueAddressesAllToday { get; init; }
    /// <summary>Every request by what it got: today, live, distinct addresses.</summary>
    public IReadOnlyList<OutcomeView> Outcomes { get; init; } = [];
    /// <summary>Connections and requests Kestrel refused itself before the application saw them (431, 414, connection cap), since this redirector started.</summary>
    public IReadOnlyList<CountEntry> ServerRejections { get; init; } = [];
    /// <summary>Every mirror.</summary>
    public IReadOnlyList<MirrorView> Mirrors { get; init; } = [];
    /// <summary>Downloads per file today, busiest first.</summary>
    public IReadOnlyList<CountEntry> Files { get; init; } = [];
    /// <summary>Downloads per client country today, busiest first.</summary>
    public IReadOnlyList<CountEntry> Countries { get; init; } = [];

    /// <summary>Staged releases (opaque ids): per region the share of mirrors and capacity holding each, and a go/no-go.</summary>
    public IReadOnlyList<Staging.StagedCoverage> Staging { get; init; } = [];
}

/// <summary>One mirror on the dashboard.</summary>
public sealed record MirrorView
{
    /// <summary>Mirror id.</summary>
    public required string Id { get; init; }
    /// <summary>Display name.</summary>
    public string Name { get; init; } = "";
    /// <summary>pending/approved.</summary>
    public string Status { get; init; } = "";
    /// <summary>Enabled by ops.</summary>
    public bool Enabled { get; init; }
    /// <summary>Draining.</summary>
    public bool Draining { get; init; }
    /// <summary>Heartbeat fresh.</summary>
    public bool Alive { get; init; }
    /// <summary>Passing active health checks.</summary>
    public bool Healthy { get; init; }
    /// <summary>Reason of the last failed health check.</summary>
    public string HealthReason { get; init; } = "";
    /// <summary>Last sync error the mirror reported.</summary>
    public string LastError { get; init; } = "";
    /// <summary>Why it takes no traffic now (down, full, …), empty when it is a candidate.</summary>
    public string Exclusion { get; init; } = "";
    /// <summary>Outbound rate, bytes/s.</summary>
    public double RateBps { get; init; }
    /// <summary>Capacity, bytes/s.</summary>
    public double CapacityBps { get; init; }
    /// <summary>Bytes served this billing period.</summary>
    public long MonthBytes { get; init; }
    /// <summary>Quota per billing period, bytes, 0 for none.</summary>
    public long QuotaBytes { get; init; }
    /// <summary>Day of the month (1–28) its billing period starts.</summary>
    public int BillingDay { get; init; } = 1;
    /// <summary>Burst allowance in percent of the quota (ops' for this mirror, else the redirectors' default).</summary>
    public double BurstPercent { get; init; }
    /// <summary>End (exclusive) of its current billing period.</summary>
    public DateTimeOffset PeriodEnd { get; init; }
    /// <summary>When its quota runs out at its current rate (<see cref="QuotaRateBps"/>); null: no quota or no use.</summary>
    public DateTimeOffset? QuotaRunsOutAt { get; init; }
    /// <summary>Its usage rate over the recent window, bytes/s; null while the window covers too little (then the mean is used).</summary>
    public double? QuotaRecentBps { get; init; }
    /// <summary>Minutes the recent rate was measured over (0 without one).</summary>
    public double QuotaRecentMinutes { get; init; }
    /// <summary>Its mean usage rate so far this billing period, bytes/s.</summary>
    public double QuotaMeanBps { get; init; }
    /// <summary>What the forecast is made at: <c>recent</c> (<see cref="QuotaRecentBps"/>) or <c>mean</c> (<see cref="QuotaMeanBps"/>).</summary>
    public string QuotaForecastBasis { get; init; } = "mean";
    /// <summary>Whether <see cref="QuotaRunsOutAt"/> falls before <see cref="PeriodEnd"/>.</summary>
    public bool QuotaWarning { get; init; }
    /// <summary>Serial the mirror is at.</summary>
    public long Serial { get; init; }
    /// <summary>Serials behind the manifest.</summary>
    public long SerialsBehind { get; init; }
    /// <summary>Open connections.</summary>
    public long Connections { get; init; }
    /// <summary>Redirects to it today (network-wide).</summary>
    public long RedirectsToday { get; init; }
    /// <summary>Its share of today's redirects, 0–1.</summary>
    public double Share { get; init; }
}

/// <summary>Requests with one outcome (docs/ops.md, "Counting every request").</summary>
public sealed record OutcomeView
{
    /// <summary><c>mirror</c>, <c>fallback</c>, <c>head</c>, <c>metalink</c>, <c>mirrorlist</c>, <c>checksums</c>, <c>not_found</c>, <c>bad_request</c>, <c>rate_limited</c>.</summary>
    public required string Outcome { get; init; }
    /// <summary>Whether it counts as a download.</summary>
    public bool Download { get; init; }
    /// <summary>Today over the whole network, as flushed to Redis.</summary>
    public long Today { get; init; }
    /// <summary>Per second over the whole network (last ~30 s of flushed counts).</summary>
    public double PerSecond { get; init; }
    /// <summary>Per second answered by this redirector (live, not waiting for a flush).</summary>
    public double LocalPerSecond { get; init; }
    /// <summary>Answered by this redirector since it started.</summary>
    public long LocalSinceStart { get; init; }
    /// <summary>Distinct client addresses today with this outcome.</summary>
    public long UniqueAddressesToday { get; init; }
}

/// <summary>A key (file path, country) and its count.</summary>
public sealed record CountEntry(string Key, long Count);

/// <summary>One point of a mirror's bandwidth history.</summary>
/// <param name="Time">Unix seconds of the end of the bucket.</param>
/// <param name="Bps">Mean outbound rate over the bucket, bytes/s.</param>
public readonly record struct HistoryPoint(long Time, double Bps);
